"""Money for the 8079 gateway: the ledger, tariffs, periods, exports, refunds, reconciliation.

``billing`` sits between ``parsers`` and ``gateway``: it may use SQLAlchemy but never Flask.
Amounts are integers in đồng; VND has no minor unit.
"""
