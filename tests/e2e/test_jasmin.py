"""The gateway behind a real Jasmin: SMSC simulator > Jasmin > gateway > Jasmin > simulator.

Jasmin 0.11.0 from PyPI with Debian's RabbitMQ and Redis, configured with docs/jasmin.md's jCli
commands (host, ports, URL and secrets swapped), its own SMSC simulator (from its source
package) as the SMSC, and the gateway under gunicorn with its worker, all on 127.0.0.1. Between
Jasmin's MO connector and the gateway sits a pass-through that can lose one ACK/Jasmin, as a
network would. Skips when Jasmin is not installed, unless REQUIRE_JASMIN=1 (CI installs it with
.ci/setup-jasmin.sh).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from billing.ledger import EntryKind, LedgerEntry
from gateway.models import InboundMessage, OutboxMessage
from gateway.states import DeliveryStatus
from tests.conftest import fresh_database
from tests.e2e import jasmin_stack, lost_ack
from tests.e2e.support import command, free_port, process_environ, run_cli, tails

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 30.0  # seconds for a reply, a report or a retry to come through
TOKEN = "jasmin-e2e-token-" + uuid.uuid4().hex[:16]
MT_PASSWORD = "mt-" + uuid.uuid4().hex[:8]  # Jasmin allows at most 16 characters
ACCOUNT_PHONE = "0912345678"
RESET_REPLY = re.compile(
    r"Cap lai mat khau thanh cong\. Tai khoan: 0123456789/Mat khau: [A-Z2-9]{10}\."
)
ACCENTED = "Bh mk 0123456789 gửi 8079"
LOSES_FIRST_ACK = "0987000444"  # the pass-through drops the gateway's first answer to this phone

if (absent := jasmin_stack.missing()) is not None:
    if os.environ.get("REQUIRE_JASMIN") == "1":
        raise RuntimeError(f"REQUIRE_JASMIN=1 but {absent} is missing: run .ci/setup-jasmin.sh")
    pytest.skip(f"Jasmin is not installed ({absent}): .ci/setup-jasmin.sh", allow_module_level=True)


def documented_jcli(smsc_port: int, mo_url: str) -> list[str]:
    """Return docs/jasmin.md's jCli lines with this run's SMSC, URL and secrets."""
    text = (PROJECT_ROOT / "docs/jasmin.md").read_text(encoding="utf-8")
    match = re.search(r"```jcli\n(.*?)```", text, re.S)
    assert match, "docs/jasmin.md lost its jCli block"
    block = match[1]
    swaps = {
        "> host 203.0.113.20": "> host 127.0.0.1",
        "> port 2775": f"> port {smsc_port}",
        "> url http://127.0.0.1:8000/carriers/jasmin/mo?token=change-me-url-token-0123456789": (
            f"> url {mo_url}?token={TOKEN}"
        ),
        "> password change-me-mt": f"> password {MT_PASSWORD}",
    }
    for old, new in swaps.items():
        assert old in block, f"docs/jasmin.md's jCli block no longer has {old!r}"
        block = block.replace(old, new)
    return [re.sub(r"^(jcli : |> )", "", line) for line in block.splitlines() if line.strip()]


# --- the stack -----------------------------------------------------------------------------


@dataclass
class Stack:
    """Jasmin, its SMSC simulator and the gateway, running and configured."""

    control_url: str
    database_url: str
    pass_through: lost_ack.PassThrough
    logs: list[Path]

    def deliver(self, phone: str, text: str, *, ucs2: bool = False) -> None:
        """Have the SMSC send one MO to 8079."""
        form = {"source": phone, "destination": "8079", "coding": "8" if ucs2 else "0"}
        answer = requests.post(
            f"{self.control_url}/deliver", data={**form, "text": text}, timeout=5
        )
        assert answer.status_code == 200, answer.text

    def submits(self, to: str) -> list[dict[str, str]]:
        """Return every submit_sm the SMSC got for ``to`` (84 + 9 digits)."""
        every = requests.get(f"{self.control_url}/submits", timeout=5).json()
        return [s for s in every if s["destination"] == to]

    def reply(self, to: str, count: int = 1) -> dict[str, str]:
        """Wait until the SMSC has had ``count`` submit_sm for ``to``; return the last."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if len(found := self.submits(to)) >= count:
                return found[count - 1]
            time.sleep(0.2)
        pytest.fail(f"no reply to {to} reached the SMSC\n{tails(self.logs)}")

    def receipt(self, message_id: str, stat: str) -> None:
        """Have the SMSC send a delivery receipt for one submit_sm."""
        form = {"message_id": message_id, "stat": stat}
        answer = requests.post(f"{self.control_url}/receipt", data=form, timeout=5)
        assert answer.status_code == 200, answer.text

    def delivery_status(self, to: str, expected: DeliveryStatus) -> DeliveryStatus | None:
        """Wait until the newest reply to ``to`` has ``expected``; return what it has."""
        deadline = time.monotonic() + DEADLINE
        status = None
        while time.monotonic() < deadline and status is not expected:
            with self.session() as session:
                status = session.scalars(
                    select(OutboxMessage.delivery_status)
                    .where(OutboxMessage.recipient == to)
                    .order_by(OutboxMessage.id.desc())
                ).first()
            time.sleep(0.2)
        return status

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """Open a session on the gateway's database."""
        engine = create_engine(self.database_url)
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()


def _gateway_env(
    workdir: Path, http_api: int, gateway_url: str, database_url: str
) -> dict[str, str]:
    env = process_environ(
        workdir,
        database_url,
        "jasmin",
        KIND="jasmin",
        SECRET=TOKEN,
        MT_URL=f"http://127.0.0.1:{http_api}/send",
        MT_USERNAME="gw8079",
        MT_PASSWORD=MT_PASSWORD,
        ALLOW_IPS="127.0.0.1/32",  # Jasmin and the lost-ACK proxy
    )
    return {**env, "GATEWAY_PUBLIC_URL": gateway_url}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("jasmin")
    logs: list[Path] = []
    with contextlib.ExitStack() as running:
        database_url = running.enter_context(fresh_database(workdir))
        amqp, redis = running.enter_context(jasmin_stack.brokers(workdir, logs))
        ports = running.enter_context(jasmin_stack.jasmin(workdir, amqp, redis, logs))
        gateway_port = free_port()
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        env = _gateway_env(workdir, ports["http-api"], gateway_url, database_url)
        run_cli(env, workdir, "init-db")
        accounts = workdir / "accounts.csv"
        accounts.write_text(
            f"bhxh,phone,email,approved_at\n0123456789,{ACCOUNT_PHONE},,2026-01-15\n"
        )
        run_cli(env, workdir, "accounts", "import", str(accounts))
        serve = [sys.executable, "-m", "gateway", "serve", "--bind", f"127.0.0.1:{gateway_port}"]
        for name, argv in (
            ("server", [*serve, "--workers", "2"]),
            ("worker", [sys.executable, "-m", "gateway", "worker"]),
        ):
            logs.append(running.enter_context(command(name, argv, env, workdir))[1])
        jasmin_stack.wait_listening(gateway_port, "gunicorn", logs)
        pass_through = lost_ack.PassThrough(gateway_url, LOSES_FIRST_ACK)
        proxy_url = running.enter_context(lost_ack.serving(pass_through))
        jcli = jasmin_stack.JCli(ports["jcli"])
        running.callback(jcli.close)
        jcli.run(documented_jcli(ports["smsc"], f"{proxy_url}/carriers/jasmin/mo"))
        deadline = time.monotonic() + DEADLINE
        while "BOUND_TRX" not in jcli.type("smppccm -l"):
            if time.monotonic() > deadline:
                pytest.fail(f"Jasmin did not bind to the SMSC\n{tails(logs)}")
            time.sleep(0.2)
        control_url = f"http://127.0.0.1:{ports['smsc-control']}"
        yield Stack(control_url, database_url, pass_through, logs)


def _stored(stack: Stack, sender: str) -> list[InboundMessage]:
    with stack.session() as session:
        messages = list(
            session.scalars(select(InboundMessage).where(InboundMessage.sender == sender))
        )
        session.expunge_all()
    return messages


def _text(submit: dict[str, str]) -> str:
    return bytes.fromhex(submit["short_message"]).decode("ascii")


# --- the cases -----------------------------------------------------------------------------


def test_a_gsm_mo_gets_its_reset_reply_at_the_smsc_from_8079(stack: Stack) -> None:
    stack.deliver(ACCOUNT_PHONE, "BH MK 0123456789")

    reply = stack.reply("84912345678")
    assert reply["source"] == "8079"
    assert RESET_REPLY.match(_text(reply)), _text(reply)
    _, params, status = stack.pass_through.attempts(ACCOUNT_PHONE)[0]
    assert (params["coding"], status) == ([b"\x00"], 200)  # one raw octet, accepted


def test_a_ucs2_vietnamese_mo_is_understood(stack: Stack) -> None:
    before = len(stack.submits("84912345678"))

    stack.deliver(ACCOUNT_PHONE, ACCENTED, ucs2=True)

    reply = stack.reply("84912345678", before + 1)
    assert reply["source"] == "8079" and RESET_REPLY.match(_text(reply)), reply
    newest = max(_stored(stack, "84912345678"), key=lambda m: m.id)
    assert (newest.text, newest.route) == (ACCENTED, "smsc1")
    assert stack.pass_through.attempts(ACCOUNT_PHONE)[-1][1]["coding"] == [b"\x08"]


def test_an_mo_posted_again_after_a_lost_ack_is_charged_once(stack: Stack) -> None:
    stack.deliver(LOSES_FIRST_ACK, "BH MK 0123456789")

    deadline = time.monotonic() + DEADLINE
    while len(attempts := stack.pass_through.attempts(LOSES_FIRST_ACK)) < 2:
        if time.monotonic() > deadline:
            pytest.fail(f"Jasmin did not post the MO again\n{tails(stack.logs)}")
        time.sleep(0.2)
    assert attempts[0][1]["id"] == attempts[1][1]["id"]  # the same message, posted twice
    stack.reply("84987000444")
    stack.deliver("0987000222", "xin chao")  # a full worker pass after the repeat
    stack.reply("84987000222")

    [message] = _stored(stack, "84987000444")
    with stack.session() as session:
        charges = session.scalar(
            select(func.count(LedgerEntry.id)).where(
                LedgerEntry.message_id == message.id, LedgerEntry.kind == EntryKind.CHARGE
            )
        )
    assert charges == 1
    assert len(stack.submits("84987000444")) == 1


@pytest.mark.parametrize(
    ("phone", "stat", "expected"),
    [
        ("0987000555", "DELIVRD", DeliveryStatus.DELIVERED),
        ("0987000666", "UNDELIV", DeliveryStatus.FAILED),
    ],
)
def test_the_smscs_receipts_are_recorded(
    stack: Stack, phone: str, stat: str, expected: DeliveryStatus
) -> None:
    stack.deliver(phone, "BH MK 0123456789")
    reply = stack.reply("84" + phone[1:])

    stack.receipt(reply["message_id"], stat)

    assert stack.delivery_status("84" + phone[1:], expected) is expected


def test_a_reply_the_smsc_refuses_is_marked_failed(stack: Stack) -> None:
    [refused] = jasmin_stack.REFUSED_NUMBERS
    stack.deliver("0" + refused[2:], "BH MK 0123456789")

    assert stack.reply(refused)["status"] == "ESME_RINVDSTADR"
    assert stack.delivery_status(refused, DeliveryStatus.FAILED) is DeliveryStatus.FAILED
