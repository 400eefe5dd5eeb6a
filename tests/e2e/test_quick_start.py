"""The README's quick start as a newcomer runs it: real processes, the real commands.

gateway serve --with-worker   (banner: URL, database, what to try next)
gateway simulate ...          (the reply to *this* message; "no reply" when silenced)
gateway mail-sink             (prints the email decoded, Vietnamese and code readable)
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select

from gateway.models import OutboxMessage
from gateway.states import OutboxStatus
from tests.conftest import SECRET_KEY
from tests.e2e.support import PROJECT_ROOT, free_port, process, run_cli

pytestmark = pytest.mark.e2e

APP_CREDENTIAL = "quick-start-app-credential-0123"


def environ(workdir: Path, web_port: int, mt_port: int, smtp_port: int) -> dict[str, str]:
    env = {name: os.environ[name] for name in ("PATH", "LANG", "TMPDIR") if name in os.environ}
    env.update(
        {
            "PYTHONPATH": str(PROJECT_ROOT),
            "PYTHONUNBUFFERED": "1",
            "XDG_RUNTIME_DIR": str(workdir),
            "DATABASE_URL": f"sqlite:///{workdir / 'gateway.db'}",
            "GATEWAY_INSTANCE_DIR": str(workdir / "instance"),
            "GATEWAY_SECRET_KEY": SECRET_KEY,
            "GATEWAY_APP_CREDENTIAL": APP_CREDENTIAL,
            "GATEWAY_BIND": f"127.0.0.1:{web_port}",
            "GATEWAY_WEB_WORKERS": "1",
            "GATEWAY_CARRIERS": "demo",
            "CARRIER_DEMO_SECRET": "demo-secret-0123456789abcdef",
            "CARRIER_DEMO_MT_URL": f"http://127.0.0.1:{mt_port}/mt",
            "GATEWAY_WORKER_POLL_INTERVAL": "0.2",
            "GATEWAY_LIMIT_MESSAGES_PER_PHONE": "1",  # answered, then one notice, then silence
            "GATEWAY_SMTP_HOST": "127.0.0.1",
            "GATEWAY_SMTP_PORT": str(smtp_port),
            "GATEWAY_SMTP_SECURITY": "none",
        }
    )
    return env


def wait_for(log: Path, pattern: str, server: subprocess.Popen[bytes], seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if re.search(pattern, text):
            return text
        if server.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"{pattern!r} never appeared:\n{log.read_text(errors='replace')[-4000:]}")


def simulate(env: dict[str, str], workdir: Path, phone: str, text: str) -> list[str]:
    # No --url: simulate finds the gateway at GATEWAY_BIND, as the README says.
    simulated = ["simulate", "--carrier", "demo", "--from", phone, "--wait", "20", text]
    return run_cli(env, workdir, *simulated).splitlines()


def test_the_quick_start_works_as_the_readme_says(tmp_path: Path) -> None:
    web_port, mt_port, smtp_port = free_port(), free_port(), free_port()
    env = environ(tmp_path, web_port, mt_port, smtp_port)
    run_cli(env, tmp_path, "init-db")
    run_cli(env, tmp_path, "accounts", "import", str(PROJECT_ROOT / "docs/demo-accounts.csv"))

    with (
        process("serve", ["serve", "--with-worker"], env, tmp_path) as (server, server_log),
        process("mail-sink", ["mail-sink"], env, tmp_path) as (sink, sink_log),
    ):
        banner = wait_for(server_log, r"next, in another terminal", server)
        wait_for(sink_log, r"mail sink listening", sink)

        reset = simulate(env, tmp_path, "0912345678", "BH MK 0123456789")
        notice = simulate(env, tmp_path, "0912345678", "BH MK 0123456789")
        silence_started = time.monotonic()
        silent = simulate(env, tmp_path, "0912345678", "BH MK 0123456789")
        silence_took = time.monotonic() - silence_started

        answer = requests.post(
            f"http://127.0.0.1:{web_port}/api/v1/recovery/email",
            json={"bhxh": "0123456789", "email": "nguyen.van.a@example.vn"},
            headers={"X-App-Credential": APP_CREDENTIAL},
            timeout=10,
        )
        mail = wait_for(sink_log, r"là: \d{6}\n", sink)

    assert f"8079 gateway ready at http://127.0.0.1:{web_port}" in banner
    assert f"database:          sqlite:///{tmp_path / 'gateway.db'}" in banner
    assert "background worker: running" in banner
    assert "changes to .env take effect after a restart" in banner

    assert reset[0] == "0912345678 > BH MK 0123456789"
    assert reset[1].startswith("84912345678 < Cap lai mat khau thanh cong. Tai khoan: 0123456789/")
    assert notice[1].startswith("84912345678 < Ban da yeu cau cap lai mat khau qua nhieu lan.")
    assert silent[1:] == [
        "   no reply (rate limited / silenced: one notice per window, then silence)"
    ]
    assert silence_took < 15  # told at once, not after the 20 s wait

    assert answer.status_code == 202
    assert "To: nguyen.van.a@example.vn" in mail
    assert "=C3" not in mail and "=E1" not in mail  # quoted-printable decoded
    assert re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", mail)

    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as connection:
        statuses = connection.scalars(
            select(OutboxMessage.status).where(OutboxMessage.carrier == "demo")
        ).all()
    engine.dispose()
    assert statuses == [OutboxStatus.SENT, OutboxStatus.SENT]  # no simulated reply failed
