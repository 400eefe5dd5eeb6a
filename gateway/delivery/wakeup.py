"""Wake-ups: tell the worker there is work now, so that it need not wait for its next poll.

Whoever commits work for the worker announces it on a topic (a received message: INBOUND; an
outbox row: OUTBOX); the worker's loops wait for their topic or the poll interval, whichever
comes first. An announcement is only a hint: a lost one costs one poll interval, never a
message, and the poll stays the fallback.

- PostgreSQL: ``NOTIFY`` in the committing transaction (delivered at commit, dropped with a
  rollback); each worker process ``LISTEN``s on a connection of its own.
- SQLite: one datagram, after the commit, to a Unix socket beside the database file
  (``<database>.wakeup``, in the instance folder by default). One worker process at a time
  owns it, under a lock on ``<database>.wakeup.lock`` that the kernel drops with the process,
  so a SIGKILLed owner's socket is taken over by the next worker that looks; the others poll.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import socket
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
INBOUND = "gateway_inbound"  # something was received: an SMS, an email recovery request
OUTBOX = "gateway_outbox"  # a reply, notice or email waits to be sent
TOPICS = (INBOUND, OUTBOX)
TAKE_OVER_SECONDS = 5.0  # how often a worker without the socket tries to take it over
CHECK_STOP_SECONDS = 1.0  # the longest a listener takes to notice it should stop
MAX_RETRY_SECONDS = 60.0
_UNIX_PATH_MAX = 107  # sun_path holds 108 bytes with the final NUL
_NOTIFY = text("SELECT pg_notify(:topic, '')")
_PENDING = "wakeup_topics"  # Session.info keys: topics flushed, and already notified
_NOTIFIED = "wakeup_notified"
_sender_lock = threading.Lock()
_sender: socket.socket | None = None


def announce(connection: Connection, topic: str) -> None:
    """Announce work inside the open transaction: on PostgreSQL a NOTIFY, sent at commit."""
    if connection.dialect.name == "postgresql":
        connection.execute(_NOTIFY, {"topic": topic})


def poke(engine: Engine, topic: str) -> None:
    """Announce committed work to the worker on this machine (SQLite; nothing otherwise)."""
    path = socket_path(engine)
    if path is None:
        return
    # No worker listening, or its queue full (then it is awake): the poll covers it.
    with contextlib.suppress(OSError):
        _socket().sendto(topic.encode(), path)


def socket_path(engine: Engine) -> str | None:
    """Return the wake-up socket of an SQLite database file, or None (no file, path too long)."""
    return _path_of(engine.url.get_backend_name(), engine.url.database)


@functools.cache
def _path_of(backend: str, database: str | None) -> str | None:
    if backend != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None  # a URI filename: its options are not a path
    path = str(Path(database).resolve()) + ".wakeup"
    if len(os.fsencode(path)) > _UNIX_PATH_MAX:
        log.warning("no wake-ups: %s is too long for a Unix socket; the worker polls", path)
        return None
    return path


def _socket() -> socket.socket:
    global _sender
    with _sender_lock:
        if _sender is None:
            _sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            _sender.setblocking(False)  # never wait for a busy worker
        return _sender


def watch_sessions(factory: sessionmaker[Session], topics: Mapping[type, str]) -> None:
    """Announce the rows of the mapped classes (class -> topic) that sessions of ``factory``
    add: NOTIFY in their transaction on PostgreSQL, a poke after their commit on SQLite."""

    @event.listens_for(factory, "after_flush")
    def _noted(session: Session, _context: Any) -> None:
        found = {topic for item in session.new if (topic := topics.get(type(item)))}
        if found:
            session.info.setdefault(_PENDING, set()).update(found)

    @event.listens_for(factory, "after_flush_postexec")
    def _notify(session: Session, _context: Any) -> None:
        pending = session.info.get(_PENDING)
        if not pending or session.get_bind().dialect.name != "postgresql":
            return
        notified = session.info.setdefault(_NOTIFIED, set())
        for topic in sorted(pending - notified):
            announce(session.connection(), topic)
            notified.add(topic)

    @event.listens_for(factory, "after_commit")
    def _committed(session: Session) -> None:
        session.info.pop(_NOTIFIED, None)
        for topic in sorted(session.info.pop(_PENDING, ())):
            poke(session.get_bind(), topic)  # type: ignore[arg-type]

    @event.listens_for(factory, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(_PENDING, None)
        session.info.pop(_NOTIFIED, None)


class Listener:
    """Set a loop's event whenever its topic is announced, in a thread of its own, until
    ``stop``. Whenever it (re)starts listening it sets every event: what was announced while
    nobody listened is picked up at once."""

    def __init__(
        self, engine: Engine, events: Mapping[str, threading.Event], stop: threading.Event
    ) -> None:
        self.engine, self.events, self.stop = engine, events, stop
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start listening in a daemon thread (nothing to listen to: do nothing)."""
        if self.engine.dialect.name == "postgresql":
            target = self._listen_postgresql
        elif socket_path(self.engine) is not None:
            target = self._listen_sqlite
        else:
            return
        self._thread = threading.Thread(target=target, name="wakeup", daemon=True)
        self._thread.start()

    def join(self, timeout: float = CHECK_STOP_SECONDS * 2) -> None:
        """Wait (briefly) for the thread to end once ``stop`` is set."""
        path = socket_path(self.engine)
        if path is not None:
            with contextlib.suppress(OSError):
                _socket().sendto(b"", path)  # wakes our recv, if we own the socket
        if self._thread is not None:
            self._thread.join(timeout)

    def _ring(self, topic: str | None = None) -> None:
        for name, ready in self.events.items():
            if topic is None or name == topic:
                ready.set()

    def _listen_sqlite(self) -> None:
        path = socket_path(self.engine)
        assert path is not None
        warned = False
        while not self.stop.is_set():
            try:
                with _owned(path + ".lock") as owner:
                    if owner:
                        self._serve_socket(path)
                        continue
            except OSError as exc:  # a folder we may not write to, say: poll, say so once
                if not warned:
                    log.warning("no wake-ups on %s, the worker polls: %s", path, exc)
                    warned = True
            self.stop.wait(TAKE_OVER_SECONDS)

    def _serve_socket(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # a dead owner's: we hold the lock now
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(path)
            try:
                os.chmod(path, 0o600)
                sock.settimeout(CHECK_STOP_SECONDS)
                log.debug("listening for wake-ups on %s", path)
                self._ring()
                while not self.stop.is_set():
                    try:
                        topic = sock.recv(64).decode(errors="replace")
                    except TimeoutError:
                        continue
                    if topic in self.events:
                        self._ring(topic)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(path)

    def _listen_postgresql(self) -> None:
        import psycopg  # the PostgreSQL driver; only a worker on PostgreSQL loads it

        url = self.engine.url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        failures = 0
        while not self.stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
                    for topic in self.events:
                        conn.execute(f"LISTEN {topic}")  # our constants, not input
                    if failures:
                        log.info("listening for wake-ups again")
                    failures = 0
                    self._ring()
                    while not self.stop.is_set():
                        for note in conn.notifies(timeout=CHECK_STOP_SECONDS):
                            self._ring(note.channel)
            except psycopg.Error as exc:
                failures += 1
                if failures == 1:
                    log.warning("no wake-ups, polling until the database answers: %s", exc)
                self.stop.wait(min(2.0**failures, MAX_RETRY_SECONDS))


@contextlib.contextmanager
def _owned(lock_path: str) -> Any:
    """Hold the wake-up socket's lock for the block, if no other process holds it."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock
