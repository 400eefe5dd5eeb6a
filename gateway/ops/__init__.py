"""Running the gateway: metrics, logs, the audit trail, runtime switches, health and readiness.

May import the core only (models, states, settings, the schema); nothing above it.
"""
