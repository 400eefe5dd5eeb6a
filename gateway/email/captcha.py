"""Captchas for the web portal's "forgot password": single use, expiring, answers kept hashed.

The image comes from the ``captcha`` library (distorted glyphs and noise on Pillow) rather
than code of our own. Answers use the SMS-password alphabet, which has no look-alikes (0/O,
1/I/L), and are compared without regard to case. A challenge is used up by its first answer,
right or wrong, so one image cannot be guessed at twice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from captcha.image import ImageCaptcha
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from gateway.accounts.passwords import keyed_hash, keyed_hash_matches
from gateway.models import Captcha
from gateway.settings import Settings
from parsers import SMS_PASSWORD_ALPHABET

IMAGE_WIDTH, IMAGE_HEIGHT = 160, 60


@dataclass(frozen=True, slots=True)
class Challenge:
    """A new captcha: its id, its PNG image and (for tests and the image only) its answer."""

    id: str
    png: bytes
    answer: str


def create_captcha(
    session: Session, *, settings: Settings, now: dt.datetime, answer: str | None = None
) -> Challenge:
    """Store a new challenge and return it with its image."""
    challenge_id = secrets.token_hex(16)
    if answer is None and settings.test_captcha_answers:
        answer = answer_for_tests(settings, challenge_id)
    answer = answer or "".join(
        secrets.choice(SMS_PASSWORD_ALPHABET) for _ in range(settings.captcha_length)
    )
    # Forget long-expired challenges as new ones come, so the table stays small on its own.
    session.execute(delete(Captcha).where(Captcha.expires_at < now - dt.timedelta(hours=1)))
    session.add(
        Captcha(
            id=challenge_id,
            answer_hash=_hash(settings, challenge_id, answer),
            created_at=now,
            expires_at=now + settings.captcha_ttl,
        )
    )
    image = ImageCaptcha(width=IMAGE_WIDTH, height=IMAGE_HEIGHT).generate(answer, format="png")
    return Challenge(id=challenge_id, png=image.getvalue(), answer=answer)


def solve_captcha(
    session: Session, challenge_id: str, answer: str, *, settings: Settings, now: dt.datetime
) -> bool:
    """Use up a challenge; return whether it was live and ``answer`` is right."""
    used = session.execute(
        update(Captcha)
        .where(Captcha.id == challenge_id, Captcha.used_at.is_(None), Captcha.expires_at > now)
        .values(used_at=now)
        .returning(Captcha.answer_hash)
    ).scalar_one_or_none()
    return used is not None and keyed_hash_matches(
        settings.secret_key, used, _key(challenge_id, answer)
    )


def answer_for_tests(settings: Settings, challenge_id: str) -> str:
    """Return the answer of a test run's challenge (GATEWAY_TEST_CAPTCHA_ANSWERS only).

    Derived from the id, so every gunicorn worker can tell the browser tests the answer of a
    challenge another one drew. Settings refuse the flag outside a loopback test deployment.
    """
    if not settings.test_captcha_answers:
        raise RuntimeError("captcha answers are exposed only to tests")
    digest = bytes.fromhex(keyed_hash(settings.secret_key, f"test captcha|{challenge_id}"))
    alphabet = SMS_PASSWORD_ALPHABET
    return "".join(alphabet[b % len(alphabet)] for b in digest[: settings.captcha_length])


def _key(challenge_id: str, answer: str) -> str:
    return f"captcha|{challenge_id}|{answer.strip().upper()}"


def _hash(settings: Settings, challenge_id: str, answer: str) -> str:
    return keyed_hash(settings.secret_key, _key(challenge_id, answer))
