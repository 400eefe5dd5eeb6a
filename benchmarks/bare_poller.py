"""The bare pipeline's worker for ``message_path.py``: the floor of "store, then reply".

It selects what ``baseline_app.insert_app`` stored, a batch at a time, and POSTs one reply per
row to the stand-in carrier with one ``requests.Session``; when nothing is new it waits for the
app's datagram (sent after each commit, as the gateway's web workers do) or half a second.

    BENCH_SQLITE_PATH=… BENCH_WAKEUP_SOCKET=… python benchmarks/bare_poller.py CARRIER_URL
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import sys

import requests


def main(carrier_url: str) -> None:
    """Reply to every stored row, oldest first, until killed."""
    database = sqlite3.connect(os.environ["BENCH_SQLITE_PATH"], timeout=30, isolation_level=None)
    database.execute("PRAGMA journal_mode=WAL")
    wake = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    wake.bind(os.environ["BENCH_WAKEUP_SOCKET"])
    wake.settimeout(0.5)
    http = requests.Session()
    last = database.execute("SELECT coalesce(max(id), 0) FROM intake").fetchone()[0]
    while True:
        rows = database.execute(
            "SELECT id, body FROM intake WHERE id > ? ORDER BY id LIMIT 100", (last,)
        ).fetchall()
        for row_id, body in rows:
            last = row_id
            reply = {"in_reply_to": json.loads(body)["id"], "text": "ok"}
            http.post(carrier_url, json=reply, timeout=10).raise_for_status()
        if not rows:
            with contextlib.suppress(TimeoutError):
                wake.recv(64)


if __name__ == "__main__":
    main(sys.argv[1])
