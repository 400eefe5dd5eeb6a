"""The help reply lists every service's syntax in one segment, or the start is refused."""

from __future__ import annotations

import pytest

from gateway.delivery.replies import Reply, ReplyCatalog, catalog_for
from gateway.errors import ConfigError
from parsers import ArgumentKind, FailureReason, ParseFailure, septets

NO_SERVICES = catalog_for(
    hotline="1900 9068", shortcode="8079", accept_bhxh=True, accept_personal_id=True
)


def with_services(*services: tuple[str, str, ArgumentKind]) -> ReplyCatalog:
    return catalog_for(
        hotline="1900 9068",
        shortcode="8079",
        accept_bhxh=True,
        accept_personal_id=True,
        services=services,
    )


def test_without_services_an_unknown_keyword_is_answered_as_before() -> None:
    unknown = NO_SERVICES.render_failure(ParseFailure(FailureReason.UNKNOWN_KEYWORD))

    assert unknown == NO_SERVICES.render(Reply.SYNTAX_HELP)
    assert unknown.startswith("Sai cu phap. De cap lai mat khau VssID soan: BH MK <")


def test_with_services_it_lists_every_syntax_in_one_gsm7_segment() -> None:
    catalog = with_services(
        ("qt", "BH QT", ArgumentKind.BHXH),
        ("hs", "BH HS", ArgumentKind.FILE_ID),
        ("the", "BH THE", ArgumentKind.BHXH),
    )
    catalog.check()

    text = catalog.render_failure(ParseFailure(FailureReason.EMPTY))

    assert text == (
        "Sai cu phap. Soan: BH MK <ma so BHXH>, BH QT <ma so BHXH>, BH HS <ma ho so>, "
        "BH THE <ma so BHXH> gui 8079. Ho tro: 1900 9068"
    )
    assert (septets(text) or 999) <= 160
    assert (
        catalog.render_syntax("hs")
        == "Sai cu phap. Soan: BH HS <ma ho so> gui 8079. Ho tro: 1900 9068"
    )


def test_too_many_services_for_one_segment_stop_the_start_in_one_line() -> None:
    catalog = with_services(
        *((f"s{n}", f"BHXH DICHVU {chr(65 + n)}", ArgumentKind.TEXT) for n in range(5))
    )

    with pytest.raises(ConfigError) as refused:
        catalog.check()

    assert "GATEWAY_SERVICES lists too many keywords" in str(refused.value)
    assert "\n" not in str(refused.value)
