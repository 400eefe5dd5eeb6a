"""The gateway behind a real Kannel: fakesmsc > bearerbox > smsbox > gateway > sendsms > fakesmsc.

Runs docs/kannel.md's kannel.conf (ports, paths and secrets swapped for free ones) with Debian's
Kannel, the gateway under gunicorn and its worker, all on 127.0.0.1. Skips when Kannel is not
installed, unless REQUIRE_KANNEL=1 (CI installs it with .ci/setup-kannel.sh).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from gateway.models import InboundMessage, OutboxMessage
from gateway.states import DeliveryStatus
from tests.conftest import fresh_database
from tests.e2e.support import command, free_port, process_environ, run_cli, tails, wait_listening

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BEARERBOX = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
SMSBOX = shutil.which("smsbox") or "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
DEADLINE = 30.0  # seconds to wait for a process to listen or a reply to come out
STOP_GRACE = 10.0
TOKEN = "kannel-e2e-token-" + uuid.uuid4().hex[:16]
SENDSMS_PASSWORD = "sendsms-" + uuid.uuid4().hex[:12]
ACCOUNT_PHONE = "0912345678"
RESET_REPLY = re.compile(
    r"Cap lai mat khau thanh cong\. Tai khoan: 0123456789/Mat khau: [A-Z2-9]{10}\."
)
ACCENTED = "Bh mk 0123456789 gửi 8079"

if not (os.path.exists(BEARERBOX) and os.path.exists(FAKESMSC)):
    if os.environ.get("REQUIRE_KANNEL") == "1":
        raise RuntimeError("REQUIRE_KANNEL=1 but Kannel is not installed: run .ci/setup-kannel.sh")
    pytest.skip("Kannel is not installed (.ci/setup-kannel.sh)", allow_module_level=True)


def _documented_conf() -> str:
    text = (PROJECT_ROOT / "docs/kannel.md").read_text(encoding="utf-8")
    match = re.search(r"## kannel\.conf\s+```conf\n(.*?)```", text, re.S)
    assert match, "docs/kannel.md lost its kannel.conf block"
    return match[1]


def kannel_conf(workdir: Path, ports: dict[str, int], gateway_url: str) -> str:
    """Return docs/kannel.md's kannel.conf with this run's ports, files and secrets."""
    conf = _documented_conf()
    swaps = {
        "admin-port = 13000": f"admin-port = {ports['admin']}",
        "smsbox-port = 13001": f"smsbox-port = {ports['box']}",
        "bearerbox-port = 13001": f"bearerbox-port = {ports['box']}",
        "port = 10000": f"port = {ports['smsc']}",
        "sendsms-port = 13013": f"sendsms-port = {ports['sendsms']}",
        "password = change-me-sendsms": f"password = {SENDSMS_PASSWORD}",
        '"/var/log/kannel/': f'"{workdir}/',
        '"/var/spool/kannel/': f'"{workdir}/',
        "http://127.0.0.1:8000/carriers/kannel/mo": f"{gateway_url}/carriers/kannel/mo",
        "token=change-me-url-token-0123456789": f"token={TOKEN}",
    }
    for old, new in swaps.items():
        assert old in conf, f"docs/kannel.md's kannel.conf no longer has {old!r}"
        conf = conf.replace(old, new)
    return conf


@contextlib.contextmanager
def _process(
    name: str, args: list[str], workdir: Path, env: dict[str, str] | None = None
) -> Iterator[Path]:
    """Run a process until the block ends, whatever happens; yield its output file."""
    with command(name, args, env, workdir) as (_, log):
        yield log


@dataclass
class Stack:
    """Kannel and the gateway, running."""

    workdir: Path
    gateway_url: str
    smsc_port: int
    database_url: str
    logs: list[Path]

    def inject(self, message: str) -> None:
        """Have a fresh fakesmsc send one MO and stay connected until a reply comes out."""
        name = f"fakesmsc-{uuid.uuid4().hex[:8]}"
        args = [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port), "-m", "1", message]
        with _process(name, args, self.workdir) as output:
            self.logs.append(output)
            self._wait_for(output, re.compile(r"sent message 1"))
            # Replies queued while no fakesmsc was connected come out here too.
            self._wait_for(output, re.compile(r"Got message \d+: <"))

    def replies(self, phone: str) -> list[str]:
        """Return every text the fake SMSC printed for ``phone`` (84 + 9 digits)."""
        texts = []
        for log in self.logs:
            if log.name.startswith("fakesmsc") and log.exists():
                pattern = rf"Got message \d+: <8079 {phone} text (.*)>"
                texts += re.findall(pattern, log.read_text(errors="replace"))
        return texts

    def _wait_for(self, output: Path, pattern: re.Pattern[str]) -> None:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if pattern.search(output.read_text(errors="replace")):
                return
            time.sleep(0.1)
        pytest.fail(f"no {pattern.pattern!r} from the fake SMSC\n{tails(self.logs)}")


def _gateway_env(
    workdir: Path, sendsms_port: int, gateway_url: str, database_url: str
) -> dict[str, str]:
    env = process_environ(
        workdir,
        database_url,
        "kannel",
        KIND="kannel",
        ALLOW_IPS="127.0.0.1/32",
        SECRET=TOKEN,
        MT_URL=f"http://127.0.0.1:{sendsms_port}/cgi-bin/sendsms",
        MT_USERNAME="gateway8079",
        MT_PASSWORD=SENDSMS_PASSWORD,
    )
    return {**env, "GATEWAY_PUBLIC_URL": gateway_url}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("kannel")
    with fresh_database(workdir) as database_url:
        yield from _started(workdir, database_url)


def _started(workdir: Path, database_url: str) -> Iterator[Stack]:
    ports = {name: free_port() for name in ("admin", "box", "smsc", "sendsms", "gateway")}
    gateway_url = f"http://127.0.0.1:{ports['gateway']}"
    (workdir / "kannel.conf").write_text(kannel_conf(workdir, ports, gateway_url), encoding="utf-8")
    env = _gateway_env(workdir, ports["sendsms"], gateway_url, database_url)
    run_cli(env, workdir, "init-db")
    accounts = workdir / "accounts.csv"
    accounts.write_text("bhxh,phone,email,approved_at\n0123456789,0912345678,,2026-01-15\n")
    run_cli(env, workdir, "accounts", "import", str(accounts))
    serve = [
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--bind",
        f"127.0.0.1:{ports['gateway']}",
        "--workers",
        "2",
    ]
    with contextlib.ExitStack() as stack:
        logs = [
            stack.enter_context(_process("bearerbox", [BEARERBOX, "kannel.conf"], workdir)),
        ]
        wait_listening(ports["box"], "bearerbox", logs)
        logs.append(stack.enter_context(_process("smsbox", [SMSBOX, "kannel.conf"], workdir)))
        wait_listening(ports["sendsms"], "smsbox", logs)
        logs.append(stack.enter_context(_process("server", serve, workdir, env)))
        logs.append(
            stack.enter_context(
                _process("worker", [sys.executable, "-m", "gateway", "worker"], workdir, env)
            )
        )
        wait_listening(ports["gateway"], "gunicorn", logs)
        yield Stack(workdir, gateway_url, ports["smsc"], env["DATABASE_URL"], logs)


def _ucs2(text: str) -> str:
    return quote(text.encode("utf-16-be"), safe="")


def _latest(stack: Stack, sender: str) -> tuple[InboundMessage, OutboxMessage | None]:
    """Return the newest message from ``sender`` (84 + 9 digits) and its reply row."""
    engine = create_engine(stack.database_url)
    try:
        with Session(engine) as session:
            message = session.scalars(
                select(InboundMessage)
                .where(InboundMessage.sender == sender)
                .order_by(InboundMessage.id.desc())
            ).first()
            assert message is not None, f"nothing stored from {sender}\n{tails(stack.logs)}"
            reply = session.scalars(
                select(OutboxMessage).where(OutboxMessage.message_id == message.id)
            ).first()
            session.expunge_all()
    finally:
        engine.dispose()
    return message, reply


def test_a_reset_reply_comes_back_out_of_the_fake_smsc(stack: Stack) -> None:
    before = len(stack.replies("84912345678"))

    stack.inject(f"{ACCOUNT_PHONE} 8079 text BH MK 0123456789")

    new = stack.replies("84912345678")[before:]
    assert len(new) == 1 and RESET_REPLY.match(new[0]), new


def test_vietnamese_accents_sent_as_ucs2_are_understood(stack: Stack) -> None:
    before = len(stack.replies("84912345678"))

    stack.inject(f"{ACCOUNT_PHONE} 8079 ucs2 {_ucs2(ACCENTED)}")

    new = stack.replies("84912345678")[before:]
    assert len(new) == 1 and RESET_REPLY.match(new[0]), new
    message, _ = _latest(stack, "84912345678")
    assert (message.text, message.route) == (ACCENTED, "FAKE1")


def test_a_redelivered_message_is_acknowledged_and_does_no_work(stack: Stack) -> None:
    stack.inject("0987000111 8079 text BH MK 0123456789")
    first, _ = _latest(stack, "84987000111")
    assert len(stack.replies("84987000111")) == 1
    # Kannel re-delivers from its store after a crash, under the same %I: replay that request.
    assert first.carrier_received_at is not None
    query = (
        f"from=0987000111&to=8079&id={first.carrier_message_id}&smsc=FAKE1"
        f"&ts={int(first.carrier_received_at.timestamp())}&token={TOKEN}"
    )
    again = requests.post(
        f"{stack.gateway_url}/carriers/kannel/mo?{query}",
        data=b"BH MK 0123456789",
        headers={"Content-Type": 'text/plain; charset="UTF-8"', "X-Kannel-Coding": "0"},
        timeout=10,
    )

    assert (again.status_code, again.content) == (202, b"")
    stack.inject("0987000222 8079 text xin chao")  # a full worker pass after the replay
    assert len(stack.replies("84987000111")) == 1
    assert _latest(stack, "84987000111")[0].id == first.id


def test_the_fake_smscs_delivery_report_is_recorded(stack: Stack) -> None:
    stack.inject("0987000333 8079 text BH MK 0123456789")
    deadline = time.monotonic() + DEADLINE
    status = None
    while time.monotonic() < deadline and status is not DeliveryStatus.DELIVERED:
        _, reply = _latest(stack, "84987000333")
        status = reply and reply.delivery_status
        time.sleep(0.2)
    assert status is DeliveryStatus.DELIVERED, tails(stack.logs)
