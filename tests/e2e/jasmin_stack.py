"""What tests/e2e/test_jasmin.py runs: RabbitMQ, Redis, Jasmin, its SMSC simulator, a jCli.

Each service gets free loopback ports and a folder of its own (RabbitMQ: its own node name,
Erlang port mapper, data and log folders), so runs on one machine never meet, and each is
stopped with its whole process group when the block ends. Jasmin and its simulator run with
the Python of the virtual environment that .ci/setup-jasmin.sh made (JASMIN_HOME).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import support
from tests.e2e.support import command, free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
JASMIN_VERSION = os.environ.get("JASMIN_VERSION", "0.11.0")
JASMIN_HOME = Path(os.environ.get("JASMIN_HOME", PROJECT_ROOT / ".ci" / "jasmin"))
JASMIN_PYTHON = JASMIN_HOME / "venv" / "bin" / "python"
JASMIND = JASMIN_HOME / "venv" / "bin" / "jasmind.py"
JASMIN_SOURCE = JASMIN_HOME / f"jasmin-{JASMIN_VERSION}"
SIMULATOR_DIR = JASMIN_SOURCE / "tests" / "protocols" / "smpp"
AMQP_SPEC = JASMIN_SOURCE / "misc" / "config" / "resource" / "amqp0-9-1.xml"
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
REDIS_SERVER = Path("/usr/bin/redis-server")
EPMD = Path("/usr/bin/epmd")
SMSC_RUNNER = Path(__file__).with_name("jasmin_smsc.py")
START_DEADLINE = 60.0  # RabbitMQ boots Erlang: a slow CI machine needs more than a few seconds
wait_listening = functools.partial(support.wait_listening, within=START_DEADLINE)
STOP_GRACE = 10.0
JCLI_USER, JCLI_PASSWORD = "jcliadmin", "jclipwd"  # Jasmin's defaults, on a loopback port
# The dlr and deliver_sm throwers retry after this many seconds (Jasmin's default is 30).
RETRY_DELAY = 1
# A reply to these numbers is refused by the simulated SMSC at submit time (ESME_RINVDSTADR).
REFUSED_NUMBERS = ("84987000999",)


def missing() -> str | None:
    """Say what is not installed for the Jasmin stack, or None when all of it is."""
    needed = [JASMIND, SIMULATOR_DIR / "smsc_simulator.py", AMQP_SPEC]
    needed += [RABBITMQ_SERVER, REDIS_SERVER, EPMD]
    absent = [str(path) for path in needed if not path.exists()]
    return ", ".join(absent) if absent else None


@contextlib.contextmanager
def group(name: str, argv: list[str], workdir: Path, env: dict[str, str]) -> Iterator[Path]:
    """Run a program until the block ends, then stop its whole process group; yield its log."""
    with command(name, argv, env, workdir) as (process, log):
        try:
            yield log
        finally:
            _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    # RabbitMQ's script runs beam.smp and a disk monitor as children: signal them all.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_GRACE)
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_GRACE)


def _plain_env(**extra: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in ("PATH", "LANG") if name in os.environ}
    env.update(extra)
    return env


@contextlib.contextmanager
def brokers(workdir: Path, logs: list[Path]) -> Iterator[tuple[int, int]]:
    """Run RabbitMQ and Redis for Jasmin; yield their ports (AMQP, Redis)."""
    amqp, dist, epmd, redis = free_port(), free_port(), free_port(), free_port()
    home = workdir / "rabbitmq"
    home.mkdir()
    erlang = {"HOME": str(home), "ERL_EPMD_PORT": str(epmd), "ERL_EPMD_ADDRESS": "127.0.0.1"}
    rabbit = _plain_env(
        **erlang,
        RABBITMQ_NODENAME=f"jasmin-e2e-{amqp}@localhost",
        RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
        RABBITMQ_NODE_PORT=str(amqp),
        RABBITMQ_DIST_PORT=str(dist),
        RABBITMQ_MNESIA_BASE=str(home / "mnesia"),
        RABBITMQ_LOG_BASE=str(home / "log"),
        RABBITMQ_PID_FILE=str(home / "pid"),
        # Files that do not exist: no system configuration, no plugins.
        RABBITMQ_CONFIG_FILE=str(home / "rabbitmq"),
        RABBITMQ_ADVANCED_CONFIG_FILE=str(home / "advanced.config"),
        RABBITMQ_CONF_ENV_FILE=str(home / "rabbitmq-env.conf"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(home / "enabled_plugins"),
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
    )
    redis_args = [str(REDIS_SERVER), "--port", str(redis), "--bind", "127.0.0.1"]
    redis_args += ["--save", "", "--appendonly", "no", "--dir", str(workdir)]
    with contextlib.ExitStack() as stack:
        # Our own port mapper, so RabbitMQ does not leave a daemon behind.
        epmd_args = [str(EPMD), "-port", str(epmd), "-address", "127.0.0.1"]
        logs.append(stack.enter_context(group("epmd", epmd_args, workdir, _plain_env())))
        wait_listening(epmd, "epmd", logs)
        argv = [str(RABBITMQ_SERVER)]
        logs.append(stack.enter_context(group("rabbitmq", argv, workdir, rabbit)))
        logs.append(stack.enter_context(group("redis", redis_args, workdir, _plain_env())))
        wait_listening(redis, "redis-server", logs)
        wait_listening(amqp, "RabbitMQ", logs)
        yield amqp, redis


def jasmin_cfg(ports: dict[str, int]) -> str:
    """Return a jasmin.cfg that puts every listener on 127.0.0.1 and a free port."""
    sections = {
        "smpp-server": {"bind": "127.0.0.1", "port": ports["smpp-server"]},
        "smpp-server-pb": {"bind": "127.0.0.1", "port": ports["smpp-server-pb"]},
        "client-management": {"bind": "127.0.0.1", "port": ports["client-management"]},
        "router": {"bind": "127.0.0.1", "port": ports["router"]},
        "http-api": {"bind": "127.0.0.1", "port": ports["http-api"]},
        "jcli": {"bind": "127.0.0.1", "port": ports["jcli"]},
        "amqp-broker": {"host": "127.0.0.1", "port": ports["amqp"], "spec": AMQP_SPEC},
        "redis-client": {"host": "127.0.0.1", "port": ports["redis"]},
        "deliversm-thrower": {"retry_delay": RETRY_DELAY},
        "dlr-thrower": {"retry_delay": RETRY_DELAY},
    }
    return "".join(
        f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in options.items())
        for name, options in sections.items()
    )


@contextlib.contextmanager
def jasmin(workdir: Path, amqp: int, redis: int, logs: list[Path]) -> Iterator[dict[str, int]]:
    """Run jasmind (with its DLR lookup and thrower) and the SMSC simulator; yield the ports."""
    names = ["smpp-server", "smpp-server-pb", "client-management", "router", "http-api", "jcli"]
    ports = {name: free_port() for name in [*names, "smsc", "smsc-control"]}
    ports.update(amqp=amqp, redis=redis)
    home = workdir / "jasmin"
    (home / "store").mkdir(parents=True)
    (home / "log").mkdir()
    config = home / "jasmin.cfg"
    config.write_text(jasmin_cfg(ports), encoding="utf-8")
    env = _plain_env(
        ROOT_PATH=str(home),
        CONFIG_PATH=str(home),
        STORE_PATH=str(home / "store"),
        LOG_PATH=str(home / "log"),
    )
    jasmind = [str(JASMIN_PYTHON), str(JASMIND), "-c", str(config)]
    jasmind += ["--enable-dlr-thrower", "--enable-dlr-lookup"]
    smsc = [str(JASMIN_PYTHON), str(SMSC_RUNNER), str(SIMULATOR_DIR)]
    smsc += [str(ports["smsc"]), str(ports["smsc-control"]), *REFUSED_NUMBERS]
    with contextlib.ExitStack() as stack:
        logs.append(stack.enter_context(group("smsc", smsc, workdir, _plain_env())))
        logs.append(stack.enter_context(group("jasmind", jasmind, workdir, env)))
        logs.append(home / "log" / "messages.log")
        wait_listening(ports["smsc-control"], "the SMSC simulator", logs)
        wait_listening(ports["jcli"], "jCli", logs)
        wait_listening(ports["http-api"], "Jasmin's HTTP API", logs)
        yield ports


# --- jCli: Jasmin's console is a telnet session -------------------------------------------

_IAC = 0xFF
_TELNET_PROMPTS = ("jcli : ", "> ")


def _without_telnet(data: bytes) -> str:
    """Drop telnet negotiation (IAC ...) and return the text."""
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == _IAC and i + 1 < len(data):
            command = data[i + 1]
            if command == 0xFA:  # sub-negotiation up to IAC SE
                end = data.find(bytes([_IAC, 0xF0]), i)
                i = end + 2 if end >= 0 else len(data)
            else:
                i += 3 if command in (0xFB, 0xFC, 0xFD, 0xFE) else 2
            continue
        out.append(data[i])
        i += 1
    return out.decode("utf-8", "replace").replace("\r", "")


class JCli:
    """One logged-in jCli session: type a line, get what Jasmin answered."""

    def __init__(self, port: int, timeout: float = 15.0) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._timeout = timeout
        self._read("Authentication required.")
        self.type(JCLI_USER, prompts=("Password: ",))
        self.type(JCLI_PASSWORD)

    def type(self, line: str, prompts: tuple[str, ...] = _TELNET_PROMPTS) -> str:
        """Send one line; return Jasmin's answer up to the next prompt."""
        self._sock.sendall(line.encode() + b"\r\n")
        return self._read(*prompts)

    def run(self, lines: list[str]) -> None:
        """Type each line; fail on the first answer that says something went wrong."""
        for line in lines:
            answer = self.type(line)
            if re.search(r"Error|Unknown|Incorrect|not valid|Invalid|could not", answer, re.I):
                pytest.fail(f"jCli refused {line!r}:\n{answer}")

    def close(self) -> None:
        """End the session."""
        with contextlib.suppress(OSError):
            self._sock.sendall(b"quit\r\n")
        self._sock.close()

    def _read(self, *prompts: str) -> str:
        data = b""
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            text = _without_telnet(data)
            if any(text.endswith(prompt) or text.rstrip().endswith(prompt) for prompt in prompts):
                return text
            self._sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self._sock.recv(4096)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
        pytest.fail(f"jCli did not prompt {prompts}: {_without_telnet(data)!r}")
