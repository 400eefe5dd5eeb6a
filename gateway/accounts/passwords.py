"""Password hashing: argon2id for chosen passwords, a keyed hash for temporary ones.

Chosen passwords use argon2id at OWASP's floor (19 MiB, 2 passes, 1 lane), over their NFKC
form. Temporary passwords are 10 random characters from a 31-letter alphabet (~50 bits); a
keyed HMAC is enough for them and keeps the worker fast.

The :class:`Hasher` is a port: the runtime holds one, so a test can put in a hasher that waits
(to prove no lock is held across a hash) or a fast one (for stateful tests).

Each argon2 computation takes a CPU for tens of milliseconds, so a flood of logins could take
every CPU and web worker from the carrier webhook. :data:`HASH_SLOTS` bounds how many run at
once on this machine (a semaphore in the process, lock files across gunicorn's workers); a
request that finds no free slot within a short wait is refused with :class:`Busy` (429).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.accounts.policy import normalise_password
from gateway.errors import Busy

_BUSY = "too many passwords are being checked; try again in a second"


class Hasher(Protocol):
    """What the account use cases need of a password hasher."""

    def hash(self, password: str) -> str:
        """Hash a chosen password."""

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password; ``None`` spends the same time as a real check and fails."""

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether a hash was made with weaker parameters than today's."""


class HashSlots:
    """At most ``count`` argon2 computations at once: per process, and per machine if given
    a folder for its lock files (flock: released by the kernel if the process dies).

    ``admitted`` bounds how many of the process's threads may hold or wait for a slot; the
    next is refused at once. A gunicorn worker with 8 threads then keeps one for requests that
    hash nothing, however many logins its connections bring: the carrier webhook never queues
    for a thread behind logins waiting for a slot.
    """

    def __init__(
        self, count: int, lock_dir: Path | None = None, wait: float = 0.2, admitted: int = 0
    ) -> None:
        self.count, self.wait = count, wait
        self._local = threading.BoundedSemaphore(count)
        self._admitted = threading.BoundedSemaphore(admitted) if admitted else None
        self._lock_dir = lock_dir

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold a slot for the block, or raise Busy when none frees up within the wait."""
        if self._admitted is not None and not self._admitted.acquire(blocking=False):
            raise Busy(_BUSY, retry_after=1)
        try:
            with self._slot():
                yield
        finally:
            if self._admitted is not None:
                self._admitted.release()

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        deadline = time.monotonic() + self.wait
        if not self._local.acquire(timeout=self.wait):
            raise Busy(_BUSY, retry_after=1)
        try:
            fd = self._machine_slot(deadline)
            try:
                yield
            finally:
                if fd is not None:
                    os.close(fd)  # closing the file releases its lock
        finally:
            self._local.release()

    def _machine_slot(self, deadline: float) -> int | None:
        if self._lock_dir is None:
            return None
        self._lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            for index in range(self.count):
                fd = os.open(self._lock_dir / f"argon2-{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                return fd
            if time.monotonic() >= deadline:
                raise Busy(_BUSY, retry_after=1)
            time.sleep(0.005)


# Replaced by configure_hashing() when the app is built; this default bounds only threads.
HASH_SLOTS = HashSlots(count=4)


def configure_hashing(count: int, lock_dir: Path | None, wait: float, threads: int = 1) -> None:
    """Set how many argon2 computations may run at once (GATEWAY_HASH_CONCURRENCY), and
    leave one of the process's ``threads`` (GATEWAY_WEB_THREADS) to requests that hash nothing."""
    global HASH_SLOTS  # one bound per process, set by the app factory
    HASH_SLOTS = HashSlots(count, lock_dir, wait, admitted=max(1, threads - 1))


class Argon2Hasher:
    """argon2id with OWASP's minimum parameters (Password Storage Cheat Sheet), each hash in
    one of the machine's hashing slots."""

    def __init__(self, *, time_cost: int = 2, memory_cost: int = 19 * 1024) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)

    @functools.cached_property
    def _dummy(self) -> str:
        # Verifying against this when an account does not exist keeps the answer time the same;
        # made on first use, so importing this module (every CLI command) costs no hash.
        return self._hasher.hash("not a password of anyone")

    def hash(self, password: str) -> str:
        """Hash a chosen password's NFKC form with argon2id."""
        with HASH_SLOTS.held():
            return self._hasher.hash(normalise_password(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password against its argon2 hash; ``None`` spends the same time and fails."""
        against = password_hash or self._dummy
        with HASH_SLOTS.held():
            try:
                matched = self._hasher.verify(against, normalise_password(password))
            except (VerificationError, InvalidHashError):
                return False
        return matched and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether a hash was made with weaker parameters than today's."""
        return self._hasher.check_needs_rehash(password_hash)


DEFAULT_HASHER = Argon2Hasher()


def hash_password(password: str) -> str:
    """Hash a chosen password with the default argon2id hasher."""
    return DEFAULT_HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password with the default hasher; ``None`` spends the same time and fails."""
    return DEFAULT_HASHER.verify(password_hash, password)


def keyed_hash(secret_key: str, value: str) -> str:
    """Return HMAC-SHA256 of ``value`` under the gateway's secret key, as hex."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def keyed_hash_matches(secret_key: str, stored: str | None, value: str) -> bool:
    """Compare ``value`` to a stored keyed hash in constant time."""
    if stored is None:
        return False
    return hmac.compare_digest(stored, keyed_hash(secret_key, value))
