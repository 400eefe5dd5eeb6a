"""Finance's use cases over ``billing`` (the export, reconciliation) and its HTTP door.

May import ``billing``, ``ops`` and the core; never a channel or the CLI.
"""
