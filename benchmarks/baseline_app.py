"""The bare Flask baselines for ``message_path.py``, served under the gateway's gunicorn settings.

``ok_app`` answers "ok" and does nothing else: the ceiling of Flask under gunicorn here.
``insert_app`` adds what any durable intake must do: one row inserted into SQLite and committed,
with the same pragmas as the gateway (WAL, ``synchronous=NORMAL``, a busy timeout), so the
difference between it and the gateway is the gateway's own work. With ``BENCH_WAKEUP_SOCKET``
set, it also sends a datagram there after each commit, to wake ``bare_poller.py``: with it,
the bare pipeline that the gateway's MO → reply path is compared with.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading

from flask import Flask, request

ok_app = Flask("ok")
insert_app = Flask("insert")
_local = threading.local()
_wake = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
_wake.setblocking(False)


@ok_app.route("/", methods=["GET", "POST"])
def ok() -> str:
    """Answer and do nothing."""
    return "ok"


@insert_app.route("/", methods=["GET", "POST"])
def insert() -> str:
    """Store the request body as one row and commit."""
    connection = _connection()
    with connection:
        connection.execute("INSERT INTO intake (body) VALUES (?)", (request.get_data(),))
    if path := os.environ.get("BENCH_WAKEUP_SOCKET"):
        with contextlib.suppress(OSError):  # no poller yet, or its queue full: it polls
            _wake.sendto(b"i", path)
    return "ok"


def _connection() -> sqlite3.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = sqlite3.connect(os.environ["BENCH_SQLITE_PATH"], timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS intake (id INTEGER PRIMARY KEY, body BLOB NOT NULL)"
        )
        _local.connection = connection
    return connection
