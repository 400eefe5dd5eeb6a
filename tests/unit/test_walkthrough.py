"""What a newcomer reads on a fresh clone works as written: links resolve inside the
repository, and the documented shell lines do what they say."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from gateway.cli import cli

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_point_inside_the_clone(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    targets = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]

    assert "../shared" not in text
    assert [t for t in targets if not (page.parent / t).exists()] == []


def test_the_readme_links_the_domain_notes_and_the_source_article() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    assert "(docs/domain.md)" in readme and "(docs/source-article.md)" in readme


def test_every_gateway_command_the_readme_runs_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    used = set(re.findall(r"\.venv/bin/gateway ([a-z-]+)", readme))

    assert used and used <= set(cli.commands)


def test_the_app_credential_curl_in_email_md_sends_the_credential_literally(
    tmp_path: Path,
) -> None:
    # Run the documented lines as written, from a folder whose .env holds a credential, with
    # curl replaced by a function that prints the arguments it would send.
    text = (ROOT / "docs/email.md").read_text(encoding="utf-8")
    start = text.index("GATEWAY_APP_CREDENTIAL=$(")
    block = text[start : text.index("\n\n", start)]
    (tmp_path / ".env").write_text(
        "GATEWAY_SECRET_KEY=x\nGATEWAY_APP_CREDENTIAL=app-credential-from-env-0123\n"
    )

    done = subprocess.run(
        ["bash", "-c", "curl() { printf '%s\\n' \"$@\"; }\n" + block],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert "X-App-Credential: app-credential-from-env-0123" in done.stdout.splitlines()
