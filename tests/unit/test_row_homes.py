"""A row is built by the module that owns its table (STYLE.md, "One home per rule").

Outbox rows only in gateway/delivery/outbox.py, ledger rows only in billing/ledger.py; every
other module calls them. The scan reads the shipped packages as source: a constructor call of
the mapped class, an ``insert()`` (or ``.insert()``, ``bulk_insert_mappings``) of the class or
its table, directly or through a name bound to it, or SQL text that inserts into the table.
Migrations are history, and tests and benchmarks build rows to set a scene: neither counts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "billing", "parsers")
# mapped class -> (its table, the one module that builds its rows)
HOMES = {
    "OutboxMessage": ("outbox", "gateway/delivery/outbox.py"),
    "LedgerEntry": ("ledger_entries", "billing/ledger.py"),
}
INSERTS = {"insert", "bulk_insert_mappings", "bulk_save_objects"}


def shipped_files() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def builds(source: str, model: str, table: str) -> list[int]:
    """The lines of ``source`` that build a row of ``model`` (mapped to ``table``)."""
    tree = ast.parse(source)
    names = {model}
    # Names bound to the class or its table, e.g. ``_outbox = OutboxMessage.__table__``.
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _mentions(node.value, names, table):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    sql = re.compile(rf"\binsert\s+into\s+\"?{table}\b", re.IGNORECASE)
    return sorted(
        {node.lineno for node in ast.walk(tree) if _builds(node, model, names, table, sql)}
    )


def _builds(node: ast.AST, model: str, names: set[str], table: str, sql: re.Pattern[str]) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return sql.search(node.value) is not None  # raw SQL
    if not isinstance(node, ast.Call):
        return False
    called = node.func
    if isinstance(called, ast.Name):
        return called.id == model or (
            called.id in INSERTS and any(_mentions(a, names, table) for a in node.args)
        )  # Model(...), insert(Model), insert(_table)
    if isinstance(called, ast.Attribute) and called.attr in INSERTS:
        # Model.__table__.insert(), session.bulk_insert_mappings(Model, rows)
        parts = [called.value, *node.args]
        return any(_mentions(part, names, table) for part in parts)
    return False


def _mentions(node: ast.AST, names: set[str], table: str) -> bool:
    for part in ast.walk(node):
        if isinstance(part, ast.Name) and part.id in names:
            return True
        if isinstance(part, ast.Constant) and part.value == table:  # metadata.tables["outbox"]
            return True
    return False


@pytest.mark.parametrize("model", sorted(HOMES))
def test_rows_are_built_only_by_the_module_that_owns_the_table(model: str) -> None:
    table, home = HOMES[model]
    elsewhere = {
        f"{path.relative_to(ROOT)}:{line}"
        for path in shipped_files()
        if path.relative_to(ROOT).as_posix() != home
        for line in builds(path.read_text(encoding="utf-8"), model, table)
    }

    assert elsewhere == set()


@pytest.mark.parametrize("model", sorted(HOMES))
def test_the_scan_finds_the_rows_built_at_home(model: str) -> None:
    # The check above means something only if the scan sees the homes' own rows.
    table, home = HOMES[model]

    assert builds((ROOT / home).read_text(encoding="utf-8"), model, table)


@pytest.mark.parametrize(
    "source",
    [
        "row = OutboxMessage(carrier='x')",
        "session.execute(insert(OutboxMessage), rows)",
        "connection.execute(insert(OutboxMessage.__table__), rows)",
        "_outbox = OutboxMessage.__table__\nrun(insert(_outbox), rows)",
        "run(OutboxMessage.__table__.insert(), rows)",
        "session.bulk_insert_mappings(OutboxMessage, rows)",
        "run(insert(Base.metadata.tables['outbox']), rows)",
        "run(text('INSERT INTO outbox (carrier) VALUES (:c)'))",
    ],
)
def test_the_scan_sees_each_way_to_insert_a_row(source: str) -> None:
    assert builds(source, "OutboxMessage", "outbox")


@pytest.mark.parametrize(
    "source",
    [
        "_outbox = OutboxMessage.__table__\nrun(update(_outbox).values(status=s))",
        "session.get(OutboxMessage, 1)",
        "select(OutboxMessage).where(OutboxMessage.id == 1)",
        "run(insert(AuditEvent.__table__), rows)",
    ],
)
def test_the_scan_lets_reads_and_updates_and_other_tables_be(source: str) -> None:
    assert builds(source, "OutboxMessage", "outbox") == []
