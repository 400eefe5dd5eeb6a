"""Limits per client on the anonymous endpoints, checked before any password is hashed.

The counting is the ``limits`` library's (fixed windows, its Redis storage when
GATEWAY_RATELIMIT_STORAGE=redis://... is set). Without Redis the counters live in the
gateway's own database through :class:`DatabaseStorage`, a small adapter to ``limits``'
storage interface: every gunicorn worker and every machine sharing the database then shares
the counts, with nothing more to run. A client is its address as seen after the trusted proxy
hops (GATEWAY_PROXY_HOPS, ProxyFix); an IPv6 client is its /64, which one subscriber holds.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Mapping
from typing import ClassVar

from flask import Flask, request
from limits import RateLimitItem
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import RateLimited, Why
from gateway.models import RateLimitCounter
from gateway.ops import metrics
from gateway.settings import Settings

log = logging.getLogger(__name__)

# Flask endpoint -> the limit it counts against. Every anonymous endpoint that hashes a
# password, sends an email or draws a captcha is here.
LIMITED_ENDPOINTS = {
    "accounts.login": "login",
    "accounts.set_password": "login",
    "email_change.change_email": "login",
    "email_change.confirm_email": "login",
    "email_recovery.verify_email_recovery": "login",
    "email_recovery.request_email_recovery": "recovery",
    "email_recovery.new_captcha": "recovery",
    # The staff console's forms that check a password: staff sign-in is throttled like login.
    "console.sign_in": "login",
    "console.enrol": "login",
    # The citizens' portal: the same use cases as the API above, so the same limits.
    "portal_account.sign_in": "login",
    "portal_account.change_password": "login",
    "portal_account.change_email": "login",
    "portal_recovery.enter_otp": "login",
    "portal_recovery.forgot_password": "recovery",
    # Passkeys: starting a ceremony stores a challenge; finishing one checks a signature.
    "passkeys.registration_options": "recovery",
    "passkeys.authentication_options": "recovery",
    "passkeys.recovery_options": "recovery",
    "passkeys.registration_verify": "login",
    "passkeys.authentication_verify": "login",
    "passkeys.recovery_verify": "login",
    "passkeys.list_passkeys": "login",
    "passkeys.rename_passkey": "login",
    "passkeys.remove_passkey": "login",
    "portal_passkeys.sign_in_options": "recovery",
    "portal_passkeys.recover_options": "recovery",
    "portal_passkeys.register_options": "recovery",
    "portal_passkeys.sign_in": "login",
    "portal_passkeys.recover": "login",
    "portal_passkeys.register": "login",
    "portal_passkeys.rename": "login",
    "portal_passkeys.remove": "login",
    "portal_passkeys.confirm_password": "login",
    "portal_account.review_after_recovery": "login",
    "portal_account.activate": "login",
    "portal_smart_otp.confirm_proof": "login",
    "portal_smart_otp.enrol": "login",
    "portal_smart_otp.confirm": "login",
    "portal_smart_otp.disable": "login",
    "portal_smart_otp.recover": "login",
    # Smart OTP: every endpoint checks or makes a code.
    "accounts_smart_otp.enrol": "login",
    "accounts_smart_otp.confirm": "login",
    "accounts_smart_otp.verify": "login",
    "accounts_smart_otp.disable": "login",
    "accounts_smart_otp.recover": "login",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Counted on every method (each view draws a captcha); the others only when a form or body is
# posted (a page view of the console's sign-in form hashes nothing).
EVERY_METHOD = {
    "email_recovery.new_captcha",
    "portal_recovery.forgot_password",
    "passkeys.list_passkeys",
}


class DatabaseStorage(Storage):
    """Fixed-window counters in the rate_limit_counters table (SQLite or PostgreSQL)."""

    STORAGE_SCHEME: ClassVar[list[str]] = ["gateway-database"]

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        # Reads take no lock: on SQLite the engine otherwise begins every transaction with
        # BEGIN IMMEDIATE (gateway/db.py), which would queue each check behind the writer.
        self._reader = engine.execution_options(sqlite_begin=None)
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._insert = dialect.insert

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the key's window, starting a new window if the old one ended."""
        now = time.time()
        table = RateLimitCounter.__table__
        insert = self._insert(table).values(key=key, hits=amount, expires_at=now + expiry)
        expired = table.c.expires_at <= now
        upsert = insert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                # One statement: two workers never lose a hit between a read and a write.
                "hits": case((expired, amount), else_=table.c.hits + amount),
                "expires_at": case((expired, now + expiry), else_=table.c.expires_at),
            },
        ).returning(table.c.hits)
        with self._engine.begin() as connection:
            return int(connection.scalar(upsert) or 0)

    def get(self, key: str) -> int:
        """Return the hits in the key's current window (0 once it ended)."""
        query = select(RateLimitCounter.hits).where(
            RateLimitCounter.key == key, RateLimitCounter.expires_at > time.time()
        )
        with self._reader.connect() as connection:
            return int(connection.scalar(query) or 0)

    def get_expiry(self, key: str) -> float:
        """Return when the key's window ends, in unix seconds."""
        query = select(RateLimitCounter.expires_at).where(RateLimitCounter.key == key)
        with self._reader.connect() as connection:
            return float(connection.scalar(query) or time.time())

    def check(self) -> bool:
        """Tell whether the database answers."""
        try:
            with self._reader.connect() as connection:
                connection.scalar(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter."""
        with self._engine.begin() as connection:
            return connection.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        """Forget one key's counter."""
        with self._engine.begin() as connection:
            connection.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))


def purge_expired_counters(engine: Engine) -> int:
    """Delete the counters of windows that ended; return how many."""
    query = delete(RateLimitCounter).where(RateLimitCounter.expires_at <= time.time())
    with engine.begin() as connection:
        return connection.execute(query).rowcount


def build_storage(settings: Settings, engine: Engine) -> Storage:
    """Return the configured store: Redis (or memory://) by URI, else the database."""
    if settings.ratelimit_storage:
        return storage_from_string(settings.ratelimit_storage)
    return DatabaseStorage(engine)


def client_key(address: str | None) -> str:
    """Name the client to count against: its IPv4 address, or its IPv6 /64."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class ClientLimits:
    """Checks one request against its endpoint's limits and refuses it with 429 when over."""

    # Clients remembered as refused, per process: enough for a flood from many addresses,
    # bounded so that one from millions of IPv6 /64s cannot grow a worker without end.
    REMEMBERED = 10_000

    def __init__(self, storage: Storage, limits: Mapping[str, tuple[RateLimitItem, ...]]) -> None:
        self.storage = storage
        self._limiter = FixedWindowRateLimiter(storage)
        self._limits = limits
        # (group, client) -> (end of the window it was refused in, the limit it was over).
        self._refused: dict[tuple[str, str], tuple[float, RateLimitItem]] = {}
        self._remembering = threading.Lock()  # a gthread worker's threads share the memory

    def check(self, group: str, client: str) -> None:
        """Count one hit for ``client``; raise RateLimited if any of the group's limits is over."""
        now = time.time()
        until, item = self._refused.get((group, client), (0.0, None))
        if item is not None and now < until:
            # A fixed window's count only grows until the window ends, so a client refused in
            # it is refused until then: a flood of refusals costs this process no query at all.
            self._refuse(group, item, until, now)
        for item in self._limits[group]:
            # A client over the limit in another process is refused on a read: its flood then
            # costs no write (on SQLite, no wait for the one writer the webhook needs too).
            if not self._limiter.test(item, group, client) or not self._limiter.hit(
                item, group, client
            ):
                until = self._limiter.get_window_stats(item, group, client).reset_time
                self._remember(group, client, until, item, now)
                self._refuse(group, item, until, now)

    def _remember(
        self, group: str, client: str, until: float, item: RateLimitItem, now: float
    ) -> None:
        with self._remembering:
            refused = self._refused
            if len(refused) >= self.REMEMBERED:
                refused = {key: seen for key, seen in refused.items() if seen[0] > now}
            if len(refused) >= self.REMEMBERED:
                refused = {}  # the store still counts: forgetting costs queries, not safety
            refused[group, client] = (until, item)
            self._refused = refused

    @staticmethod
    def _refuse(group: str, item: RateLimitItem, until: float, now: float) -> None:
        metrics.count_rate_limited(group)
        wait = max(1, math.ceil(until - now))
        raise RateLimited(
            f"too many requests from this address; limit {item}",
            retry_after=wait,
            why=Why.RATE_LIMITED,
            numbers={"seconds": wait},
        )


def install(app: Flask, settings: Settings, engine: Engine) -> None:
    """Check the per-client limits before the view of every limited endpoint runs."""
    if not settings.ratelimit_enabled:
        return
    limits = ClientLimits(
        build_storage(settings, engine),
        {"login": settings.ratelimit_login, "recovery": settings.ratelimit_recovery},
    )

    @app.before_request
    def _limit() -> None:
        endpoint = request.endpoint or ""
        group = LIMITED_ENDPOINTS.get(endpoint)
        if group is None or (request.method in SAFE_METHODS and endpoint not in EVERY_METHOD):
            return
        try:
            limits.check(group, client_key(request.remote_addr))
        except limits.storage.base_exceptions as exc:
            # The store is down: failing open keeps login working for everyone while Redis or
            # the database recovers (the per-account limits still hold); the metric says so.
            metrics.count_rate_limited(group, outcome="store_unavailable")
            log.warning("rate limit store unavailable (%s): let through", type(exc).__name__)
