"""Exceptions of the staff console.

ConsoleError
 └── SignInRefused   a sign-in that failed or must wait; the message is safe to show

Bad form input is the gateway's InvalidPayload, shown as a 400 page by the console's handler.
"""

from __future__ import annotations


class ConsoleError(Exception):
    """Base class of the console's own errors."""


class SignInRefused(ConsoleError):
    """A sign-in that did not succeed; the message names no cause (which factor was wrong)."""
