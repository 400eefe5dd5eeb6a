"""What the end-to-end tests share: the gateway's processes, and talking to them as a carrier.

Everything listens on 127.0.0.1; every process started here is stopped by its context
manager, whatever happens in between.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from gateway.carriers.signing import signed_headers
from tests.conftest import CARRIER_SECRETS, SECRET_KEY, fresh_database

if TYPE_CHECKING:  # the stand-in module uses this one's names
    from tests.e2e.stand_in import CarrierStandIn

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CARRIER = "viettel"
CARRIER_SECRET = CARRIER_SECRETS[CARRIER]
POLL_INTERVAL = 0.2
START_DEADLINE = 30.0  # seconds for gunicorn to answer /healthz
REPLY_DEADLINE = 20.0  # seconds for a reply to reach the stand-in
STOP_GRACE = 15.0  # seconds a process gets after SIGTERM before SIGKILL

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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gateway_environ(workdir: Path, carrier: CarrierStandIn, database_url: str) -> dict[str, str]:
    """The gateway's environment beside the carrier stand-in."""
    return process_environ(
        workdir, database_url, CARRIER, SECRET=CARRIER_SECRET, MT_URL=carrier.url
    )


def process_environ(
    workdir: Path, database_url: str, carrier: str, **carrier_settings: str
) -> dict[str, str]:
    """The gateway's environment with one carrier: ``CARRIER_<NAME>_<key>`` for each setting."""
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
            "GATEWAY_CARRIERS": carrier,
            f"CARRIER_{carrier.upper()}_TIMEOUT": "5",
            **{f"CARRIER_{carrier.upper()}_{name}": v for name, v in carrier_settings.items()},
            "GATEWAY_WORKER_POLL_INTERVAL": str(POLL_INTERVAL),
            # The module's tests share one database; their messages must not add up to a limit.
            "GATEWAY_LIMIT_RESETS_PER_ACCOUNT": "1000",
            "GATEWAY_LIMIT_MESSAGES_PER_PHONE": "1000",
        }
    )
    return env


def wait_listening(
    port: int, what: str, logs: list[Path], *, within: float = START_DEADLINE
) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``, or fail with the logs."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"{what} is not listening on {port}\n{tails(logs)}")


def tails(logs: list[Path]) -> str:
    """Return the end of each output file, for a failure message."""
    return "\n".join(
        f"----- {log.name} -----\n{log.read_text(errors='replace')[-4000:]}"
        for log in logs
        if log.exists()
    )


def gateway_cli(env: dict[str, str], workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m gateway <args>`` to the end; return what it printed and its status."""
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_cli(env: dict[str, str], workdir: Path, *args: str) -> str:
    """Run a gateway command that must succeed; return what it printed."""
    result = gateway_cli(env, workdir, *args)
    if result.returncode != 0:
        pytest.fail(
            f"gateway {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def process(
    name: str, args: list[str], env: dict[str, str], workdir: Path
) -> contextlib.AbstractContextManager[tuple[subprocess.Popen[bytes], Path]]:
    """Run ``python -m gateway <args>`` until the block ends; yield it and its output file."""
    return command(name, [sys.executable, "-m", "gateway", *args], env, workdir)


@contextlib.contextmanager
def command(
    name: str, argv: list[str], env: dict[str, str] | None, workdir: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Run any program until the block ends, whatever happens; yield it and its output file."""
    log = workdir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so gunicorn's workers go with it
        )
        try:
            yield process, log
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # gunicorn's master stops its workers before it exits
    try:
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        # The group is still ours while its leader is unreaped: take the workers down with it.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_GRACE)


def wait_healthy(url: str, gateway: Gateway, server: subprocess.Popen[bytes]) -> None:
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


@contextlib.contextmanager
def serving_gateway(
    workdir: Path,
    carrier: CarrierStandIn,
    settings: Mapping[str, str] | None = None,
    accounts: Sequence[str] = (),
    *,
    host: str = "127.0.0.1",
    workers: int = 2,
    with_worker: bool = False,
) -> Iterator[tuple[Gateway, dict[str, str]]]:
    """Serve the gateway on a fresh database until the block ends; yield it and its environment.

    ``settings``: the module's own variables; ``accounts``: rows of ``bhxh,phone,email,
    approved_at`` to import; ``host``: the name the gateway is reached by (it listens on
    127.0.0.1); ``with_worker``: the worker runs inside ``serve --with-worker`` instead of as a
    process of its own.
    """
    port = free_port()
    with fresh_database(workdir) as database_url, contextlib.ExitStack() as stack:
        env = gateway_environ(workdir, carrier, database_url)
        env.update({"GATEWAY_PUBLIC_URL": f"http://{host}:{port}", **(settings or {})})
        run_cli(env, workdir, "init-db")
        if accounts:
            csv = workdir / "accounts.csv"
            rows = ["bhxh,phone,email,approved_at", *accounts]
            csv.write_text("".join(f"{row}\n" for row in rows), encoding="utf-8")
            run_cli(env, workdir, "accounts", "import", str(csv))
        serve = ["serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
        server, server_log = stack.enter_context(
            process("server", [*serve, "--with-worker"] if with_worker else serve, env, workdir)
        )
        logs = {"server": server_log}
        if not with_worker:
            _, logs["worker"] = stack.enter_context(process("worker", ["worker"], env, workdir))
        gateway = Gateway(f"http://{host}:{port}", logs)
        wait_healthy(f"http://127.0.0.1:{port}", gateway, server)
        yield gateway, env


# --- talking to a running gateway ------------------------------------------------------

# Unique per run, so a database reused across runs never turns a new MO into a duplicate.
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


def post_mo(
    gateway: Gateway, text: str, phone: str, mo_id: str, secret: str = CARRIER_SECRET
) -> requests.Response:
    """Deliver one MO to the gateway as the carrier does: signed, at its MO endpoint."""
    return signed_post(f"{gateway.url}/carriers/{CARRIER}/mo", mo(text, phone, mo_id), secret)


def settle(gateway: Gateway, carrier: CarrierStandIn) -> None:
    """Wait until the worker has finished a full pass begun after this call.

    A fresh MO from an unused phone gets its own reply only once the worker has processed
    everything stored before it and then sent its replies: stronger than sleeping a few
    poll intervals, and never slower than it needs to be.
    """
    phone = f"0987{next(_spare_phones):06d}"
    mo_id = new_mo_id()
    response = post_mo(gateway, "xin chao", phone, mo_id)
    assert response.status_code == 200, response.text
    carrier.wait_for_reply(mo_id, gateway)
