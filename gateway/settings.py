"""Every setting of the gateway, read from the environment in one place.

``load_settings(environ)`` turns a mapping (``os.environ`` in production, a plain dict in tests)
into a frozen :class:`Settings`. Each variable appears once below with its default and coercion;
a missing secret or a malformed value raises :class:`ConfigError` naming the variable.
``.env.example`` lists the same variables and must stay in step with this file.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import TypeVar

from limits import RateLimitItem, parse_many

from billing.outcomes import RECOVERY as RECOVERY_SERVICE
from billing.tariffs import TariffBook, tariff_book
from gateway.carriers.kinds import KINDS as CARRIER_KINDS
from gateway.errors import ConfigError
from parsers.keywords import (
    RECOVERY_KEYWORDS,
    ArgumentKind,
    normalise_keyword,
    overlaps,
    valid_keyword,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"

MAX_CONNECTIONS = 64  # per carrier and worker process: threads and sockets are not free
EMAIL_CARRIER = "email"  # the outbox's name for the SMTP relay, so no carrier may take it
SMTP_SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}
ANY_ADDRESS = "any"  # an explicit, documented-unsafe CARRIER_<NAME>_ALLOW_IPS
CARRIER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")
_APK_KEY_HASH = re.compile(r"[A-Za-z0-9_-]{43}=?")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
SIM_SWAP_ON_ERROR = ("open", "closed")
SIM_SWAP_MAX_AGE_HOURS = 2400  # CAMARA SIM Swap: maxAge is 1 to 2400 hours
SIM_SWAP_MAX_TIMEOUT = 30.0  # seconds a worker batch may wait for the answers, at most
# The four variables of a carrier's SIM swap check, all set or none (docs/sim-swap.md).
SIM_SWAP_VARIABLES = (
    "SIM_SWAP_URL",
    "SIM_SWAP_TOKEN_URL",
    "SIM_SWAP_CLIENT_ID",
    "SIM_SWAP_CLIENT_SECRET",
)

# Standard Webhooks: "whsec_" + base64 of 24 to 64 random bytes.
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CarrierSettings:
    """How to talk to one carrier: the shared secret and where replies go."""

    name: str
    secret: str  # signs JSON requests; for a URL-token kind (carriers/kinds.py) it is the token
    mt_url: str
    kind: str
    timeout: float
    # Empty: any caller (json only, whose HMAC signature proves the caller); "any" reads as
    # 0.0.0.0/0 and ::/0.
    allow_ips: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    mt_username: str | None = None
    mt_password: str | None = None
    smsc: str | None = None  # the route to use when no inbound message names one (kannel's smsc-id)
    max_connections: int = 8  # replies in flight at once to this carrier, per worker process
    max_per_second: float = 0.0  # replies started per second, per worker process; 0: no limit
    sim_swap: SimSwapApi | None = None  # None: this carrier's senders are not checked


@dataclass(frozen=True, slots=True)
class SimSwapApi:
    """One carrier's CAMARA SIM Swap API and the OAuth2 client (client credentials) that asks it."""

    url: str  # API root and base path, e.g. https://api.carrier.vn/sim-swap/v2; we POST {url}/check
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = "sim-swap:check"


@dataclass(frozen=True, slots=True)
class SimSwapSettings:
    """How the SIM swap check runs for every carrier that has one (docs/sim-swap.md)."""

    max_age_hours: int  # a SIM changed within this many hours refuses the SMS reset
    fail_closed: bool  # the check failed or timed out: refuse (closed) or let it through (open)
    timeout: float  # seconds one worker batch waits for its answers, token included
    concurrency: int  # checks in flight at once, per worker process


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """One keyword service of the shortcode: its keywords and the agency system that answers
    it (docs/services.md)."""

    name: str
    keywords: tuple[str, ...]  # folded (BH QT); the first is the one the help reply shows
    url: str
    secret: str = field(repr=False)  # whsec_ + base64: signs each forward (Standard Webhooks)
    argument: ArgumentKind = ArgumentKind.BHXH
    timeout: float = 5.0
    tariffs_file: Path | None = None  # None: the shortcode's tariffs (GATEWAY_TARIFFS_FILE)


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration; build it with :func:`load_settings`."""

    database_url: str
    instance_dir: Path
    secret_key: str
    shortcode: str
    charge_vnd: int
    hotline: str
    carriers: Mapping[str, CarrierSettings]
    accept_bhxh: bool
    accept_personal_id: bool
    sms_reset_enabled: bool
    temp_password_ttl: dt.timedelta
    resets_per_account: int
    resets_window: dt.timedelta
    messages_per_phone: int
    phone_window: dt.timedelta
    signature_tolerance: dt.timedelta
    max_body_bytes: int
    mt_retry_horizon: dt.timedelta
    mt_backoff_base: dt.timedelta
    mt_backoff_cap: dt.timedelta
    login_free_failures: int
    login_failure_cap: int
    login_delay_cap: dt.timedelta
    min_password_length: int
    token_ttl: dt.timedelta
    worker_poll_interval: float
    worker_batch_size: int
    worker_max_attempts: int
    worker_lease: dt.timedelta
    worker_wakeup: bool
    public_url: str
    proxy_hops: int
    finance_api_token: str | None
    tariffs_file: Path | None
    refund_wrong_syntax: bool
    bind: str
    web_workers: int
    web_threads: int
    log_level: str
    log_format: str
    smtp: SmtpSettings
    portal_url: str
    app_credential: str | None
    default_carrier: str | None
    first_password_email_from: dt.date
    first_password_ttl: dt.timedelta
    otp_ttl: dt.timedelta
    otp_max_failures: int
    otp_lockout: dt.timedelta
    otp_emails_per_account: int
    otp_window: dt.timedelta
    captcha_ttl: dt.timedelta
    captcha_length: int
    console_secure_cookies: bool
    console_idle_timeout: dt.timedelta
    console_session_lifetime: dt.timedelta
    console_enrol_ttl: dt.timedelta
    ratelimit_enabled: bool
    ratelimit_storage: str  # empty: the database; else a limits storage URI (redis://...)
    ratelimit_login: tuple[RateLimitItem, ...]
    ratelimit_recovery: tuple[RateLimitItem, ...]
    hash_concurrency: int
    hash_wait: float
    metrics_token: str | None
    retention: dt.timedelta
    portal_secure_cookies: bool
    webauthn: WebAuthnSettings
    sim_swap: SimSwapSettings
    # Tests only: the portal answers GET /quen-mat-khau/captcha/<id>/answer (see load_settings).
    test_captcha_answers: bool
    # The keyword services besides BH MK, by name, in GATEWAY_SERVICES order (docs/services.md).
    services: Mapping[str, ServiceSettings] = field(default_factory=dict)
    services_retry_horizon: dt.timedelta = dt.timedelta(minutes=10)
    services_trip_after: int = 5  # failed forwards in a row that turn a service's switch off
    # Other shortcodes whose messages carriers deliver to us as ours: 8179, redirected to 8079
    # since 1 Aug 2019. Accepted and charged as addressed; answered from ``shortcode``.
    shortcode_aliases: tuple[str, ...] = ()

    def answers_to(self, recipient: str) -> bool:
        """Tell whether a message addressed to ``recipient`` is ours to answer."""
        number = recipient.lstrip("+")
        return number == self.shortcode or number in self.shortcode_aliases

    def tariffs(self, service: str = RECOVERY_SERVICE) -> TariffBook:
        """The tariffs that price ``service``'s messages: its own file, else the shortcode's."""
        own = self.services[service].tariffs_file if service in self.services else None
        return tariff_book(
            own or self.tariffs_file, tuple(self.carriers), self.shortcode, self.charge_vnd
        )


@dataclass(frozen=True, slots=True)
class WebAuthnSettings:
    """Who the passkeys belong to: the relying party's domain, its name, the allowed origins.

    ``rp_id`` is None when GATEWAY_PUBLIC_URL names an IP address and no RP ID is set:
    browsers refuse an IP as RP ID, so passkeys are then off (the pages do not offer them).
    """

    rp_id: str | None
    rp_name: str
    origins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DkimKey:
    """A DKIM private key (PEM) and the selector its public half is published under."""

    selector: str
    private_key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where emails go: the SMTP relay, how to secure the connection, who they come from."""

    host: str
    port: int
    security: str  # starttls, tls or none
    user: str | None
    password: str | None
    sender: str  # the From header, e.g. "BHXH Việt Nam <no-reply@example.vn>"
    timeout: float
    dkim: DkimKey | None = None  # sign every email when GATEWAY_DKIM_KEY_FILE is set


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and validate every setting from ``environ``."""
    env = _Reader(environ)
    instance_dir = Path(env.get("GATEWAY_INSTANCE_DIR", str(DEFAULT_INSTANCE_DIR)))
    public_url = env.get("GATEWAY_PUBLIC_URL", "http://localhost:8000", _http_url).rstrip("/")
    wakeup = env.get("GATEWAY_WORKER_WAKEUP", "true", _bool)
    # Woken, the worker polls only for what no wake-up announces (a retry coming due, a lost
    # wake-up): every 2 s is enough and keeps an idle worker near no CPU at all.
    poll = "2" if wakeup else "0.5"
    settings = Settings(
        database_url=env.get("DATABASE_URL", f"sqlite:///{instance_dir / 'gateway.db'}"),
        instance_dir=instance_dir,
        secret_key=env.secret("GATEWAY_SECRET_KEY"),
        shortcode=env.get("GATEWAY_SHORTCODE", "8079", _digits),
        charge_vnd=env.get("GATEWAY_CHARGE_VND", "1000", _non_negative_int),
        hotline=env.get("GATEWAY_HOTLINE", "1900 9068"),
        carriers=_carriers(env),
        accept_bhxh=env.get("GATEWAY_ACCEPT_BHXH", "true", _bool),
        accept_personal_id=env.get("GATEWAY_ACCEPT_PERSONAL_ID", "true", _bool),
        sms_reset_enabled=env.get("GATEWAY_SMS_RESET_ENABLED", "true", _bool),
        temp_password_ttl=env.get("GATEWAY_TEMP_PASSWORD_TTL", "15m", _temp_password_ttl),
        resets_per_account=env.get("GATEWAY_LIMIT_RESETS_PER_ACCOUNT", "3", _positive_int),
        resets_window=env.get("GATEWAY_LIMIT_RESETS_WINDOW", "24h", _duration),
        messages_per_phone=env.get("GATEWAY_LIMIT_MESSAGES_PER_PHONE", "5", _positive_int),
        phone_window=env.get("GATEWAY_LIMIT_PHONE_WINDOW", "1h", _duration),
        signature_tolerance=env.get("GATEWAY_SIGNATURE_TOLERANCE", "300s", _duration),
        max_body_bytes=env.get("GATEWAY_MAX_BODY_BYTES", "16384", _positive_int),
        mt_retry_horizon=env.get("GATEWAY_MT_RETRY_HORIZON", "1h", _duration),
        mt_backoff_base=env.get("GATEWAY_MT_BACKOFF_BASE", "5s", _duration),
        mt_backoff_cap=env.get("GATEWAY_MT_BACKOFF_CAP", "10m", _duration),
        login_free_failures=env.get("GATEWAY_LOGIN_FREE_FAILURES", "5", _positive_int),
        login_failure_cap=env.get("GATEWAY_LOGIN_FAILURE_CAP", "100", _failure_cap),
        login_delay_cap=env.get("GATEWAY_LOGIN_DELAY_CAP", "15m", _duration),
        min_password_length=env.get("GATEWAY_MIN_PASSWORD_LENGTH", "8", _min_password_length),
        token_ttl=env.get("GATEWAY_TOKEN_TTL", "1h", _duration),
        worker_poll_interval=env.get("GATEWAY_WORKER_POLL_INTERVAL", poll, _positive_float),
        worker_batch_size=env.get("GATEWAY_WORKER_BATCH_SIZE", "100", _positive_int),
        worker_max_attempts=env.get("GATEWAY_WORKER_MAX_ATTEMPTS", "3", _positive_int),
        worker_lease=env.get("GATEWAY_WORKER_LEASE", "60s", _duration),
        worker_wakeup=wakeup,
        public_url=public_url,
        proxy_hops=env.get("GATEWAY_PROXY_HOPS", "0", _non_negative_int),
        finance_api_token=env.optional_secret("FINANCE_API_TOKEN"),
        tariffs_file=env.get("GATEWAY_TARIFFS_FILE", "", _optional_path),
        refund_wrong_syntax=env.get("GATEWAY_REFUND_WRONG_SYNTAX", "false", _bool),
        bind=env.get("GATEWAY_BIND", "127.0.0.1:8000"),
        web_workers=env.get("GATEWAY_WEB_WORKERS", "0", _non_negative_int),  # 0: from CPUs
        web_threads=env.get("GATEWAY_WEB_THREADS", "8", _positive_int),
        log_level=env.get("GATEWAY_LOG_LEVEL", "INFO", str.upper),
        log_format=env.get("GATEWAY_LOG_FORMAT", "plain", _log_format),
        smtp=_smtp(env),
        portal_url=env.get(
            "GATEWAY_PORTAL_URL", "https://dichvucong.baohiemxahoi.gov.vn", _http_url
        ).rstrip("/"),
        app_credential=env.optional_secret("GATEWAY_APP_CREDENTIAL"),
        default_carrier=env.get("GATEWAY_DEFAULT_CARRIER", "", str).lower() or None,
        first_password_email_from=env.get(
            "GATEWAY_FIRST_PASSWORD_EMAIL_FROM", "2021-10-22", dt.date.fromisoformat
        ),
        first_password_ttl=env.get("GATEWAY_FIRST_PASSWORD_TTL", "24h", _temp_password_ttl),
        otp_ttl=env.get("GATEWAY_OTP_TTL", "10m", _duration),
        otp_max_failures=env.get("GATEWAY_OTP_MAX_FAILURES", "5", _positive_int),
        otp_lockout=env.get("GATEWAY_OTP_LOCKOUT", "1h", _duration),
        otp_emails_per_account=env.get("GATEWAY_LIMIT_OTP_EMAILS_PER_ACCOUNT", "3", _positive_int),
        otp_window=env.get("GATEWAY_LIMIT_OTP_WINDOW", "1h", _duration),
        captcha_ttl=env.get("GATEWAY_CAPTCHA_TTL", "5m", _duration),
        captcha_length=env.get("GATEWAY_CAPTCHA_LENGTH", "5", _captcha_length),
        console_secure_cookies=env.get("GATEWAY_CONSOLE_SECURE_COOKIES", "true", _bool),
        console_idle_timeout=env.get("GATEWAY_CONSOLE_IDLE_TIMEOUT", "30m", _duration),
        console_session_lifetime=env.get("GATEWAY_CONSOLE_SESSION_LIFETIME", "12h", _duration),
        console_enrol_ttl=env.get("GATEWAY_CONSOLE_ENROL_TTL", "24h", _duration),
        ratelimit_enabled=env.get("GATEWAY_RATELIMIT_ENABLED", "true", _bool),
        ratelimit_storage=env.get("GATEWAY_RATELIMIT_STORAGE", "", _limits_storage),
        ratelimit_login=env.get("GATEWAY_RATELIMIT_LOGIN", "10/minute;100/hour", _limits),
        ratelimit_recovery=env.get("GATEWAY_RATELIMIT_RECOVERY", "10/minute;60/hour", _limits),
        hash_concurrency=env.get("GATEWAY_HASH_CONCURRENCY", "0", _hash_concurrency),
        hash_wait=env.get("GATEWAY_HASH_WAIT", "0.2", _positive_float),
        metrics_token=env.optional_secret("GATEWAY_METRICS_TOKEN"),
        retention=env.get("GATEWAY_RETENTION", "90d", _duration),
        portal_secure_cookies=env.get("GATEWAY_PORTAL_SECURE_COOKIES", "true", _bool),
        webauthn=_webauthn(env, public_url),
        sim_swap=_sim_swap(env),
        test_captcha_answers=env.get("GATEWAY_TEST_CAPTCHA_ANSWERS", "false", _bool),
        services=_services(env),
        services_retry_horizon=env.get("GATEWAY_SERVICES_RETRY_HORIZON", "10m", _duration),
        services_trip_after=env.get("GATEWAY_SERVICES_TRIP_AFTER", "5", _positive_int),
        shortcode_aliases=env.get("GATEWAY_SHORTCODE_ALIASES", "8179", _shortcodes),
    )
    if settings.default_carrier is not None and settings.default_carrier not in settings.carriers:
        raise ConfigError(
            f"GATEWAY_DEFAULT_CARRIER={settings.default_carrier!r} is not in GATEWAY_CARRIERS"
        )
    slowest = max(
        [
            settings.smtp.timeout,
            *(c.timeout for c in settings.carriers.values()),
            *(s.timeout for s in settings.services.values()),
        ]
    )
    if slowest >= settings.worker_lease.total_seconds():
        # A send (or a forward) that outlasts its lease could be taken over and sent twice.
        raise ConfigError(
            f"GATEWAY_WORKER_LEASE ({settings.worker_lease.total_seconds():g} s) must be longer "
            "than every CARRIER_<NAME>_TIMEOUT, SERVICE_<NAME>_TIMEOUT and GATEWAY_SMTP_TIMEOUT "
            f"({slowest:g} s)"
        )
    if settings.test_captcha_answers and (
        settings.portal_secure_cookies or not _loopback_url(settings.public_url)
    ):
        # A side channel for the browser tests: it must never reach anything but a test run.
        raise ConfigError(
            "GATEWAY_TEST_CAPTCHA_ANSWERS is for tests only: it needs GATEWAY_PUBLIC_URL on "
            "127.0.0.1, ::1 or localhost and GATEWAY_PORTAL_SECURE_COOKIES=false"
        )
    if not (settings.accept_bhxh or settings.accept_personal_id):
        raise ConfigError(
            "GATEWAY_ACCEPT_BHXH and GATEWAY_ACCEPT_PERSONAL_ID are both false: "
            "no identifier could ever be recovered"
        )
    check_metrics_private(settings.bind, settings.metrics_token, "GATEWAY_BIND")
    return settings


def check_metrics_private(bind: str, metrics_token: str | None, source: str) -> None:
    """Refuse to listen beyond this machine while /metrics has no token (``source`` names
    where ``bind`` came from: GATEWAY_BIND, --bind, gunicorn's bind)."""
    if metrics_token is None and not loopback_bind(bind):
        raise ConfigError(
            f"{source}={bind} is reachable from other machines, so /metrics needs "
            "GATEWAY_METRICS_TOKEN (at least 16 characters, e.g. `openssl rand -hex 32`); "
            "or listen on 127.0.0.1"
        )


def loopback_bind(bind: str) -> bool:
    """Tell whether a gunicorn bind (host:port, [v6]:port, unix:path, fd://n) listens only on
    this machine: a loopback address, localhost, or a Unix socket (which only a local proxy
    reaches; /metrics then answers only loopback peers, see gateway/ops/health.py)."""
    if bind.startswith("unix:"):
        return True
    if bind.startswith("fd://"):
        return False  # a socket handed over by systemd, on an address we cannot see
    if bind.startswith("["):
        host = bind[1 : bind.find("]")]
    elif bind.count(":") == 1:
        host = bind.partition(":")[0]  # ":8000" is every interface, as gunicorn reads it
    else:
        host = bind  # no port (gunicorn's 8000), or a bare IPv6 address
    return _loopback_host(host.lower())


def _carriers(env: _Reader) -> dict[str, CarrierSettings]:
    names = [n.strip().lower() for n in env.get("GATEWAY_CARRIERS", "").split(",") if n.strip()]
    carriers = {}
    for name in names:
        if not CARRIER_NAME.match(name) or name == EMAIL_CARRIER:
            raise ConfigError(f"GATEWAY_CARRIERS: {name!r} is not a valid carrier name")
        prefix = f"CARRIER_{name.upper()}_"
        carrier = CarrierSettings(
            name=name,
            secret=env.secret(prefix + "SECRET"),
            mt_url=env.get(prefix + "MT_URL", None, _http_url),
            kind=env.get(prefix + "KIND", "json", _carrier_kind),
            timeout=env.get(prefix + "TIMEOUT", "10", _positive_float),
            allow_ips=env.get(prefix + "ALLOW_IPS", "", _networks),
            mt_username=env.get(prefix + "MT_USERNAME", "", str) or None,
            mt_password=env.get(prefix + "MT_PASSWORD", "", str) or None,
            smsc=env.get(prefix + "SMSC", "", str) or None,
            max_connections=env.get(prefix + "MAX_CONNECTIONS", "8", _connections),
            max_per_second=env.get(prefix + "MAX_PER_SECOND", "0", _non_negative_float),
            sim_swap=_sim_swap_api(env, prefix),
        )
        kind = CARRIER_KINDS[carrier.kind]  # its flags: gateway/carriers/kinds.py
        if kind.mt_credentials and not (carrier.mt_username and carrier.mt_password):
            raise ConfigError(
                f"{prefix}MT_USERNAME and {prefix}MT_PASSWORD are required for kind {carrier.kind}"
            )
        if kind.url_token and not carrier.allow_ips:
            raise ConfigError(
                f"{prefix}ALLOW_IPS is required for kind {carrier.kind}: its token travels in "
                f"the URL, so list the carrier's addresses (CIDRs), or '{ANY_ADDRESS}' (unsafe)"
            )
        carriers[name] = carrier
    return carriers


def _services(env: _Reader) -> dict[str, ServiceSettings]:
    names = [n.strip().lower() for n in env.get("GATEWAY_SERVICES", "").split(",") if n.strip()]
    services: dict[str, ServiceSettings] = {}
    taken = dict.fromkeys(RECOVERY_KEYWORDS, RECOVERY_SERVICE)
    for name in names:
        if not CARRIER_NAME.match(name) or name == RECOVERY_SERVICE or name in services:
            raise ConfigError(f"GATEWAY_SERVICES: {name!r} is not a valid, unique service name")
        head = f"SERVICE_{name.upper()}_"
        keywords = env.get(head + "KEYWORDS", None, _keywords)
        for keyword in keywords:
            for other, owner in taken.items():
                if overlaps(keyword, other):
                    raise ConfigError(f"{head}KEYWORDS: {keyword!r} overlaps {owner}'s {other!r}")
            taken[keyword] = name
        services[name] = ServiceSettings(
            name=name,
            keywords=keywords,
            url=env.get(head + "URL", None, _https_url),
            secret=_webhook_secret(head + "SECRET", env.get(head + "SECRET", None)),
            argument=env.get(head + "ARGUMENT", "bhxh", _argument_kind),
            timeout=env.get(head + "TIMEOUT", "5", _positive_float),
            tariffs_file=env.get(head + "TARIFF", "", _optional_path),
        )
    return services


def _keywords(raw: str) -> tuple[str, ...]:
    keywords = tuple(normalise_keyword(k) for k in raw.split(",") if k.strip())
    if not keywords or not all(valid_keyword(k) for k in keywords):
        raise ValueError("expected keywords of Latin letters, comma-separated, e.g. BH QT,BHXH QT")
    return keywords


def _webhook_secret(name: str, raw: str) -> str:
    """Check a Standard Webhooks secret without ever repeating it in the error."""
    try:
        key = base64.b64decode(raw.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except ValueError:
        key = b""
    if not raw.startswith(WEBHOOK_SECRET_PREFIX) or not 24 <= len(key) <= 64:
        raise ConfigError(
            f"{name} must be {WEBHOOK_SECRET_PREFIX} followed by the base64 of 24 to 64 random "
            "bytes (Standard Webhooks), e.g. `gateway service-stub --new-secret`"
        )
    return raw


def _argument_kind(raw: str) -> ArgumentKind:
    try:
        return ArgumentKind(raw.lower())
    except ValueError:
        raise ValueError("expected bhxh, file_id or text") from None


def _sim_swap(env: _Reader) -> SimSwapSettings:
    on_error = env.get("GATEWAY_SIM_SWAP_ON_ERROR", "open", _sim_swap_on_error)
    return SimSwapSettings(
        max_age_hours=env.get("GATEWAY_SIM_SWAP_MAX_AGE", "240", _sim_swap_max_age),
        fail_closed=on_error == "closed",
        timeout=env.get("GATEWAY_SIM_SWAP_TIMEOUT", "3", _sim_swap_timeout),
        concurrency=env.get("GATEWAY_SIM_SWAP_CONCURRENCY", "8", _connections),
    )


def _sim_swap_api(env: _Reader, prefix: str) -> SimSwapApi | None:
    given = [name for name in SIM_SWAP_VARIABLES if env.is_set(prefix + name)]
    if not given:
        return None
    missing = [name for name in SIM_SWAP_VARIABLES if name not in given]
    if missing:
        raise ConfigError(
            f"{prefix}{missing[0]} is required when {prefix}{given[0]} is set "
            f"(the SIM swap check needs all of {', '.join(SIM_SWAP_VARIABLES)})"
        )
    return SimSwapApi(
        url=env.get(prefix + "SIM_SWAP_URL", None, _https_url).rstrip("/"),
        token_url=env.get(prefix + "SIM_SWAP_TOKEN_URL", None, _https_url),
        client_id=env.get(prefix + "SIM_SWAP_CLIENT_ID", None),
        client_secret=env.get(prefix + "SIM_SWAP_CLIENT_SECRET", None),
        scope=env.get(prefix + "SIM_SWAP_SCOPE", "sim-swap:check"),
    )


def _webauthn(env: _Reader, public_url: str) -> WebAuthnSettings:
    public = urllib.parse.urlsplit(public_url)
    host = (public.hostname or "").lower()
    # The public URL serves as RP ID and origin when a browser would take it: a domain, on
    # https or on http://localhost. Otherwise passkeys stay off unless both are set.
    usable = not _is_ip(host) and (public.scheme == "https" or host == "localhost")
    rp_id = env.get("GATEWAY_WEBAUTHN_RP_ID", "", _rp_id) or (host if usable else None)
    default_origin = _web_origin(f"{public.scheme}://{public.netloc}") if usable else ""
    origins = env.get("GATEWAY_WEBAUTHN_ORIGINS", default_origin, _origins)
    if rp_id is None and origins:
        raise ConfigError("GATEWAY_WEBAUTHN_ORIGINS is set: set GATEWAY_WEBAUTHN_RP_ID too")
    if rp_id is not None and not origins:
        raise ConfigError(
            f"GATEWAY_WEBAUTHN_RP_ID={rp_id}: set GATEWAY_WEBAUTHN_ORIGINS too "
            "(GATEWAY_PUBLIC_URL is not an https URL on that domain)"
        )
    for origin in origins:
        web_host = urllib.parse.urlsplit(origin).hostname
        if rp_id and web_host and not (web_host == rp_id or web_host.endswith("." + rp_id)):
            raise ConfigError(
                f"GATEWAY_WEBAUTHN_ORIGINS: {origin} is not on GATEWAY_WEBAUTHN_RP_ID={rp_id} "
                "or a subdomain of it (browsers refuse such passkeys)"
            )
    return WebAuthnSettings(
        rp_id=rp_id,
        rp_name=env.get("GATEWAY_WEBAUTHN_RP_NAME", "VssID - Bảo hiểm xã hội số"),
        origins=origins,
    )


def _smtp(env: _Reader) -> SmtpSettings:
    security = env.get("GATEWAY_SMTP_SECURITY", "starttls", _smtp_security)
    port = env.get("GATEWAY_SMTP_PORT", "0", _non_negative_int)  # 0: the security's usual port
    user = env.get("GATEWAY_SMTP_USER", "", str) or None
    password = env.get("GATEWAY_SMTP_PASSWORD", "", str) or None
    if bool(user) != bool(password):
        raise ConfigError("GATEWAY_SMTP_USER and GATEWAY_SMTP_PASSWORD go together")
    return SmtpSettings(
        host=env.get("GATEWAY_SMTP_HOST", "localhost"),
        port=port or SMTP_SECURITY_PORTS[security],
        security=security,
        user=user,
        password=password,
        sender=env.get("GATEWAY_SMTP_FROM", "BHXH Việt Nam <no-reply@localhost>", _mail_from),
        timeout=env.get("GATEWAY_SMTP_TIMEOUT", "10", _positive_float),
        dkim=_dkim(env),
    )


def _dkim(env: _Reader) -> DkimKey | None:
    key_file = env.get("GATEWAY_DKIM_KEY_FILE", "", _optional_path)
    selector = env.get("GATEWAY_DKIM_SELECTOR", "", str)
    if key_file is None:
        if selector:
            raise ConfigError("GATEWAY_DKIM_SELECTOR is set but GATEWAY_DKIM_KEY_FILE is not")
        return None
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", selector):
        raise ConfigError("GATEWAY_DKIM_SELECTOR must be set with the key, e.g. gw2026")
    try:
        key = key_file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"GATEWAY_DKIM_KEY_FILE={key_file}: {exc.strerror}") from exc
    if b"PRIVATE KEY-----" not in key:
        raise ConfigError(f"GATEWAY_DKIM_KEY_FILE={key_file}: not a PEM private key")
    return DkimKey(selector, key)


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str, default: str | None, coerce: Callable[[str], T] = str) -> T:  # type: ignore[assignment]
        raw = self._environ.get(name, "").strip() or default
        if raw is None:
            raise ConfigError(f"{name} is required")
        try:
            return coerce(raw)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{name}={raw!r}: {exc}") from exc

    def secret(self, name: str) -> str:
        value = self.get(name, None)
        if len(value) < 16:
            raise ConfigError(f"{name} must be at least 16 characters")
        return value

    def optional_secret(self, name: str) -> str | None:
        return self.secret(name) if self.is_set(name) else None

    def is_set(self, name: str) -> bool:
        return bool(self._environ.get(name, "").strip())


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _digits(raw: str) -> str:
    if not raw.isdigit():
        raise ValueError("expected digits only")
    return raw


def _shortcodes(raw: str) -> tuple[str, ...]:
    if raw.lower() == "none":
        return ()
    return tuple(_digits(code.strip()) for code in raw.split(",") if code.strip())


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be positive")
    return value


def _connections(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= MAX_CONNECTIONS:
        raise ValueError(f"must be 1 to {MAX_CONNECTIONS}")
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if value < 0 or value != value or value == float("inf"):
        raise ValueError("must be a number, 0 or more")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("must be positive")
    return value


def parse_duration(raw: str) -> dt.timedelta:
    """Read a duration such as 300, 90s, 15m, 24h or 7d; raise ValueError otherwise."""
    return _duration(raw)


def _duration(raw: str) -> dt.timedelta:
    match = _DURATION.match(raw)
    if not match:
        raise ValueError("expected a duration such as 300, 90s, 15m, 24h or 7d")
    return dt.timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def _temp_password_ttl(raw: str) -> dt.timedelta:
    ttl = _duration(raw)
    # A temporary password read on a lock screen must not stay useful for long (issue 10).
    if not dt.timedelta(0) < ttl <= dt.timedelta(hours=24):
        raise ValueError("must be more than 0 and at most 24h (15m recommended)")
    return ttl


def _failure_cap(raw: str) -> int:
    value = int(raw)
    # NIST SP 800-63B 5.2.2: no more than 100 consecutive failed attempts on one account.
    if not 1 <= value <= 100:
        raise ValueError("expected 1 to 100")
    return value


def _min_password_length(raw: str) -> int:
    value = int(raw)
    # NIST SP 800-63B 5.1.1.2: at least 8; the policy accepts at least 64, so the floor must fit.
    if not 8 <= value <= 64:
        raise ValueError("expected 8 to 64 (12 or more recommended)")
    return value


def _http_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return raw


def _loopback_url(url: str) -> bool:
    return _loopback_host(urllib.parse.urlsplit(url).hostname or "")


def _loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _rp_id(raw: str) -> str:
    host = raw.strip().lower()
    if not host:
        return ""
    if _is_ip(host):
        raise ValueError("browsers refuse an IP address as RP ID: use a domain, e.g. localhost")
    if not _DOMAIN.fullmatch(host):
        raise ValueError("expected a domain name, without scheme, port or path")
    return host


def _origins(raw: str) -> tuple[str, ...]:
    origins = []
    for origin in (o.strip() for o in raw.split(",") if o.strip()):
        if origin.startswith("android:apk-key-hash:"):
            if not _APK_KEY_HASH.fullmatch(origin.removeprefix("android:apk-key-hash:")):
                raise ValueError(f"{origin}: expected android:apk-key-hash:<base64url SHA-256>")
            origins.append(origin)
        else:
            origins.append(_web_origin(origin))
    return tuple(origins)


def _web_origin(raw: str) -> str:
    """Return an origin as browsers serialise it (py_webauthn compares it as a string):
    scheme://host[:port], lower case, without the scheme's default port."""
    parts = urllib.parse.urlsplit(raw)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{raw}: not a valid port") from None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ValueError(f"{raw}: expected https://host[:port] or android:apk-key-hash:...")
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if scheme == "http" and host != "localhost":
        raise ValueError(f"{raw}: passkeys need https (plain http only on localhost)")
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def _https_url(raw: str) -> str:
    url = _http_url(raw)
    # Secrets and phone numbers travel there (a SIM swap API, a keyword service): plain http
    # only on this machine.
    if not url.startswith("https://") and not _loopback_url(url):
        raise ValueError("expected an https:// URL (http:// only on 127.0.0.1, ::1 or localhost)")
    return url


def _sim_swap_max_age(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= SIM_SWAP_MAX_AGE_HOURS:
        raise ValueError(f"expected 1 to {SIM_SWAP_MAX_AGE_HOURS} hours (CAMARA's maxAge range)")
    return value


def _sim_swap_on_error(raw: str) -> str:
    if raw.lower() not in SIM_SWAP_ON_ERROR:
        raise ValueError("expected open (let the reset through) or closed (refuse it)")
    return raw.lower()


def _sim_swap_timeout(raw: str) -> float:
    value = float(raw)
    # The batch's transaction stays open while it waits: a few seconds, not a lease's worth.
    if not 0 < value <= SIM_SWAP_MAX_TIMEOUT:
        raise ValueError(f"expected more than 0 and at most {SIM_SWAP_MAX_TIMEOUT:g} seconds")
    return value


def _carrier_kind(raw: str) -> str:
    if raw not in CARRIER_KINDS:
        raise ValueError(f"expected one of {', '.join(CARRIER_KINDS)}")
    return raw


def _networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    if raw.strip().lower() == ANY_ADDRESS:
        return (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
    return tuple(ipaddress.ip_network(part.strip()) for part in raw.split(",") if part.strip())


def _optional_path(raw: str) -> Path | None:
    return Path(raw) if raw else None


def _log_format(raw: str) -> str:
    if raw not in ("plain", "json"):
        raise ValueError("expected plain or json")
    return raw


def _smtp_security(raw: str) -> str:
    if raw.lower() not in SMTP_SECURITY_PORTS:
        raise ValueError(f"expected one of {', '.join(SMTP_SECURITY_PORTS)}")
    return raw.lower()


def _mail_from(raw: str) -> str:
    address = parseaddr(raw)[1]
    if "@" not in address or "\n" in raw or "\r" in raw:
        raise ValueError("expected an address such as 'BHXH Việt Nam <no-reply@example.vn>'")
    return raw


def _limits(raw: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(raw))  # "10/minute;100/hour"; raises ValueError when malformed


def _limits_storage(raw: str) -> str:
    if raw and not raw.startswith(("redis://", "rediss://", "redis+unix://", "memory://")):
        raise ValueError("expected empty (the database), redis://host:port/db or memory://")
    return raw


def _hash_concurrency(raw: str) -> int:
    # 0: leave one CPU for the webhook and the rest of the web app.
    return _non_negative_int(raw) or max(1, (os.cpu_count() or 1) - 1)


def _captcha_length(raw: str) -> int:
    value = int(raw)
    if not 4 <= value <= 8:
        raise ValueError("expected 4 to 8 characters")
    return value
