"""Money for the 8079 gateway: the charge ledger, outcomes and (later) tariffs and exports.

``billing`` sits between ``parsers`` and ``gateway``: it may use SQLAlchemy but never Flask.
Amounts are integers in đồng; VND has no minor unit.
"""
