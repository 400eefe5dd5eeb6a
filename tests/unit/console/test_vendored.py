"""The vendored chart library is the one the notes name, with its licence beside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
STATIC = ROOT / "gateway/console/static"


def test_chart_js_version_is_the_one_noted_everywhere() -> None:
    header = (STATIC / "chart.umd.min.js").read_text(encoding="utf-8")[:200]
    found = re.search(r"Chart\.js v(\d+\.\d+\.\d+)", header)
    assert found
    version = found[1]

    assert f"| {version} |" in (STATIC / "VENDORED.md").read_text(encoding="utf-8")
    assert f"Chart.js {version}" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Chart.js {version}" in (ROOT / "docs/console.md").read_text(encoding="utf-8")
    assert "MIT License" in (STATIC / "chart.js-LICENSE.md").read_text(encoding="utf-8")


def test_templates_load_scripts_only_from_the_package() -> None:
    templates = sorted((ROOT / "gateway/console/templates/console").glob("*.html"))
    assert templates, "no console templates found"
    for template in templates:
        html = template.read_text(encoding="utf-8")
        assert "http://" not in html and "https://" not in html, template.name
        for tag in re.findall(r"<script[^>]*>", html):
            assert "url_for('console.static'" in tag, (template.name, tag)
