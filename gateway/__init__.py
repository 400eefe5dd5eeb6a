"""The 8079 gateway: VssID password recovery by SMS (``sms/``) and by email (``email/``).

Both channels use ``accounts/``, ``delivery/`` (outbox, carriers, mailer) and ``ops/``; the
core at this level (app, settings, models, worker, CLI) wires them. Build the web app with
:func:`gateway.app.create_app`; nothing happens on import.
"""
