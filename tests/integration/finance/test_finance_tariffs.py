"""The worker prices each message at the tariff in force at the message's time."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from gateway.app import create_app
from gateway.clock import FakeClock
from gateway.errors import ConfigError
from gateway.settings import load_settings
from tests.harness import Phones

TARIFFS = """carrier,shortcode,amount_vnd,effective_from
viettel,8079,500,2020-01-01
viettel,8079,1000,2026-11-02T12:00+07:00
"""


@pytest.fixture
def environ(environ: dict[str, str], tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "tariffs.csv"
    path.write_text(TARIFFS, encoding="utf-8")
    return {**environ, "GATEWAY_TARIFFS_FILE": str(path)}


def test_a_tariff_change_applies_from_its_moment_and_never_to_past_charges(
    phones: Phones, session: Session, clock: FakeClock
) -> None:
    phones.text("0912345678", "xin chao")  # 10:00 local: the old tariff
    clock.advance(hours=2)
    phones.text("0912345678", "xin chao")  # 12:00 local: the new one
    phones.text("0987654321", "xin chao", carrier="mobifone")  # no tariff for mobifone

    entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    assert [(e.carrier, e.amount_vnd, e.tariff) for e in entries] == [
        ("viettel", 500, "8079:500@2020-01-01T00:00+07:00"),
        ("viettel", 1000, "8079:1000@2026-11-02T12:00+07:00"),
        ("mobifone", 1000, "8079:1000:fallback"),
    ]
    assert [e.message_at for e in entries] == [e.created_at for e in entries]


def test_a_broken_tariff_file_stops_the_start_naming_the_line(
    environ: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_text("carrier,shortcode,amount_vnd,effective_from\nviettel,8079,mot nghin,\n")

    with pytest.raises(ConfigError, match=r"GATEWAY_TARIFFS_FILE=.*broken.csv: line 2: amount_vnd"):
        create_app(load_settings({**environ, "GATEWAY_TARIFFS_FILE": str(broken)}))
