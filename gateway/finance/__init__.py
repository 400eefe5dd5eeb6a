"""Finance's doors into ``billing``: the charges export over HTTP and the read-only queries.

May import ``billing``, ``ops`` and the core; never a channel or the CLI.
"""
