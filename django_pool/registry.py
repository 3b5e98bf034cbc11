"""The process's pools: one per (alias, digest of connection parameters).

Django builds a new ``DatabaseWrapper`` per thread (and per ``copy()``), so
pools cannot live on wrappers: they live here, process-wide, like Django's
own ``_connection_pools``. The key carries a digest of everything that shapes
a physical connection, so a changed ``DATABASES`` (a test database, an
``override_settings``) gets a new pool instead of the old one's connections.

After ``fork`` a child must never touch its parent's sockets: it forgets the
inherited pools without closing anything, and keeps them referenced so that
garbage collection cannot close the parent's sockets either.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from django.core.signals import setting_changed

from .config import GLOBAL_SETTINGS
from .pool import DatabasePool

__all__ = ["get_or_create", "pools", "retire", "settings_version"]

#: Bumped whenever a setting that shapes a pool changes (``override_settings``)
#: or pools are retired: a wrapper rechecks which pool is its own only then.
settings_version = 0
_SHAPING = frozenset({"DATABASES", "TIME_ZONE", "USE_TZ", *GLOBAL_SETTINGS})

_pools: dict[tuple[str, str], DatabasePool] = {}
_lock = threading.Lock()
_pid = os.getpid()
# Pools inherited through fork: referenced forever, never used, never closed.
_inherited: list[DatabasePool] = []


def get_or_create(alias: str, digest: str, build: Callable[[], DatabasePool]) -> DatabasePool:
    """Return the pool for *alias* and *digest*, building it with *build* once.

    A new digest for an alias retires that alias's older pools: their idle
    connections close now, their lent ones when returned.
    """
    if os.getpid() != _pid:  # a fork the at-fork hook missed; cheap to check
        _forget_inherited()
    key = (alias, digest)
    pool = _pools.get(key)
    if pool is not None:
        return pool
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            for old_key in [k for k in _pools if k[0] == alias]:
                _pools.pop(old_key).retire()
            pool = _pools[key] = build()
    return pool


def pools(alias: str | None = None) -> list[DatabasePool]:
    """Return the live pools, of one alias or all."""
    return [p for (a, _), p in list(_pools.items()) if alias is None or a == alias]


def retire(*, alias: str | None = None, database: str | None = None) -> int:
    """Retire the pools of *alias*, or those whose connections use *database*; or all.

    Return how many were retired.
    """
    with _lock:
        keys = [
            key
            for key, pool in _pools.items()
            if (alias is None or pool.alias == alias)
            and (database is None or pool.database == database)
        ]
        retired = [_pools.pop(key) for key in keys]
    _changed()
    for pool in retired:
        pool.retire()
    return len(retired)


def _changed() -> None:
    global settings_version
    settings_version += 1


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in _SHAPING:
        _changed()


setting_changed.connect(_on_setting_changed, dispatch_uid="django_pool.registry")


def _forget_inherited() -> None:
    global _lock, _pid
    # The lock may have been held by a parent thread that does not exist here.
    _lock = threading.Lock()
    _pid = os.getpid()
    # (pool.py forgets every pool of the process at the fork.)
    _inherited.extend(_pools.values())
    _pools.clear()


os.register_at_fork(after_in_child=_forget_inherited)
