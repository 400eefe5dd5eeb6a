"""The whole SMS path over real sockets: gunicorn, the worker process and a carrier stand-in.

    carrier stand-in --MO--> gunicorn (2 workers) --> database <-- gateway worker --MT--> stand-in

Everything listens on 127.0.0.1. The processes are started once per module and stopped in
fixture teardown, whatever happens in between.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hmac
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from gateway.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature, signed_headers
from tests.conftest import CARRIER_SECRETS, SECRET_KEY, fresh_database

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CARRIER = "viettel"
CARRIER_SECRET = CARRIER_SECRETS[CARRIER]
POLL_INTERVAL = 0.2
START_DEADLINE = 30.0  # seconds for gunicorn to answer /healthz
REPLY_DEADLINE = 20.0  # seconds for a reply to reach the stand-in
STOP_GRACE = 15.0  # seconds a process gets after SIGTERM before SIGKILL

ACCOUNT = "0123456789"
ACCOUNT_PHONE = "0912345678"
RESET_REPLY = re.compile(
    r"Cap lai mat khau thanh cong\. Tai khoan: 0123456789/Mat khau: ([A-Z2-9]{10})\. "
    r"Dang nhap VssID va doi mat khau\."
)


# --- the carrier's MT endpoint ------------------------------------------------------------


@dataclass(frozen=True)
class MtRequest:
    """One reply the gateway handed to the carrier stand-in."""

    headers: Mapping[str, str]  # case-insensitive, as HTTP header names are
    body: bytes
    payload: dict[str, Any]
    signature_ok: bool
    message_id: str


@dataclass
class CarrierStandIn:
    """Records every MT request, checks its signature and accepts it with a message id."""

    secret: str
    url: str = ""
    received: list[MtRequest] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def record(self, headers: Mapping[str, str], body: bytes) -> MtRequest:
        """Verify and store one request; return what was stored."""
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        expected = signature(self.secret, timestamp, body)
        signature_ok = bool(timestamp) and hmac.compare_digest(
            expected, headers.get(SIGNATURE_HEADER, "")
        )
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        with self._changed:
            request = MtRequest(headers, body, payload, signature_ok, f"vt-mt-{next(self._ids)}")
            self.received.append(request)
            self._changed.notify_all()
        return request

    def replies_to(self, carrier_message_id: str) -> list[MtRequest]:
        """Return the replies received so far to one MO."""
        with self._changed:
            return [r for r in self.received if r.payload.get("in_reply_to") == carrier_message_id]

    def wait_for_reply(self, carrier_message_id: str, gateway: Gateway) -> MtRequest:
        """Wait until the reply to one MO arrives; fail with the gateway's output if it does not."""
        with self._changed:
            arrived = self._changed.wait_for(
                lambda: any(
                    r.payload.get("in_reply_to") == carrier_message_id for r in self.received
                ),
                timeout=REPLY_DEADLINE,
            )
        if not arrived:
            pytest.fail(
                f"no reply to {carrier_message_id!r} within {REPLY_DEADLINE} s\n{gateway.output()}"
            )
        return self.replies_to(carrier_message_id)[0]


def _handler_for(carrier: CarrierStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            request = carrier.record(CaseInsensitiveDict(self.headers.items()), body)
            status = 200 if request.signature_ok else 401
            answer = json.dumps({"message_id": request.message_id}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the gateway's own logs are what a failure report shows

    return Handler


@pytest.fixture(scope="module")
def carrier() -> Iterator[CarrierStandIn]:
    stand_in = CarrierStandIn(CARRIER_SECRET)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(stand_in))
    server.daemon_threads = True
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}/{CARRIER}/mt"
    thread = threading.Thread(target=server.serve_forever, name="carrier-stand-in", daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=STOP_GRACE)


# --- the gateway processes ----------------------------------------------------------------


@dataclass(frozen=True)
class Gateway:
    """A running gateway: its base URL and where its processes write their output."""

    url: str
    logs: dict[str, Path]

    def output(self) -> str:
        """Return what each process has written so far, for failure messages."""
        parts = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"----- {name} output -----\n{text[-8000:]}")
        return "\n".join(parts)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environ(workdir: Path, carrier: CarrierStandIn, database_url: str) -> dict[str, str]:
    # A clean environment: a GATEWAY_* variable in the developer's shell must not leak in.
    env = {name: os.environ[name] for name in ("PATH", "LANG", "TMPDIR") if name in os.environ}
    env.update(
        {
            "PYTHONPATH": str(PROJECT_ROOT),  # this checkout, whatever is installed
            "PYTHONUNBUFFERED": "1",
            # gunicorn >= 25.1 puts a control socket here, else in ~/.gunicorn/ where concurrent
            # runs would unlink each other's.
            "XDG_RUNTIME_DIR": str(workdir),
            "DATABASE_URL": database_url,
            "GATEWAY_INSTANCE_DIR": str(workdir / "instance"),
            "GATEWAY_SECRET_KEY": SECRET_KEY,
            "GATEWAY_CARRIERS": CARRIER,
            f"CARRIER_{CARRIER.upper()}_SECRET": CARRIER_SECRET,
            f"CARRIER_{CARRIER.upper()}_MT_URL": carrier.url,
            f"CARRIER_{CARRIER.upper()}_TIMEOUT": "5",
            "GATEWAY_WORKER_POLL_INTERVAL": str(POLL_INTERVAL),
            # The module's tests share one database; their messages must not add up to a limit.
            "GATEWAY_LIMIT_RESETS_PER_ACCOUNT": "1000",
            "GATEWAY_LIMIT_MESSAGES_PER_PHONE": "1000",
        }
    )
    return env


def _run_cli(env: dict[str, str], workdir: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"gateway {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )


@contextlib.contextmanager
def _process(
    name: str, args: list[str], env: dict[str, str], workdir: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Run ``python -m gateway <args>`` until the block ends; yield it and its output file."""
    log = workdir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", *args],
            env=env,
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so gunicorn's workers go with it
        )
        try:
            yield process, log
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # gunicorn's master stops its workers before it exits
    try:
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        # The group is still ours while its leader is unreaped: take the workers down with it.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_GRACE)


def _wait_healthy(url: str, gateway: Gateway, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_DEADLINE
    last_error = ""
    while time.monotonic() < deadline:
        try:
            response = requests.get(f"{url}/healthz", timeout=2)
        except requests.RequestException as exc:
            last_error = repr(exc)
        else:
            if response.status_code == 200 and response.json() == {"status": "ok"}:
                return
            last_error = f"{response.status_code} {response.text}"
        if server.poll() is not None:
            last_error = f"gunicorn exited with status {server.returncode}"
            break
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer /healthz ({last_error})\n{gateway.output()}")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, carrier: CarrierStandIn) -> Iterator[Gateway]:
    with contextlib.ExitStack() as stack_root:
        yield from _started_gateway(tmp_path_factory, carrier, stack_root)


def _started_gateway(
    tmp_path_factory: pytest.TempPathFactory,
    carrier: CarrierStandIn,
    stack_root: contextlib.ExitStack,
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("gateway")
    database_url = stack_root.enter_context(fresh_database(workdir))
    env = _environ(workdir, carrier, database_url)
    _run_cli(env, workdir, "init-db")
    accounts = workdir / "accounts.csv"
    accounts.write_text(
        "bhxh,phone,email,approved_at\n0123456789,0912 345 678,,2026-01-15\n", encoding="utf-8"
    )
    _run_cli(env, workdir, "accounts", "import", str(accounts))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    serve = ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    with contextlib.ExitStack() as stack:
        server, server_log = stack.enter_context(_process("server", serve, env, workdir))
        _, worker_log = stack.enter_context(_process("worker", ["worker"], env, workdir))
        running = Gateway(url, {"server": server_log, "worker": worker_log})
        _wait_healthy(url, running, server)
        yield running


# --- helpers ------------------------------------------------------------------------------

# Unique per run, so a reused TEST_DATABASE_URL never turns a new MO into a duplicate.
_RUN = uuid.uuid4().hex[:8]
_mo_ids = itertools.count(1)
_spare_phones = itertools.count(1)


def new_mo_id() -> str:
    return f"e2e-{_RUN}-{next(_mo_ids)}"


def signed_post(
    url: str, payload: dict[str, Any], secret: str = CARRIER_SECRET
) -> requests.Response:
    """POST a JSON body signed the way the carrier signs it."""
    body = json.dumps(payload).encode()
    now = dt.datetime.now(dt.UTC)
    headers = {"Content-Type": "application/json", **signed_headers(secret, body, now)}
    return requests.post(url, data=body, headers=headers, timeout=10)


def mo(text: str, phone: str, mo_id: str) -> dict[str, str]:
    return {"id": mo_id, "from": phone, "to": "8079", "text": text}


def settle(gateway: Gateway, carrier: CarrierStandIn) -> None:
    """Wait until the worker has finished a full pass begun after this call.

    A fresh MO from an unused phone gets its own reply only once the worker has processed
    everything stored before it and then sent its replies: stronger than sleeping a few
    poll intervals, and never slower than it needs to be.
    """
    phone = f"0987{next(_spare_phones):06d}"
    mo_id = new_mo_id()
    response = signed_post(f"{gateway.url}/carriers/{CARRIER}/mo", mo("xin chao", phone, mo_id))
    assert response.status_code == 200, response.text
    carrier.wait_for_reply(mo_id, gateway)


def login(gateway: Gateway, password: str) -> requests.Response:
    return requests.post(
        f"{gateway.url}/api/v1/auth/login",
        json={"bhxh": ACCOUNT, "password": password},
        timeout=10,
    )


@dataclass(frozen=True)
class Reset:
    """The first password-reset MO of the module and what came of it."""

    mo_id: str
    answer: dict[str, Any]
    reply: MtRequest


@pytest.fixture(scope="module")
def reset(gateway: Gateway, carrier: CarrierStandIn) -> Reset:
    mo_id = new_mo_id()
    response = signed_post(
        f"{gateway.url}/carriers/{CARRIER}/mo", mo(f"BH MK {ACCOUNT}", ACCOUNT_PHONE, mo_id)
    )
    assert response.status_code == 200, response.text
    return Reset(mo_id, response.json(), carrier.wait_for_reply(mo_id, gateway))


# --- the tests ----------------------------------------------------------------------------


def test_reset_reply_is_signed_and_its_password_logs_in_once(
    gateway: Gateway, carrier: CarrierStandIn, reset: Reset
) -> None:
    assert reset.answer["status"] == "accepted"
    reply = reset.reply
    assert reply.signature_ok, reply.headers
    assert reply.headers.get("Content-Type") == "application/json"
    assert reply.payload["to"] == "84912345678"
    assert reply.payload["from"] == "8079"
    assert reply.payload["in_reply_to"] == reset.mo_id
    match = RESET_REPLY.fullmatch(reply.payload["text"])
    assert match, reply.payload["text"]
    temporary = match[1]

    first = login(gateway, temporary)
    assert first.status_code == 200, first.text
    assert first.json()["must_change_password"] is True

    changed = requests.post(
        f"{gateway.url}/api/v1/auth/password",
        json={"bhxh": ACCOUNT, "password": temporary, "new_password": "my-own-password-1"},
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "changed"

    assert login(gateway, temporary).status_code == 401
    chosen = login(gateway, "my-own-password-1")
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["must_change_password"] is False


def test_repeated_mo_gets_the_same_answer_and_no_second_reply(
    gateway: Gateway, carrier: CarrierStandIn, reset: Reset
) -> None:
    again = signed_post(
        f"{gateway.url}/carriers/{CARRIER}/mo", mo(f"BH MK {ACCOUNT}", ACCOUNT_PHONE, reset.mo_id)
    )

    assert again.status_code == 200, again.text
    assert again.json() == {"status": "duplicate", "message_id": reset.answer["message_id"]}
    settle(gateway, carrier)
    assert len(carrier.replies_to(reset.mo_id)) == 1


def test_delivery_report_is_recorded_for_our_reference_only(gateway: Gateway, reset: Reset) -> None:
    dlr_url = f"{gateway.url}/carriers/{CARRIER}/dlr"
    reference = reset.reply.payload["reference"]

    known = signed_post(
        dlr_url,
        {"reference": reference, "message_id": reset.reply.message_id, "status": "delivered"},
    )
    unknown = signed_post(
        dlr_url, {"reference": "987654321", "message_id": "vt-mt-x", "status": "delivered"}
    )

    assert known.status_code == 200, known.text
    assert known.json() == {"status": "recorded", "reference": reference}
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error"] == "not_found"


def test_concurrent_deliveries_of_one_mo_store_it_once(
    gateway: Gateway, carrier: CarrierStandIn
) -> None:
    deliveries = 20
    mo_id = new_mo_id()
    payload = mo(f"BH MK {ACCOUNT}", "0977 000 111", mo_id)
    start = threading.Barrier(deliveries)

    def deliver(_: int) -> requests.Response:
        start.wait(timeout=REPLY_DEADLINE)
        return signed_post(f"{gateway.url}/carriers/{CARRIER}/mo", payload)

    with ThreadPoolExecutor(max_workers=deliveries) as pool:
        responses = list(pool.map(deliver, range(deliveries)))

    assert [r.status_code for r in responses] == [200] * deliveries, [r.text for r in responses]
    answers = [r.json() for r in responses]
    assert collections.Counter(a["status"] for a in answers) == {
        "accepted": 1,
        "duplicate": deliveries - 1,
    }
    assert len({a["message_id"] for a in answers}) == 1
    carrier.wait_for_reply(mo_id, gateway)
    settle(gateway, carrier)
    assert len(carrier.replies_to(mo_id)) == 1


def test_a_wrong_signature_is_refused_and_never_answered(
    gateway: Gateway, carrier: CarrierStandIn
) -> None:
    mo_id = new_mo_id()

    refused = signed_post(
        f"{gateway.url}/carriers/{CARRIER}/mo",
        mo(f"BH MK {ACCOUNT}", ACCOUNT_PHONE, mo_id),
        secret="not-the-carrier-secret-000",
    )

    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "bad_signature"
    settle(gateway, carrier)
    assert carrier.replies_to(mo_id) == []
