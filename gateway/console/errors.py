"""Exceptions of the staff console.

ConsoleError
 └── SignInRefused   a sign-in that failed or must wait; one Why for every cause

Bad form input is the gateway's InvalidPayload, shown as a 400 page by the console's handler.
A refusal a member can see carries a :class:`~gateway.errors.Why`; the pages say it in the
words of ``gateway/console/words.py``, never in the English of its message.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.errors import Why


class ConsoleError(Exception):
    """Base class of the console's own errors."""


class SignInRefused(ConsoleError):
    """A sign-in that did not succeed; neither the message nor the code names a cause (which
    factor was wrong, or a wait)."""

    why = Why.STAFF_SIGN_IN_REFUSED
    numbers: Mapping[str, int] = {}
