"""Fixtures shared by every test: vendors, pool settings, and the server as witness."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

import django_pool

from .helpers import Server

SERVER_VENDORS = ["postgresql", "mysql"]
ALL_VENDORS = ["sqlite", *SERVER_VENDORS]
ALIASES = {"sqlite": "default", "postgresql": "postgresql", "mysql": "mysql"}


def pytest_report_header(config):
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    lines = [
        f"django-pool drivers: {settings.DRIVERS} "
        f"(PostgreSQL via {'psycopg 3' if is_psycopg3 else 'psycopg2'})"
    ]
    for alias, reason in settings.UNAVAILABLE.items():
        lines.append(f"!!! {alias} UNAVAILABLE, its tests will skip: {reason}")
    return lines


def pytest_terminal_summary(terminalreporter):
    for alias, reason in settings.UNAVAILABLE.items():
        terminalreporter.write_line(
            f"!!! {alias} server unavailable ({reason}): its tests were SKIPPED", red=True
        )


def _require(alias: str) -> None:
    """Skip (fail under CI) when *alias*'s server is absent; else start from fresh pools."""
    if alias in settings.COVERED_ELSEWHERE:
        pytest.skip(f"{alias}: {settings.COVERED_ELSEWHERE[alias]}")
    reason = settings.UNAVAILABLE.get(alias)
    if reason is not None:
        message = f"{alias} server unavailable: {reason}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set: servers are required)")
        pytest.skip(message)
    # Whatever the test database setup left in the pool is not this test's.
    for connection in connections.all(initialized_only=True):
        connection.close()
    django_pool.dispose()


def _vendor_params(vendors: list[str]) -> list[str]:
    # The alternate drivers change nothing for SQLite; run it once.
    if settings.DRIVERS == "alt":
        return [v for v in vendors if v != "sqlite"]
    return vendors


@pytest.fixture(params=_vendor_params(ALL_VENDORS))
def vendor(request) -> str:
    """Return the alias of a pooled database, one per vendor."""
    alias = ALIASES[request.param]
    _require(alias)
    return alias


@pytest.fixture(params=_vendor_params(SERVER_VENDORS))
def server_vendor(request) -> str:
    """Return the alias of a pooled database on a server (PostgreSQL, MariaDB)."""
    alias = ALIASES[request.param]
    _require(alias)
    return alias


@pytest.fixture
def configure_pool() -> Iterator[Callable[..., None]]:
    """Return ``configure(alias, **pool_options)``; settings come back after the test.

    Every thread's wrapper shares the alias's settings dict (Django passes the
    same object), so changing it here changes the pool all threads draw from.
    """
    saved: dict[str, dict[str, Any]] = {}

    def configure(
        alias: str, *, health_checks: bool = False, settings: dict | None = None, **pool: Any
    ) -> None:
        settings_dict = connections.settings[alias]
        saved.setdefault(alias, dict(settings_dict))
        connections[alias].close()
        settings_dict.update(settings or {})
        # Production's sessions, not a test database's reset (tests/settings.py).
        settings_dict["POOL"] = {"reset_session": False, **pool}
        settings_dict["CONN_HEALTH_CHECKS"] = health_checks

    yield configure
    for alias, original in saved.items():
        connections[alias].close()
        settings_dict = connections.settings[alias]
        settings_dict.clear()
        settings_dict.update(original)
    django_pool.dispose()


@pytest.fixture(autouse=True)
def _release_pools() -> Iterator[None]:
    yield
    for connection in connections.all(initialized_only=True):
        connection.close()
    django_pool.dispose()


@pytest.fixture
def server(server_vendor) -> Iterator[Server]:
    """Return the :class:`Server` witness for ``server_vendor``'s test database."""
    witness = Server(server_vendor)
    # The server ends a session after its client has gone: an earlier test's
    # may still be listed, and every count here starts from none.
    witness.wait_until(lambda: not witness.session_ids(), "earlier tests' sessions to end")
    yield witness
    witness.close()
