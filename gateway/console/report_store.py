"""Reconciliation reports kept for a short while, so the result page can offer the download.

The carrier's file is read once, on upload; the rendered report (phones masked) is kept in a
private folder under the system's temporary directory, named by a random token and readable
only by the member whose session stored it, for ``KEPT_FOR``. Nothing else is kept: not the
carrier's file, not an unmasked phone. One host only: behind a load balancer without sticky
sessions the download may land on another host and say the report has expired.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

KEPT_FOR = dt.timedelta(minutes=30)
_TOKEN_BYTES = 18
_TOKEN = re.compile(r"[A-Za-z0-9_-]{24}")


def _folder() -> Path:
    """Return the private folder (created 0700, and refused if someone else owns it)."""
    folder = Path(tempfile.gettempdir()) / f"gateway-console-reports-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    status = folder.lstat()
    if folder.is_symlink() or status.st_uid != os.getuid() or status.st_mode & 0o077:
        raise PermissionError(f"{folder} is not a private folder of this user")
    return folder


def keep(text: str, name: str, owner: str, now: dt.datetime) -> str:
    """Keep a report for ``owner`` (the member and session) and return its token."""
    folder = _folder()
    _forget_old(folder)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    record = {"owner": owner, "name": name, "until": (now + KEPT_FOR).timestamp(), "text": text}
    path = folder / f"{token}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump(record, stream, ensure_ascii=False)
    return token


def take(token: str, owner: str, now: dt.datetime) -> tuple[str, str] | None:
    """Return the file name and text kept under ``token`` for ``owner``; None if gone or theirs."""
    if not _TOKEN.fullmatch(token):
        return None
    path = _folder() / f"{token}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("owner") != owner or record.get("until", 0) < now.timestamp():
        return None
    return str(record["name"]), str(record["text"])


def _forget_old(folder: Path) -> None:
    """Remove the reports past their time (by the files' own age: the wall clock, not ours)."""
    oldest = time.time() - KEPT_FOR.total_seconds()
    for path in folder.glob("*.json"):
        try:
            if path.stat().st_mtime < oldest:
                path.unlink()
        except OSError:
            continue
