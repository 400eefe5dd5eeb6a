"""The documents a newcomer reads say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from gateway.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_lists_every_setting() -> None:
    read = set(
        re.findall(
            r'"((?:GATEWAY|DATABASE|FINANCE)_[A-Z_]+)"', (ROOT / "gateway/settings.py").read_text()
        )
    )
    per_carrier = set(
        re.findall(r'prefix \+ "([A-Z_]+)"', (ROOT / "gateway/settings.py").read_text())
    )
    per_service = set(
        re.findall(r'head \+ "([A-Z_]+)"', (ROOT / "gateway/settings.py").read_text())
    )
    example = (ROOT / ".env.example").read_text()

    assert read, "the pattern no longer finds the settings"
    missing = {name for name in read if not re.search(rf"^#?{name}=", example, re.M)}
    missing |= {f"CARRIER_DEMO_{s}" for s in per_carrier if f"CARRIER_DEMO_{s}=" not in example}
    missing |= {f"SERVICE_QT_{s}" for s in per_service if f"SERVICE_QT_{s}=" not in example}
    assert per_service, "the pattern no longer finds the services' settings"
    assert missing == set()


def test_readme_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text()

    for name in cli.commands:
        assert f"gateway {name}" in readme, name


def test_every_command_explains_itself() -> None:
    for name in cli.commands:
        result = CliRunner().invoke(cli, [name, "--help"], obj={})
        assert result.exit_code == 0, name
        assert "Usage:" in result.stdout
