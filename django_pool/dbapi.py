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

With ``use_threadlocal`` (the default, as in the SQLAlchemy releases the
recipes were written for), ``connect()`` in a thread that already holds a
connection for the same arguments returns that same connection: nested code
shares one connection, hence one transaction, and never waits for a second
one. The connection goes back to the pool when its last holder closes it.
``unique_connection()`` always checks out a connection of its own.
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
from .lease import holder_collected
from .pool import DatabasePool, PoolRetired

__all__ = ["PooledConnection", "PooledModule", "manage"]


def manage(module: ModuleType, *, use_threadlocal: bool = True, **options: Any) -> PooledModule:
    """Return a pooled stand-in for the PEP 249 *module*.

    *options* are the ``POOL`` options (``pool_size``, ``max_overflow``,
    ``timeout``, ``recycle``, ``pre_ping``, ...), validated the same way.
    With *use_threadlocal*, a thread's ``connect()`` calls with the same
    arguments share the connection it already holds.
    """
    if not isinstance(use_threadlocal, bool):
        raise ImproperlyConfigured(
            f"manage()['use_threadlocal'] must be True or False, not {use_threadlocal!r}."
        )
    parsed = parse_options("manage()", options)
    if parsed.get("release", "request") != "request":
        raise ImproperlyConfigured(
            "manage()['release'] applies to Django connections only: a manage() "
            "connection goes back to its pool when you close() it."
        )
    checked = PoolOptions.from_parsed(
        parsed, dict.fromkeys(parsed, "manage()"), default_origin="manage()"
    )
    return PooledModule(module, checked, use_threadlocal=use_threadlocal)


class PooledModule:
    """Everything of the wrapped module, but ``connect()`` draws from a pool."""

    def __init__(
        self, module: ModuleType, options: PoolOptions, *, use_threadlocal: bool = True
    ) -> None:
        self._module = module
        self._options = options
        self.use_threadlocal = use_threadlocal
        """Whether a thread's ``connect()`` returns the connection it already holds."""
        self._pools: dict[str, DatabasePool] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._inherited: list[DatabasePool] = []  # a parent's, kept alive, never used
        # Per thread: pool key -> weak reference to the connection it holds.
        # Weak, so that a connection dropped without close() is still
        # garbage collected (and so returned).
        self._held = threading.local()
        self._closed_error = _closed_error(module)

    def __getattr__(self, name: str) -> Any:
        # Exceptions, paramstyle, type constructors: the module's own.
        return getattr(self._module, name)

    def connect(self, *args: Any, **kwargs: Any) -> PooledConnection:
        """Return a pooled connection for these arguments; ``close()`` gives it back.

        With ``use_threadlocal``, a connection this thread already holds for
        the same arguments is returned again (one more holder).
        """
        if not self.use_threadlocal:
            return self.unique_connection(*args, **kwargs)
        key = self._key(args, kwargs)
        held: dict[str, weakref.ref[PooledConnection]] = self._held.__dict__.setdefault(
            "connections", {}
        )
        ref = held.get(key)
        connection = ref() if ref is not None else None
        if connection is not None and connection._hold():
            return connection
        connection = self._checkout(key, args, kwargs)
        held[key] = weakref.ref(connection)
        return connection

    def unique_connection(self, *args: Any, **kwargs: Any) -> PooledConnection:
        """Return a connection of its own, even where ``connect()`` would share one."""
        return self._checkout(self._key(args, kwargs), args, kwargs)

    def _key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        if os.getpid() != self._pid:
            # Forked: the parent's connections are not ours to use or close.
            self._inherited += self._pools.values()
            self._pools, self._lock, self._pid = {}, threading.Lock(), os.getpid()
            self._held = threading.local()
        return repr((args, sorted(kwargs.items())))  # the pool's identity, never shown

    def _checkout(
        self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> PooledConnection:
        pool = self._pools.get(key)
        if pool is None:
            with self._lock:
                pool = self._pools.get(key)
                if pool is None:
                    pool = self._pools[key] = DatabasePool(
                        alias=f"{self._module.__name__}#{len(self._pools) + 1}",
                        database=_database_named(kwargs),
                        options=self._options,
                        driver=Driver(),
                        autocommit=None,
                        pre_ping=bool(self._options.pre_ping),
                        setting="manage()",
                    )
        connection = PooledConnection(pool, self._closed_error)
        try:
            # The lease goes back to the pool if the proxy is collected unclosed.
            lease = pool.checkout(
                # The module's own connect, as called: its arguments say
                # its timeouts (the seconds left are not passed on).
                lambda _seconds_left: (self._module.connect(*args, **kwargs), None),
                weakref.ref(connection, holder_collected),
            )
        except PoolRetired:  # dispose() while this waited: the new pool for these arguments
            return self._checkout(key, args, kwargs)
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
    Once returned, any use raises the module's ``InterfaceError``, as a closed
    PEP 249 connection does.
    """

    __slots__ = ("__weakref__", "_closed_error", "_connection", "_holders", "_pool", "_pooled")

    def __init__(self, pool: DatabasePool, closed_error: type[Exception]) -> None:
        object.__setattr__(self, "_pool", pool)
        object.__setattr__(self, "_pooled", None)  # the Lease, once checked out
        object.__setattr__(self, "_connection", None)
        object.__setattr__(self, "_closed_error", closed_error)
        object.__setattr__(self, "_holders", 1)

    def _hold(self) -> bool:
        # One more holder in the owning thread; False if already returned.
        if self._pooled is None:
            return False
        object.__setattr__(self, "_holders", self._holders + 1)
        return True

    def _live(self) -> Any:
        connection = object.__getattribute__(self, "_connection")
        if connection is None:
            raise self._closed_error("this pooled connection was closed (returned to its pool)")
        return connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._live(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._live(), name, value)

    def close(self) -> None:
        """Release this holder; the last one's close rolls back and returns the connection.

        Closing a connection already returned does nothing, as PEP 249 drivers
        mostly allow.
        """
        pooled = self._pooled
        if pooled is None:
            return
        if self._holders > 1:
            object.__setattr__(self, "_holders", self._holders - 1)
            return
        loan = pooled.loan
        try:
            object.__setattr__(self, "_pooled", None)
            object.__setattr__(self, "_connection", None)
            self._pool.checkin(pooled, discard=None, idle=False)
        except BaseException:  # interrupted before the checkin claimed it: close it
            if loan is not None and pooled.loan is loan:
                self._pool.checkin(pooled, discard="interrupted", idle=False)
            raise


def _closed_error(module: ModuleType) -> type[Exception]:
    # PEP 249: using a closed connection raises the module's InterfaceError.
    error = getattr(module, "InterfaceError", None)
    if isinstance(error, type) and issubclass(error, Exception):
        return error
    return RuntimeError


def _database_named(kwargs: dict[str, Any]) -> str:
    # The database a connect() call names by keyword (PEP 249 drivers spell
    # it three ways), for stats and the test databases' teardown. Never a
    # positional DSN: it may hold the password.
    for key in ("database", "db", "dbname"):
        if isinstance(kwargs.get(key), str):
            return kwargs[key]
    return ""
