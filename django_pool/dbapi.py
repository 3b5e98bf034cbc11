"""manage(): a pooled stand-in for any PEP 249 module, usable without Django.

What SQLAlchemy's ``pool.manage()`` did until 2.0 removed it, and what the
famous MySQL recipe relied on::

    import MySQLdb
    import django_pool

    MySQLdb = django_pool.manage(MySQLdb, pool_size=5, max_overflow=0)
    connection = MySQLdb.connect(host="db", user="app", database="app")
    ...
    connection.close()          # back to the pool, rolled back

Each distinct set of ``connect()`` arguments gets its own pool. The pools are
django-pool's own: bounded, fair, timed out with ``PoolTimeout``, counted.
"""

from __future__ import annotations

import os
import threading
import weakref
from types import ModuleType
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .config import PoolOptions, parse_options
from .driver import Driver
from .pool import DatabasePool

__all__ = ["PooledConnection", "PooledModule", "manage"]


def manage(module: ModuleType, **options: Any) -> PooledModule:
    """Return a pooled stand-in for the PEP 249 *module*.

    *options* are the ``POOL`` options (``pool_size``, ``max_overflow``,
    ``timeout``, ``recycle``, ``pre_ping``, ...), validated the same way.
    """
    parsed = parse_options("manage()", options)
    if parsed.get("release", "request") != "request":
        raise ImproperlyConfigured(
            "manage()['release'] applies to Django connections only: a manage() "
            "connection goes back to its pool when you close() it."
        )
    return PooledModule(module, PoolOptions(**parsed))


class PooledModule:
    """Everything of the wrapped module, but ``connect()`` draws from a pool."""

    def __init__(self, module: ModuleType, options: PoolOptions) -> None:
        self._module = module
        self._options = options
        self._pools: dict[Any, DatabasePool] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._inherited: list[DatabasePool] = []  # a parent's, kept alive, never used

    def __getattr__(self, name: str) -> Any:
        # Exceptions, paramstyle, type constructors: the module's own.
        return getattr(self._module, name)

    def connect(self, *args: Any, **kwargs: Any) -> PooledConnection:
        """Return a pooled connection for these arguments; ``close()`` gives it back."""
        if os.getpid() != self._pid:
            # Forked: the parent's connections are not ours to use or close.
            self._inherited += self._pools.values()
            self._pools, self._lock, self._pid = {}, threading.Lock(), os.getpid()
        key = repr((args, sorted(kwargs.items())))  # the pool's identity, never shown
        pool = self._pools.get(key)
        if pool is None:
            with self._lock:
                pool = self._pools.get(key)
                if pool is None:
                    pool = self._pools[key] = DatabasePool(
                        alias=f"{self._module.__name__}#{len(self._pools) + 1}",
                        database="",
                        options=self._options,
                        driver=Driver(),
                        autocommit=None,
                        pre_ping=bool(self._options.pre_ping),
                    )
        connection = PooledConnection(pool)
        lease = pool.checkout(
            lambda: (self._module.connect(*args, **kwargs), None), weakref.ref(connection)
        )
        object.__setattr__(connection, "_pooled", lease)
        object.__setattr__(connection, "_connection", lease.connection)
        return connection

    def dispose(self) -> None:
        """Close every pool's connections (lent ones when they come back)."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.retire()

    def get_stats(self) -> dict[str, dict[str, Any]]:
        """Return each pool's stats, keyed by ``<module>#<n>`` (never the arguments)."""
        return {pool.alias: pool.status() for pool in list(self._pools.values())}


class PooledConnection:
    """The driver's connection, whose ``close()`` returns it to the pool.

    Attribute reads and writes go to the driver's connection itself (a write
    on a proxy that kept it would be lost: ``autocommit`` is the classic).
    """

    __slots__ = ("__weakref__", "_connection", "_pool", "_pooled")

    def __init__(self, pool: DatabasePool) -> None:
        object.__setattr__(self, "_pool", pool)
        object.__setattr__(self, "_pooled", None)
        object.__setattr__(self, "_connection", None)

    def __getattr__(self, name: str) -> Any:
        connection = object.__getattribute__(self, "_connection")
        if connection is None:
            raise self._pool.driver.closed_error()
        return getattr(connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._connection, name, value)

    def close(self) -> None:
        """Roll back and return the connection to its pool; later use raises."""
        pooled = self._pooled
        if pooled is None:
            return
        object.__setattr__(self, "_pooled", None)
        object.__setattr__(self, "_connection", None)
        self._pool.checkin(pooled, discard=None, idle=False)
