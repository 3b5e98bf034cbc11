"""Fixtures for the PostgreSQL deployment tests: a primary+standby pair, aliases on it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import pytest
from django.db import connections

import django_pool

from .cluster import Cluster, missing_tools

DATABASE = "app"


def require(reason: str | None) -> None:
    """Skip loudly when a component is missing; fail instead when CI is set."""
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: components are required)")
    pytest.skip(reason)


def _cluster() -> Iterator[Cluster]:
    require(missing_tools())
    pair = Cluster()
    try:
        pair.build(DATABASE)
        yield pair
    finally:
        pair.close()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """Return a new primary with a streaming standby, database ``app`` on both, for one test."""
    yield from _cluster()


@pytest.fixture(scope="module")
def shared_cluster() -> Iterator[Cluster]:
    """Return a primary+standby pair shared by a module's tests: leave it as found."""
    yield from _cluster()


@pytest.fixture
def add_alias(django_db_blocker) -> Iterator[Callable[..., str]]:
    """Return ``add(alias, settings_dict)``: a pooled alias for the test; gone afterwards."""
    added: list[str] = []

    def add(alias: str, settings_dict: dict) -> str:
        # configure_settings() fills in Django's defaults; it insists on a default alias.
        configured = connections.configure_settings({"default": {}, alias: settings_dict})
        connections.settings[alias] = configured[alias]
        added.append(alias)
        return alias

    with django_db_blocker.unblock():
        yield add
    for connection in connections.all(initialized_only=True):
        if connection.alias in added:
            connection.close()
    for alias in added:
        # This thread's wrapper too: the next test's alias of that name has new settings.
        with contextlib.suppress(AttributeError):
            del connections[alias]
        del connections.settings[alias]
        django_pool.dispose(alias)
