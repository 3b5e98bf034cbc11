"""A PostgreSQL primary and its streaming standby, from the machine's binaries, on free ports.

initdb, ``pg_basebackup -R``, ``pg_ctl`` in a temporary folder owned by the
``postgres`` OS user (PostgreSQL refuses to run as root). Every wait is on a
condition with a deadline: ``pg_ctl -w``, and the standby's replay position.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.faults.disposable import _bin

#: A role that must give a password (scram-sha-256); every other role is trusted.
PASSWORD_USER = "django_pool_pw"
PASSWORD = "right-pw-never-logged"

_HBA = f"""\
local all all trust
host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
"""


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing_tools() -> str | None:
    """Return why a cluster cannot be built here, or None."""
    for name in ("initdb", "pg_ctl", "pg_basebackup"):
        if _bin(name) is None:
            return f"{name} not found (install postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


def _run(*command: str, timeout: float = 120) -> str:
    args = list(command)
    if os.geteuid() == 0:  # the server refuses root: run as postgres
        args = ["runuser", "-u", "postgres", "--", *args]
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


class Instance:
    """One server: a data folder and a port."""

    def __init__(self, data: Path, port: int) -> None:
        self.data = data
        self.port = port
        self.log = data.parent / f"{data.name}.log"

    def start(self) -> None:
        """Start it and wait until it accepts connections (a standby: read-only ones).

        The port was free when chosen; other processes on the machine may take
        it meanwhile: then start again on another.
        """
        for attempt in range(3):
            options = (
                f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c max_connections=60"
            )
            try:
                _run(
                    _bin("pg_ctl"),
                    *("-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"),
                )
                return
            except RuntimeError as err:
                log = self.log.read_text(errors="replace") if self.log.exists() else ""
                if "could not bind" not in log or attempt == 2:
                    raise RuntimeError(f"{err}\n{self.data.name} log:\n{log[-3000:]}") from None
                self.log.unlink()
                self.port = free_port()

    def stop(self) -> None:
        """Fast shutdown: sessions are terminated, the server is gone when this returns."""
        _run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop_if_running(self) -> None:
        """Stop it unless it is stopped already (teardown)."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self.stop()

    def promote(self) -> None:
        """Promote a standby; return once it accepts writes."""
        _run(_bin("pg_ctl"), "-D", str(self.data), "-w", "promote")

    def connect(self, dbname: str = "postgres", **kwargs: Any):
        """Return a direct (unpooled) autocommit driver connection, for setup and witness."""
        from django.db.backends.postgresql.base import Database

        conn = Database.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, **kwargs
        )
        conn.autocommit = True
        return conn

    def query(self, sql: str, params: tuple = (), dbname: str = "postgres") -> list[tuple]:
        """Run *sql* on a fresh connection; return its rows (none for a command)."""
        conn = self.connect(dbname)
        try:
            cursor = conn.cursor()
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            conn.close()


class Cluster:
    """A primary and a streaming standby of it, in a temporary folder; :meth:`close` removes all."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="django_pool_cluster_"))
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        self.primary = Instance(self.directory / "primary", free_port())
        self.standby = Instance(self.directory / "standby", free_port())

    def build(self, database: str) -> None:
        """Create, start and replicate; *database* exists on both, with the password role."""
        primary, standby = self.primary, self.standby
        _run(
            _bin("initdb"),
            "-D",
            str(primary.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        hba = primary.data / "pg_hba.conf"
        hba.write_text(_HBA)
        primary.start()
        primary.query(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'")
        primary.query(f'CREATE DATABASE "{database}"')
        _run(
            _bin("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(standby.data),
            "-R",  # standby.signal and primary_conninfo
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        standby.start()
        self.wait_for_replay()

    def wait_for_replay(self, timeout: float = 30) -> None:
        """Wait until the standby has replayed everything the primary wrote so far."""
        (target,) = self.primary.query("SELECT pg_current_wal_lsn()::text")[0]
        deadline = time.monotonic() + timeout
        while True:
            rows = self.standby.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,))
            if rows and rows[0][0]:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"standby did not replay up to {target} in {timeout} s")
            time.sleep(0.02)

    def close(self) -> None:
        """Stop both servers and remove the folder."""
        for instance in (self.standby, self.primary):
            instance.stop_if_running()
        shutil.rmtree(self.directory, ignore_errors=True)
