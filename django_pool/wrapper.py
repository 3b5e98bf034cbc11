"""PooledDatabaseWrapperMixin: where Django's connection handling meets the pool.

Django opens a connection in ``connect()`` (through ``get_new_connection``)
and drops it in ``close()`` (through ``_close``); with ``CONN_MAX_AGE = 0``
it does both once per request. The mixin turns the first into a checkout and
the second into a checkin, and changes nothing else: Django keeps working on
the raw driver connection (``self.connection``), never on a proxy, so
attribute writes such as ``autocommit`` reach the driver.
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.utils import DatabaseErrorWrapper
from django.utils.functional import cached_property

from . import registry
from .config import GLOBAL_SETTINGS, PoolOptions
from .driver import Driver
from .pool import INITIALIZED, DatabasePool
from .release import ReleaseWhenIdleMixin, check_vendor

__all__ = ["PooledDatabaseWrapperMixin"]

# True inside ``_nodb_cursor()``: the maintenance connections Django opens to
# create and drop test databases (including PostgreSQL's fallback to another
# database's NAME) are never pooled, or they would keep the database busy.
_unpooled: ContextVar[bool] = ContextVar("django_pool_unpooled", default=False)

# Settings keys that do not shape a physical connection.
_NOT_CONNECTION_KEYS = frozenset({"TEST", "CONN_MAX_AGE", "ATOMIC_REQUESTS"})

# Connections a forked child inherited from its parent: referenced forever so
# that garbage collection never closes the parent's sockets from the child.
_inherited: list[Any] = []


@dataclass(frozen=True)
class _Configured:
    """The settings a connection was built with that django-pool refuses."""

    max_age: float | None
    native_pool: bool

    @classmethod
    def of(cls, settings_dict: dict[str, Any]) -> _Configured:
        options = settings_dict.get("OPTIONS") or {}
        return cls(settings_dict.get("CONN_MAX_AGE", 0), bool(options.get("pool")))


class PooledDatabaseWrapperMixin(ReleaseWhenIdleMixin):
    """Mix into a Django ``DatabaseWrapper`` to draw its connections from a pool.

    Put it first: ``class DatabaseWrapper(PooledDatabaseWrapperMixin, base.DatabaseWrapper)``.
    A backend sets :attr:`pool_driver` and may override
    :meth:`prepare_pooled_connection` and :meth:`is_pooled`.
    """

    #: The vendor's knowledge of its DB-API connections.
    pool_driver: Driver = Driver()

    # Per-checkout state, on the wrapper (the pool keeps per-connection state).
    _pool: DatabasePool | None = None
    _pool_connection: Any = None  # sqlalchemy PoolProxiedConnection
    _pool_disconnected = False
    _pool_connecting = False  # inside connect(): a checkout
    _pool_judging: str | None = None  # inside Django's health checks: which one
    _pool_digest_cache: tuple[Any, str] | None = None

    def __init__(self, settings_dict: dict[str, Any], alias: str = DEFAULT_DB_ALIAS) -> None:
        super().__init__(settings_dict, alias)
        # Fail at first use of a misconfigured alias, not at its first query.
        try:
            options = PoolOptions.from_settings(alias, settings_dict)
            check_vendor(alias, self.vendor, options.release)
        except ImproperlyConfigured:
            # During django.setup() (a model's Meta asks connection.ops), let setup end so
            # that manage.py check reports django_pool.E003; _build_pool raises it again.
            if apps.ready:
                raise
        # The settings django-pool validates are the ones the connection was
        # built with (check_settings). Code that later edits a live
        # connection's settings_dict, as Django's own tests do, gets Django's
        # rules for what it wrote, as with the stock ENGINE: CONN_MAX_AGE=None
        # keeps the checkout across requests, OPTIONS["pool"] hands this
        # connection to Django's own pool. Django's pool works the same way:
        # it checks CONN_MAX_AGE once, when it is created.
        self._configured = _Configured.of(settings_dict)

    def copy(self, alias: str | None = None) -> Any:
        """Return a new wrapper for the same database, built from the same configuration."""
        twin = super().copy(alias)
        twin._configured = self._configured
        return twin

    def is_pooled(self) -> bool:
        """Return whether this wrapper's connections come from the pool."""
        return (
            self.alias != NO_DB_ALIAS
            and not _unpooled.get()
            and not self.settings_dict["OPTIONS"].get("pool")
        )

    def prepare_pooled_connection(self, connection: Any) -> None:
        """Set on this wrapper what the stock ``get_new_connection`` would have set.

        Called at every checkout, after the stock method ran once per physical
        connection (on whichever wrapper opened it).
        """

    @contextmanager
    def _nodb_cursor(self):
        with unpooled(), super()._nodb_cursor() as cursor:
            yield cursor

    # ##### Settings #####

    def check_settings(self) -> None:
        super().check_settings()
        where = f"settings.DATABASES[{self.alias!r}]"
        if self._configured.max_age != 0:
            raise ImproperlyConfigured(
                f"{where}['CONN_MAX_AGE'] is {self._configured.max_age!r}, "
                "but with django-pool the pool decides how long connections live. "
                f"Set it to 0 (and use {where}['POOL']['recycle'] to bound a "
                "connection's age)."
            )
        if self._configured.native_pool:
            raise ImproperlyConfigured(
                f"{where}['OPTIONS']['pool'] turns on Django's own connection pool, "
                "which cannot run together with django-pool. Remove it and put the "
                f"pool options in {where}['POOL']."
            )

    # ##### Checkout #####

    def connect(self) -> None:
        self._pool_connecting = True
        try:
            super().connect()
        except BaseException:
            # A connection that failed its setup goes back now (closed), not
            # whenever this wrapper happens to be closed.
            if self._pool_connection is not None:
                self._release_pooled(discard="setup failed")
                self.connection = None
            raise
        finally:
            self._pool_connecting = False

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        if not self.is_pooled():
            return super().get_new_connection(conn_params)
        pool = registry.get_or_create(self.alias, self._pool_digest(), self._build_pool)
        open_new = super().get_new_connection

        def connect() -> Any:
            try:
                return open_new(conn_params)
            except self.Database.Error as err:
                # Say which database; the driver's text never holds the password.
                raise OperationalError(
                    f"database {self.alias!r}: cannot open a connection: {err}"
                ) from err

        pooled = pool.checkout(connect)
        self._pool = pool
        self._pool_connection = pooled
        self._pool_disconnected = False
        self.track_checkout(pool.options.release)
        connection = pooled.driver_connection
        self.prepare_pooled_connection(connection)
        return connection

    def _pool_digest(self) -> str:
        # Everything that shapes a physical connection, hashed: the password
        # takes part but never leaves this function. The settings rarely
        # change, so comparing them with the last ones is all a checkout pays.
        shape = (
            [(k, v) for k, v in self.settings_dict.items() if k not in _NOT_CONNECTION_KEYS],
            settings.USE_TZ,
            settings.TIME_ZONE,
            [getattr(settings, name, None) for name in GLOBAL_SETTINGS],
        )
        cached = self._pool_digest_cache
        if cached is not None and cached[0] == shape:
            return cached[1]
        text = repr((type(self).__module__, sorted(shape[0]), *shape[1:]))
        digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        # A deep copy: settings are mutated in place (test databases), and a
        # shallow one would share the nested dicts it is compared with. Some
        # OPTIONS values (an SSL context) cannot be copied: then no cache.
        try:
            self._pool_digest_cache = (copy.deepcopy(shape), digest)
        except Exception:  # noqa: BLE001 - any failure only costs the cache
            self._pool_digest_cache = None
        return digest

    def _build_pool(self) -> DatabasePool:
        options = PoolOptions.from_settings(self.alias, self.settings_dict)
        check_vendor(self.alias, self.vendor, options.release)  # deferred by __init__ in setup
        pre_ping = options.pre_ping
        if pre_ping is None:
            pre_ping = bool(self.settings_dict["CONN_HEALTH_CHECKS"])
        return DatabasePool(
            alias=self.alias,
            database=str(self.settings_dict["NAME"]),
            options=options,
            driver=self.pool_driver,
            autocommit=self.settings_dict["AUTOCOMMIT"],
            pre_ping=pre_ping,
        )

    def init_connection_state(self) -> None:
        # Once per physical connection, as Django's own pool does: the session
        # settings it makes (time zone, isolation level, SQL_AUTO_IS_NULL) stay
        # with the connection, and re-sending them would cost round trips on
        # every checkout (two on MySQL).
        # Only a checkout skips it: a direct call (Django's tests make one)
        # means "run it now". The time zone is what a wrapper may see
        # differently (Django's tests delete its cached timezone_name and
        # change TIME_ZONE), so the skip holds only for the same one; reading
        # it also leaves the wrapper as the stock setup would.
        pooled = self._pool_connection
        time_zone = self.timezone_name
        set_up = pooled is not None and pooled.info.get(INITIALIZED) == time_zone
        if self._pool_connecting and set_up:
            return
        super().init_connection_state()
        if pooled is not None:
            pooled.info[INITIALIZED] = time_zone

    def _set_autocommit(self, autocommit: bool) -> None:
        # Checked-in connections are already in the configured mode; asking
        # again costs mysqlclient a round trip (SET autocommit) per checkout.
        if self._pool_connection is not None and (
            self.pool_driver.autocommit(self.connection) == autocommit
        ):
            return
        super()._set_autocommit(autocommit)

    # ##### Checkin #####

    def close_if_health_check_failed(self) -> None:
        # Whatever Django closes here failed its health check (is_usable may
        # be anyone's, even a test's mock): discard it, never check it in.
        self._judged("health check", super().close_if_health_check_failed)

    def close_if_unusable_or_obsolete(self) -> None:
        # Here Django closes a connection after an error only when is_usable()
        # said no, and errors_occurred is still set when it does.
        self._judged("request end", super().close_if_unusable_or_obsolete)

    def _judged(self, judgement: str, close_if: Callable[[], None]) -> None:
        # Run one of Django's close_if_* methods with _close() knowing which.
        # A plain call, not a context manager: this runs at every request end.
        self._pool_judging = judgement
        try:
            close_if()
        finally:
            self._pool_judging = None

    def _close(self) -> None:
        if self._pool_connection is None:
            return super()._close()
        # Closing inside atomic() leaves Django believing a transaction is
        # open; like the stock backend, really close the connection.
        if self.in_atomic_block:
            self._release_pooled(discard="closed inside atomic()")
            return
        unusable = self._pool_judging == "health check" or (
            self._pool_judging == "request end" and self.errors_occurred
        )
        self._release_pooled(discard="unusable" if unusable else None)
        # The connection now belongs to the pool: nothing here may touch it
        # again, even code that calls _close() and then close() (Django's own
        # tests do), which would otherwise close it under its next borrower.
        self.connection = None

    def _release_pooled(self, *, discard: str | None) -> None:
        pooled, self._pool_connection = self._pool_connection, None
        self.untrack_checkout()
        pool = self._pool
        if self._pool_disconnected:
            pool.mark_stale()
            discard = "disconnect"
        idle = self.autocommit and not self.in_atomic_block
        pool.checkin(pooled, discard=discard, idle=idle, reset_session=self._session_reset(pool))

    def _session_reset(self, pool: DatabasePool):
        hook = pool.options.reset_session
        if hook is True:
            return lambda connection: self.pool_driver.reset_session(connection, self.settings_dict)
        return hook or None

    def is_usable(self) -> bool:
        # Django's backends assume a connection; after a pooled _close() there
        # is none (it went back to the pool), so none is usable.
        return self.connection is not None and super().is_usable()

    @cached_property
    def wrap_database_errors(self) -> DatabaseErrorWrapper:
        return _DisconnectAwareErrorWrapper(self)


class _DisconnectAwareErrorWrapper(DatabaseErrorWrapper):
    """Django's error translator, which also notes disconnect-class errors.

    Every driver call Django makes runs inside ``wrap_database_errors``, so
    this sees each driver exception before Django translates it.
    """

    def __exit__(self, exc_type, exc_value, traceback):
        wrapper = self.wrapper
        if exc_value is not None and wrapper._pool_connection is not None:
            try:
                if wrapper.pool_driver.is_disconnect(exc_value, wrapper.connection):
                    wrapper._pool_disconnected = True
            except Exception:  # classification must never mask the real error
                wrapper._pool_disconnected = True
        return super().__exit__(exc_type, exc_value, traceback)


@contextmanager
def unpooled():
    """Open connections directly, bypassing the pool, inside this block."""
    token = _unpooled.set(True)
    try:
        yield
    finally:
        _unpooled.reset(token)


def _detach_after_fork() -> None:
    # The forking thread's wrappers survive in the child; their connections
    # are the parent's. Forget them, as close() would, without closing.
    for wrapper in connections.all(initialized_only=True):
        if getattr(wrapper, "_pool_connection", None) is None:
            continue
        _inherited.append((wrapper._pool_connection, wrapper.connection))
        wrapper._pool_connection = None
        wrapper.untrack_checkout()
        wrapper.connection = None
        if wrapper.in_atomic_block:
            wrapper.closed_in_transaction = True
            wrapper.needs_rollback = True


os.register_at_fork(after_in_child=_detach_after_fork)
