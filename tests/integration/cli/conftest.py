"""CLI fixtures: the finance CLI tests' runner and month of messages, shared."""

from tests.integration.finance.test_finance_cli import month, run  # noqa: F401
