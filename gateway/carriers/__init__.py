"""Carrier kinds: one module per kind (json_api, kannel, jasmin, vnmo) with both directions.

Each kind's module holds its webhook half (verify, parse an MO or a DLR, answer in the
carrier's shape), its outbound half (prepare an MT, read the answer, a thin send) and its
emulator; ``kinds.py`` is the one table of kinds and their flags, which the settings read too,
and ``registry.py`` finds each kind's adapter. What kinds share is written once: ``kind.py``
(the shape of a kind, the URL-token check, the one-call transport), ``wire.py`` (HTTP and text
as the adapters see them), ``signing.py`` and ``soap.py``. May import the core only; this file
imports nothing, so the settings can read ``kinds.py`` without loading an adapter.
"""
