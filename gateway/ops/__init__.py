"""Running the gateway: metrics, logs, the audit trail, runtime switches, health and readiness,
per-client rate limits and the retention purge.

May import the core only (models, states, settings, the schema); nothing above it.
"""
