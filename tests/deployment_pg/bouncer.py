"""A PgBouncer instance of the test's own, in front of a PostgreSQL server, on a free port.

Debian's ``pgbouncer`` binary (``scripts/deploy-pg-deps.sh`` installs it),
trust auth with an ``auth_file``, run as the ``postgres`` OS user when we are
root (PgBouncer refuses root). Its admin console (``SHOW SERVERS``,
``SHOW CLIENTS``) is the witness: it counts only this instance's sessions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .cluster import free_port


def binary() -> str | None:
    """Return the pgbouncer executable, or None."""
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None
    )


class PgBouncer:
    """Start with :meth:`start`, stop with :meth:`stop`; *pool_mode* and sizes as given."""

    def __init__(
        self,
        *,
        server_port: int,
        database: str,
        pool_mode: str,
        default_pool_size: int,
        max_client_conn: int = 100,
    ) -> None:
        self.port = free_port()
        self.pool_mode = pool_mode
        self.default_pool_size = default_pool_size
        self.directory = Path(tempfile.mkdtemp(prefix="django_pool_pgbouncer_"))
        self.log = self.directory / "pgbouncer.log"
        (self.directory / "userlist.txt").write_text('"postgres" ""\n')
        (self.directory / "pgbouncer.ini").write_text(
            f"""\
[databases]
{database} = host=127.0.0.1 port={server_port} dbname={database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.directory}/userlist.txt
admin_users = postgres
pool_mode = {pool_mode}
default_pool_size = {default_pool_size}
max_client_conn = {max_client_conn}
logfile = {self.log}
pidfile = {self.directory}/pgbouncer.pid
"""
        )
        if os.geteuid() == 0:
            for path in (self.directory, *self.directory.iterdir()):
                shutil.chown(path, "postgres")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> None:
        """Start it in the foreground (our child) and wait until its console answers."""
        command = [binary(), str(self.directory / "pgbouncer.ini")]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.show("VERSION")
                return
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log.read_text() if self.log.exists() else ""
                    self.stop()
                    raise RuntimeError(f"pgbouncer did not start: {log[-2000:]}") from None
                time.sleep(0.02)

    def show(self, what: str) -> list[dict]:
        """Return ``SHOW <what>`` from the admin console, one dict per row."""
        # psycopg2: the console speaks only the simple query protocol.
        import psycopg2

        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="pgbouncer"
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f"SHOW {what}")
                names = [c.name for c in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            conn.close()

    def count(self, what: str, database: str) -> int:
        """Return how many ``SHOW SERVERS`` or ``SHOW CLIENTS`` rows are for *database*."""
        return sum(1 for row in self.show(what) if row["database"] == database)

    def stop(self) -> None:
        """Stop it (SIGTERM to our child; runuser passes it on) and remove its folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
