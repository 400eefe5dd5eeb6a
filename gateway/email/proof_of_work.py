"""ALTCHA proof-of-work for the web portal's "forgot password": no puzzle for the person.

The browser's widget (``portal/static/altcha/``) spends about a second of CPU finding a counter
whose PBKDF2 key starts with a prefix; nobody reads or types anything (WCAG 2.2 SC 3.3.8,
Accessible Authentication). The ``altcha`` library creates and verifies the challenges. They
are signed with a key derived from GATEWAY_SECRET_KEY, so a page view stores nothing; a solved
challenge is recorded as a used row of the ``captchas`` table (keyed by its signature's hash)
until it expires, so one solution cannot be posted twice. The expiry is ours, read from the
gateway's clock and signed into the challenge's data: the library's own check reads the
machine's clock, which the tests' fake clock does not move.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import altcha
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.accounts.passwords import keyed_hash
from gateway.models import Captcha
from gateway.settings import Settings

ALGORITHM = "PBKDF2/SHA-256"  # WebCrypto has it in every browser the portal supports
# Iterations per try; with the default one-byte prefix about 256 tries: ~1 s in a phone's
# browser, a few hundred ms in CPython.
COST = 5_000
PAYLOAD_LIMIT = 4096  # characters: a real payload is about 700
SPENT = "altcha"  # answer_hash of a spent proof-of-work row (no answer is stored)


def new_challenge(*, settings: Settings, now: dt.datetime) -> dict[str, object]:
    """Return a fresh signed challenge, as the widget reads it (JSON-ready)."""
    expires = int((now + settings.captcha_ttl).timestamp())
    challenge = altcha.create_challenge(
        algorithm=ALGORITHM, cost=COST, data={"expires": expires}, hmac_secret=_secret(settings)
    )
    return challenge.to_dict()


def spend_solution(session: Session, payload: str, *, settings: Settings, now: dt.datetime) -> bool:
    """Check a solved challenge and use it up; return whether it was valid, live and unused.

    The caller commits (a spent challenge must stay spent).
    """
    if not payload or len(payload) > PAYLOAD_LIMIT:
        return False
    try:
        parsed = altcha.Payload.from_base64(payload)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return False
    if not altcha.verify_solution(parsed, _secret(settings)).verified:
        return False
    data = parsed.challenge.parameters.data  # signed with the rest: not the client's to change
    expires = data.get("expires") if isinstance(data, dict) else None
    if not isinstance(expires, int) or expires <= now.timestamp():
        return False
    signature = str(parsed.challenge.signature)
    # Forget long-expired rows as new ones come, as the image captcha does.
    session.execute(delete(Captcha).where(Captcha.expires_at < now - dt.timedelta(hours=1)))
    try:
        with session.begin_nested():
            session.add(
                Captcha(
                    id=hashlib.sha256(signature.encode()).hexdigest()[:32],
                    answer_hash=SPENT,
                    created_at=now,
                    expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
                    used_at=now,
                )
            )
    except IntegrityError:  # this very solution was posted before
        return False
    return True


def _secret(settings: Settings) -> str:
    return keyed_hash(settings.secret_key, "altcha challenge")
