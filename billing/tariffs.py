"""Tariffs: what a carrier charges for a message to a shortcode, from a given moment on.

A tariff file is CSV with the header ``carrier,shortcode,amount_vnd,effective_from``; a date is
local midnight in Vietnam, a time may carry an offset. Each charge stores the label of the
tariff that priced it, so changing the file never changes past entries.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import functools
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from billing.errors import FileError
from billing.periods import LOCAL_TZ, parse_moment

log = logging.getLogger(__name__)

HEADER = ("carrier", "shortcode", "amount_vnd", "effective_from")
_CARRIER = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_SHORTCODE = re.compile(r"^[0-9]{3,16}$")
# Viettel's dearest shortcode tier is 15,000 VND; a typo with extra zeros must not slip through.
MAX_AMOUNT_VND = 100_000


@dataclass(frozen=True, slots=True)
class Tariff:
    """One price for one carrier and shortcode, in force from ``effective_from`` (None: always)."""

    carrier: str
    shortcode: str
    amount_vnd: int
    effective_from: dt.datetime | None = None

    @property
    def label(self) -> str:
        """Name the tariff in the ledger, e.g. ``8079:1000@2026-01-01T00:00+07:00``."""
        base = f"{self.shortcode}:{self.amount_vnd}"
        if self.effective_from is None:
            return base
        local = self.effective_from.astimezone(LOCAL_TZ)
        return f"{base}@{local.isoformat(timespec='minutes')}"


class TariffBook:
    """Every tariff, per carrier and shortcode, ordered by the moment it takes effect."""

    def __init__(self, tariffs: Iterable[Tariff]) -> None:
        self._by_key: dict[tuple[str, str], list[Tariff]] = {}
        for tariff in tariffs:
            self._by_key.setdefault((tariff.carrier, tariff.shortcode), []).append(tariff)
        for entries in self._by_key.values():
            entries.sort(key=_start)
        self._starts = {key: [_start(t) for t in ts] for key, ts in self._by_key.items()}

    def __iter__(self) -> Iterator[Tariff]:
        for entries in self._by_key.values():
            yield from entries

    def in_force(self, carrier: str, shortcode: str, at: dt.datetime) -> Tariff | None:
        """Return the tariff in force for a message at ``at``, or None if there is none."""
        key = (carrier, shortcode)
        starts = self._starts.get(key)
        if not starts:
            return None
        index = bisect.bisect_right(starts, at) - 1
        return self._by_key[key][index] if index >= 0 else None

    def price(self, carrier: str, shortcode: str, at: dt.datetime, fallback_vnd: int) -> Tariff:
        """Return the tariff in force, or a fallback at ``fallback_vnd`` (with a warning).

        The carrier bills the sender whatever our table says, so the message is still charged;
        the ``:fallback`` label lets finance find such charges and fix the table.
        """
        tariff = self.in_force(carrier, shortcode, at)
        if tariff is not None:
            return tariff
        log.warning(
            "no tariff in force for %s/%s at %s; charging the fallback %s VND",
            carrier,
            shortcode,
            at.isoformat(),
            fallback_vnd,
        )
        return _Fallback(carrier, shortcode, fallback_vnd)


@dataclass(frozen=True, slots=True)
class _Fallback(Tariff):
    @property
    def label(self) -> str:
        return f"{self.shortcode}:{self.amount_vnd}:fallback"


def _start(tariff: Tariff) -> dt.datetime:
    return tariff.effective_from or dt.datetime.min.replace(tzinfo=dt.UTC)


def default_book(carriers: Iterable[str], shortcode: str, amount_vnd: int) -> TariffBook:
    """Return the book used without a file: ``shortcode`` at ``amount_vnd`` for every carrier."""
    return TariffBook(Tariff(carrier, shortcode, amount_vnd) for carrier in carriers)


@functools.lru_cache(maxsize=16)
def tariff_book(
    path: Path | None, carriers: tuple[str, ...], shortcode: str, amount_vnd: int
) -> TariffBook:
    """Return the tariff book of a process: the file's if given, else the default one.

    Read once per process (and per path): a tariff change takes effect on restart, and a file
    edited into a broken state cannot stop a running worker.
    """
    if path is None:
        return default_book(carriers, shortcode, amount_vnd)
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            return TariffBook(read_tariffs(stream.read().splitlines(), known_carriers=carriers))
    except UnicodeDecodeError as exc:
        raise FileError([(0, f"{path} is not UTF-8 text ({exc.reason})")]) from exc
    except OSError as exc:
        raise FileError([(0, f"cannot read {path}: {exc.strerror}")]) from exc


def read_tariffs(lines: Sequence[str], *, known_carriers: Iterable[str] = ()) -> list[Tariff]:
    """Parse the lines of a tariff file; raise FileError listing every bad line."""
    known = set(known_carriers)
    reader = csv.reader(lines)
    header = tuple(cell.strip().lower() for cell in next(reader, []))
    if header != HEADER:
        raise FileError([(1, f"the header must be {','.join(HEADER)}, not {','.join(header)}")])
    problems: list[tuple[int, str]] = []
    tariffs: list[Tariff] = []
    seen: dict[tuple[str, str, dt.datetime | None], int] = {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            tariff = _tariff(row, known)
        except ValueError as exc:
            problems.append((line, str(exc)))
            continue
        key = (tariff.carrier, tariff.shortcode, tariff.effective_from)
        if key in seen:
            problems.append((line, f"same carrier, shortcode and date as line {seen[key]}"))
        seen[key] = line
        tariffs.append(tariff)
    if problems:
        raise FileError(problems)
    if not tariffs:
        raise FileError([(1, "the file lists no tariff")])
    return tariffs


def _tariff(row: list[str], known: set[str]) -> Tariff:
    if len(row) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} columns, found {len(row)}")
    carrier, shortcode, amount, since = (cell.strip() for cell in row)
    if not _CARRIER.match(carrier):
        raise ValueError(f"carrier {carrier!r} is not a carrier name")
    if known and carrier not in known:
        raise ValueError(f"carrier {carrier!r} is not in GATEWAY_CARRIERS")
    if not _SHORTCODE.match(shortcode):
        raise ValueError(f"shortcode {shortcode!r} is not 3 to 16 digits")
    if not amount.isdigit() or int(amount) > MAX_AMOUNT_VND:
        raise ValueError(f"amount_vnd {amount!r} is not a whole number of đồng up to 100000")
    try:
        effective_from = parse_moment(since) if since else None
    except ValueError:
        raise ValueError(f"effective_from {since!r} is not a date (YYYY-MM-DD)") from None
    return Tariff(carrier, shortcode, int(amount), effective_from)
