"""The three layers point one way: parsers <- billing <- gateway (see STYLE.md)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(package: str) -> set[str]:
    names = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_parsers_use_only_the_standard_library() -> None:
    foreign = imported_modules("parsers") - set(sys.stdlib_module_names) - {"parsers"}

    assert foreign == set()


@pytest.mark.parametrize("forbidden", ["gateway", "flask", "werkzeug", "requests"])
def test_billing_stays_below_the_web_layer(forbidden: str) -> None:
    assert forbidden not in imported_modules("billing")
