"""The reply catalog: every template is unaccented GSM-7 and fits one segment, worst case."""

from __future__ import annotations

import datetime as dt
import string

import pytest

from gateway.delivery.replies import (
    FAILURE_REPLIES,
    TEMPLATES,
    WORST_CASE,
    Reply,
    ReplyCatalog,
    catalog_for,
    format_wait,
)
from gateway.errors import ConfigError
from parsers import FailureReason, septets, unaccent

CATALOGS = [
    catalog_for(hotline="1900 9068", shortcode="8079", accept_bhxh=True, accept_personal_id=True),
    catalog_for(hotline="1900 9068", shortcode="8079", accept_bhxh=True, accept_personal_id=False),
    catalog_for(hotline="1900 9068", shortcode="8079", accept_bhxh=False, accept_personal_id=True),
]


@pytest.mark.parametrize("catalog", CATALOGS)
@pytest.mark.parametrize("reply", list(Reply))
def test_each_reply_fits_one_gsm7_segment_at_its_longest(
    catalog: ReplyCatalog, reply: Reply
) -> None:
    fields = {name for _, name, _, _ in string.Formatter().parse(TEMPLATES[reply]) if name}
    text = catalog.render(reply, **{name: WORST_CASE[name] for name in fields & WORST_CASE.keys()})

    length = septets(text)
    assert length is not None, "not GSM-7"
    assert length <= 160
    assert text == unaccent(text), "replies are unaccented"
    assert "{" not in text


def test_every_parse_failure_has_a_reply() -> None:
    assert set(FAILURE_REPLIES) == set(FailureReason)


def test_a_hotline_too_long_for_one_segment_is_refused_at_start() -> None:
    catalog = catalog_for(
        hotline="Tong dai ho tro khach hang 1900 9068 (cuoc 1.000d/phut)",
        shortcode="8079",
        accept_bhxh=True,
        accept_personal_id=True,
    )

    with pytest.raises(ConfigError, match="GATEWAY_HOTLINE"):
        catalog.check()


def test_an_accented_hotline_is_refused_at_start() -> None:
    catalog = catalog_for(
        hotline="Tổng đài 19009068", shortcode="8079", accept_bhxh=True, accept_personal_id=True
    )

    with pytest.raises(ConfigError):
        catalog.check()


def test_the_syntax_help_names_the_accepted_identifiers() -> None:
    both, bhxh_only, _ = CATALOGS

    assert "BH MK <ma so BHXH 10 so hoac CCCD 12 so> gui 8079" in both.render(Reply.SYNTAX_HELP)
    assert "BH MK <ma so BHXH 10 so> gui 8079" in bhxh_only.render(Reply.SYNTAX_HELP)


@pytest.mark.parametrize(
    ("window", "said"),
    [
        (dt.timedelta(hours=24), "24 gio"),
        (dt.timedelta(hours=1), "1 gio"),
        (dt.timedelta(minutes=90), "90 phut"),
        (dt.timedelta(seconds=10), "1 phut"),
    ],
)
def test_waiting_time_in_words(window: dt.timedelta, said: str) -> None:
    assert format_wait(window) == said


def test_the_sim_swap_refusal_points_to_the_ways_that_do_not_trust_the_phone() -> None:
    text = CATALOGS[0].render(Reply.SIM_SWAPPED)

    assert septets(text) is not None
    assert len(text) <= 160
    for way in ("SIM vua doi", "email", "khoa truy cap", "Smart OTP", "co quan BHXH", "1900 9068"):
        assert way in text
