"""Everything that leaves the gateway: the outbox, the carrier adapters and the SMTP mailer.

Also the catalogs of what is sent (SMS replies, emails), shared by both channels.
May import ``ops`` and the core; never ``accounts``, a channel or the CLI.
"""
