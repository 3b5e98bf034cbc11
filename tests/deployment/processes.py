"""Start real servers and workers as subprocesses, drive traffic, watch the database server.

Every wait here has a deadline and fails with the component's own log; no
sleep-and-hope. Subprocesses run in their own session (process group), so a
stop reaches the workers a server forked, and nothing outlives its test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connections

from tests.conftest import _require
from tests.helpers import Server

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DRIVERS = {"postgresql": ("psycopg", "psycopg2"), "mysql": ("mysqlclient", "pymysql")}


@contextlib.contextmanager
def witness(alias: str) -> Iterator[Server]:
    """Yield the server witness of *alias*'s test database, as the ``server`` fixture does.

    For tests whose parameters pick the vendor themselves (a driver belongs to
    one server): skips loudly when the server is absent, fails under CI.
    """
    _require(alias)
    server = Server(alias)
    server.wait_until(lambda: not server.session_ids(), "earlier tests' sessions to end")
    try:
        yield server
    finally:
        server.close()


def free_port() -> int:
    """Return a TCP port free on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_env(alias: str, driver: str, **pool: Any) -> dict[str, str]:
    """Return the environment that points the project at *alias*'s test database.

    The subprocesses use the test's own (per-pid) test database, so the
    server's session count on it is theirs alone.
    """
    s = connections[alias].settings_dict
    database = {
        key: s[key] for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    }
    database.update(CONN_MAX_AGE=0, POOL=pool)
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.deployment.project.settings",
        DEPLOY_DATABASE=json.dumps(database),
        DEPLOY_DRIVER=driver,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


class Process:
    """A subprocess in its own process group, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self, tail: int = 4000) -> str:
        """Return the end of the process's output."""
        text = self.log_path.read_text(errors="replace")
        return text[-tail:]

    def fail(self, message: str) -> None:
        """Fail the test with *message* and this process's output."""
        pytest.fail(f"{message}\n--- {Path(self.args[0]).name} output ---\n{self.log()}")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 20.0) -> int | None:
        """Ask the process to stop (SIGTERM), wait, then kill its group; return its exit code."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        # Forked children (gunicorn workers) are in the same group: none may outlive it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self._log.close()
        return self.popen.returncode


def wait_for(
    condition: Callable[[], Any], what: str, timeout: float, process: Process | None = None
) -> Any:
    """Poll *condition* until it returns something true; fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if process is not None and not process.alive():
            process.fail(f"exited (code {process.popen.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            message = f"timed out after {timeout:g} s waiting for {what}"
            if process is not None:
                process.fail(message)
            pytest.fail(message)
        time.sleep(0.02)


def wait_for_http(url: str, process: Process, timeout: float = 30.0) -> None:
    """Wait until *url* answers (any HTTP status)."""

    def answers() -> bool:
        try:
            httpx.get(url, timeout=2)
        except httpx.HTTPError:
            return False
        return True

    wait_for(answers, f"{url} to answer", timeout, process)


def drive(urls: Iterable[str], concurrency: int, timeout: float = 60.0) -> list[httpx.Response]:
    """GET every URL, *concurrency* at a time; fail if the whole lot takes over *timeout* s."""

    async def run() -> list[httpx.Response]:
        # No keep-alive: a worker that exits (--max-requests) closes its idle
        # client connections, and a request sent on one at that moment fails
        # in the client, not in the server.
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:

            async def get(url: str) -> httpx.Response:
                async with gate:
                    return await client.get(url)

            return await asyncio.wait_for(
                asyncio.gather(*(get(url) for url in urls)), timeout=timeout
            )

    return asyncio.run(run())


class SessionWatch:
    """Sample the server's sessions on the test database from a thread, while traffic runs.

    ``peak`` is the most sessions seen at once, ``seen`` every session id seen.
    Sampling can miss a peak, never invent one: a bound it reports broken is broken.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0
        self.samples = 0
        self.seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="session-watch", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            ids = self.server.session_ids()
            self.peak = max(self.peak, len(ids))
            self.seen |= ids
            self.samples += 1
            self._stop.wait(0.01)

    def __enter__(self) -> SessionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)
