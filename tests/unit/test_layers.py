"""The layers point one way (see STYLE.md and each package's docstring).

parsers <- billing <- gateway; inside gateway, the channels (sms, email) sit on accounts, which
sits on delivery, which sits on the carrier kinds (carriers) and ops; the carrier kinds sit on
the core alone, whose settings read their table of kinds (a pure leaf); the two channels never
import each other, nothing below a
blueprint imports it, the helpers every blueprint shares lead to nothing but the core, the
worker knows no channel, and only the entry points import the CLI. Imports under
``if TYPE_CHECKING:`` are for the type checker only and do not count.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "gateway"

# What each package of gateway/ may import from gateway, besides itself. "core" is the modules at
# gateway/'s top level that import no package (models, settings, errors, ...); "process" is the
# request helpers a blueprint reaches its runtime and session through.
MAY_IMPORT = {
    "sms": {"accounts", "delivery", "carriers", "ops", "process", "core"},
    "email": {"accounts", "delivery", "carriers", "ops", "process", "core"},
    "accounts": {"delivery", "carriers", "ops", "process", "core"},
    "delivery": {"carriers", "ops", "process", "core"},
    # Both directions of each carrier kind: pure parse/prepare over the core, and a thin send.
    "carriers": {"core"},
    "ops": {"process", "core"},
    "passkeys": {"accounts", "delivery", "carriers", "ops", "process", "core"},
    "finance": {"ops", "process", "core"},
    # The keyword services: forwards the SMS channel queued, answered through the outbox.
    "services": {"delivery", "carriers", "ops", "process", "core"},
    "console": {"accounts", "delivery", "carriers", "finance", "ops", "process", "core"},
    # A front door of both the accounts and the email channel.
    "portal": {"email", "passkeys", "accounts", "delivery", "carriers", "ops", "process", "core"},
}
# Pure tables inside a package that the core reads, so they count as core: the settings check
# each carrier kind's flags (gateway/carriers/kinds.py) without loading an adapter. They, and
# the __init__ of their package (which importing them runs), import nothing of ours.
CORE_TABLES = {"gateway.carriers.kinds"}
PROCESS = {"web", "pages"}
# The top-level modules that wire the packages together; everything else at the top is core.
# The runtime wires the worker to the channels, so it is wiring, not a blueprint's helper.
WIRING = {"app", "runtime", "worker", "__main__"}
ENTRY_POINTS = {"gateway.__main__"}
CHANNELS = {"sms", "email", "services"}


def imported_modules(package: str) -> set[str]:
    names = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def gateway_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for path in GATEWAY.rglob("*.py")
        if "migrations" not in path.relative_to(GATEWAY).parts
    }


def runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (typing only)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, ast.If) and ast.unparse(node.test) in TYPE_CHECKING_TESTS:
            pending.extend(node.orelse)
        else:
            pending.extend(ast.iter_child_nodes(node))


TYPE_CHECKING_TESTS = {"TYPE_CHECKING", "typing.TYPE_CHECKING"}


def gateway_imports(path: Path, known: set[str]) -> set[str]:
    """The gateway modules one file imports when it runs, with ``from pkg import module``
    resolved."""
    found = set()
    for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "gateway")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "gateway":
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
    return found


def layer_of(module: str) -> str:
    if module in CORE_TABLES:
        return "core"
    parts = module.split(".")
    if len(parts) == 1:
        return "gateway"
    if (GATEWAY / parts[1]).is_dir() and parts[1] not in {"cli", "migrations"}:
        return parts[1]
    if parts[1] in PROCESS:
        return "process"
    return "wiring" if parts[1] in WIRING else parts[1] if parts[1] == "cli" else "core"


def blueprint_modules() -> set[str]:
    return {
        name
        for name, path in gateway_modules().items()
        if "Blueprint(" in path.read_text(encoding="utf-8")
    }


def test_parsers_use_only_the_standard_library() -> None:
    foreign = imported_modules("parsers") - set(sys.stdlib_module_names) - {"parsers"}

    assert foreign == set()


@pytest.mark.parametrize("forbidden", ["gateway", "flask", "werkzeug", "requests"])
def test_billing_stays_below_the_web_layer(forbidden: str) -> None:
    assert forbidden not in imported_modules("billing")


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_what_lies_below_it(package: str) -> None:
    modules = gateway_modules()
    allowed = MAY_IMPORT[package] | {package}
    wrong = {
        f"{name} -> {target}"
        for name, path in modules.items()
        if layer_of(name) == package
        for target in gateway_imports(path, set(modules))
        if layer_of(target) not in allowed
    }

    assert wrong == set()


@pytest.mark.parametrize("table", sorted(CORE_TABLES))
def test_a_table_the_core_reads_imports_nothing_of_ours(table: str) -> None:
    modules = gateway_modules()
    package = table.rsplit(".", 1)[0]
    ours = {
        f"{name} -> {target}"
        for name in (table, package)
        for target in imported_modules_of(modules[name])
        if target.split(".")[0] in {"gateway", "parsers", "billing"}
    }

    assert ours == set()


def imported_modules_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add("gateway" if node.level else node.module)  # relative: ours
    return names


def test_the_core_imports_no_package() -> None:
    modules = gateway_modules()
    wrong = {
        f"{name} -> {target}"
        for name, path in modules.items()
        if layer_of(name) == "core"
        for target in gateway_imports(path, set(modules))
        if layer_of(target) != "core"
    }

    assert wrong == set()


def test_only_the_app_factory_imports_the_blueprints() -> None:
    modules = gateway_modules()
    blueprints = blueprint_modules()
    importers = {
        f"{name} -> {target}"
        for name, path in modules.items()
        if name != "gateway.app"
        for target in gateway_imports(path, set(modules)) & blueprints
    }

    assert blueprints  # the check below means something only if it finds the blueprints
    assert importers == set()


def test_the_helpers_every_blueprint_shares_lead_only_to_the_core() -> None:
    # Every blueprint imports gateway.web: whatever web imports, directly or not, every page
    # and webhook drags in. web -> runtime -> worker tied them all to both channels.
    modules = gateway_modules()
    known = set(modules)
    reached, pending = set(), [name for name in modules if layer_of(name) == "process"]
    while pending:
        name = pending.pop()
        if name in reached or name not in modules:
            continue
        reached.add(name)
        pending.extend(gateway_imports(modules[name], known))
    wrong = {name for name in reached if layer_of(name) not in {"process", "core", "gateway"}}

    assert reached >= {"gateway.web", "gateway.pages"}
    assert wrong == set()


def test_the_worker_knows_no_channel() -> None:
    modules = gateway_modules()
    channels = {
        target
        for target in gateway_imports(modules["gateway.worker"], set(modules))
        if layer_of(target) in CHANNELS
    }

    assert channels == set()


def test_only_the_entry_points_import_the_cli() -> None:
    modules = gateway_modules()
    importers = {
        name
        for name, path in modules.items()
        if layer_of(name) != "cli" and name not in ENTRY_POINTS
        if any(t.startswith("gateway.cli") for t in gateway_imports(path, set(modules)))
    }

    assert importers == set()


def test_the_layer_map_knows_every_package() -> None:
    packages = {p.name for p in GATEWAY.iterdir() if (p / "__init__.py").exists()}

    assert packages - {"cli", "migrations"} == set(MAY_IMPORT)


def blueprints() -> Iterator[tuple[str, str]]:
    """Yield (blueprint name, module) for every ``Blueprint("name", ...)`` in gateway/."""
    for module, path in gateway_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Blueprint"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                yield str(node.args[0].value), module


def test_a_blueprint_is_named_after_its_package() -> None:
    # An endpoint ("sms_webhooks.receive_mo") names the metrics' and the rate limits' label and
    # leads a reader to gateway/sms/; "carriers.receive_mo" led to the wrong package.
    found = dict(blueprints())
    assert len(found) >= 10, found

    astray = {
        name: module for name, module in found.items() if name.split("_")[0] != module.split(".")[1]
    }
    assert astray == {}
