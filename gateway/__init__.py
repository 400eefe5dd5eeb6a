"""The 8079 gateway: Flask app, carrier adapters, accounts, outbox, worker and CLI.

Build the web app with :func:`gateway.app.create_app`; nothing happens on import.
"""
