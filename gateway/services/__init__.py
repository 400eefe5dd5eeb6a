"""The keyword services of the shortcode besides BH MK (BH QT, BH HS, BH THE ...), forwarded
to the agency systems that own the answers (docs/services.md).

The SMS channel reads a service's keyword and queues the message (``service_forwards``); the
worker's entry point here (``forwarding``) signs and posts it (``contract``, ``client``), checks
the answer, charges it and queues the reply, or retries until the horizon and then apologises.
``stub`` is the demo's stand-in service. May import ``delivery``, ``ops`` and the core; never a
channel or the CLI.
"""
