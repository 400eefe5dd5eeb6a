"""Everything that leaves the gateway: the outbox, its leases, concurrent sending, the SMTP mailer.

Also the catalogs of what is sent (SMS replies, emails), shared by both channels. The carriers'
wire formats live in ``gateway/carriers/``. May import ``carriers``, ``ops`` and the core;
never ``accounts``, a channel or the CLI.
"""
