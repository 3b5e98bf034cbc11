"""One SQLAlchemy pool for one database target, and the rules for lending from it.

SQLAlchemy does the pooling: sizes, overflow, waiting, recycling. This module
adds what a bare ``sqlalchemy.pool.Pool`` cannot know, all through its public
API (``creator``, pool events, ``PoolProxiedConnection``):

* the creator runs the *checking-out* wrapper's stock ``get_new_connection``,
  so vendor setup happens once per physical connection;
* pre-ping through the vendor's :class:`~django_pool.driver.Driver` (a pool
  without a dialect cannot ping by itself);
* a connection goes back only clean, else it is closed;
* one disconnect marks every older connection stale (a server restart costs
  the requests in flight, not one failed request per pooled connection);
* a retired pool (test database dropped, settings changed) closes what comes
  back instead of keeping it.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.pool import Pool, PoolProxiedConnection, QueuePool

from .config import PoolOptions
from .driver import Driver
from .errors import PoolTimeout
from .gate import FairGate
from .stats import PoolStats

__all__ = ["DatabasePool"]

logger = logging.getLogger(__name__)

# Keys in each connection record's ``info`` dict, which lives as long as the
# physical connection.
_BORN = "django_pool.born"  # time.monotonic() when opened
_FRESH = "django_pool.fresh"  # opened by this checkout: no need to ping
_RECYCLE_AT = "django_pool.recycle_at"  # time.monotonic() after which it is replaced
_RETURNED = "django_pool.returned"  # time.monotonic() of its last checkin
_CLEANED = "django_pool.cleaned"  # checkin already cleaned it; skip the reset hook
#: Set in ``info`` once Django's per-connection setup ran on it (wrapper.py).
INITIALIZED = "django_pool.initialized"
# In ``record_info`` (which outlives reconnects): this checkout holds a gate
# permit; the checkout event fired for it. SQLAlchemy also fires "checkin" for
# a checkout that failed to reconnect, which had neither.
_PERMIT = "django_pool.permit"
_LENT = "django_pool.lent"


class DatabasePool:
    """A SQLAlchemy pool for one (alias, connection parameters) target.

    *autocommit* is the database's ``AUTOCOMMIT`` setting: every connection
    goes back to the pool in that mode.
    """

    def __init__(
        self,
        *,
        alias: str,
        database: str,
        options: PoolOptions,
        driver: Driver,
        autocommit: bool,
        pre_ping: bool,
    ) -> None:
        self.alias = alias
        #: Database name the pool's connections use (for test DB teardown).
        self.database = database
        self.options = options
        self.driver = driver
        self.autocommit = autocommit
        self.pre_ping = pre_ping
        self.stats = PoolStats()
        #: Set once the pool must hand out nothing more and keep nothing back.
        self.retired = False
        # Connections opened before this instant are replaced at checkout.
        self._stale_before = float("-inf")
        # The creator must open a connection for the wrapper that asked; a
        # SQLAlchemy creator takes no argument, and runs in the caller's thread.
        self._local = threading.local()
        # Lent connections: id(record_info) -> (owner thread, weak ref to the
        # lent connection), to reclaim those whose thread ended holding them.
        self._lent: dict[int, tuple[threading.Thread, weakref.ref]] = {}
        self._pool = self._build()

    def _build(self) -> Pool:
        pool_cls, kwargs = self.options.sqlalchemy_pool_arguments()
        # Cleaning is ours (``checkin`` and ``_on_reset``): the driver knows
        # whether a rollback is needed; SQLAlchemy would always send one.
        kwargs["reset_on_return"] = None
        pool = pool_cls(lambda: self._local.creator(), **kwargs)
        # Only a QueuePool bounds its connections; the gate makes it fair.
        self._gate = (
            FairGate(self.options.pool_size + self.options.max_overflow)
            if issubclass(pool_cls, QueuePool)
            else None
        )
        event.listen(pool, "connect", self._on_connect)
        event.listen(pool, "checkout", self._on_checkout)
        event.listen(pool, "checkin", self._on_checkin)
        event.listen(pool, "reset", self._on_reset)
        self.stats.attach(pool)
        return pool

    # ##### Lending #####

    def checkout(self, creator: Callable[[], Any]) -> PoolProxiedConnection:
        """Return a connection from the pool; *creator* opens one if needed.

        Waiters are served in arrival order. Raise
        :class:`~django_pool.PoolTimeout` after ``timeout`` seconds.
        """
        gate = self._gate
        if gate is not None and not self._wait_for_permit(gate):
            self.stats.bump(PoolStats.TIMEOUTS_NUM)
            raise PoolTimeout(self._timeout_message())
        self._local.creator = creator
        try:
            connection = self._pool.connect()
        except exc.TimeoutError:
            # Only reachable without the gate (a custom QueuePool subclass
            # that changes the bound): same error, same message.
            self.stats.bump(PoolStats.TIMEOUTS_NUM)
            raise PoolTimeout(self._timeout_message()) from None
        except BaseException:
            if gate is not None:
                gate.release()
            raise
        finally:
            self._local.creator = None
        record_info = connection.record_info
        if gate is not None:
            record_info[_PERMIT] = True
        self._lent[id(record_info)] = (threading.current_thread(), weakref.ref(connection))
        return connection

    def _wait_for_permit(self, gate: FairGate) -> bool:
        # Wait in slices: between them, take back connections whose thread
        # ended without returning them (their wrapper may wait long for the
        # garbage collector).
        deadline = time.monotonic() + self.options.timeout
        while True:
            if gate.free == 0:
                self._reclaim_from_dead_threads()
            remaining = deadline - time.monotonic()
            if gate.acquire(timeout=max(0.0, min(remaining, 1.0))):
                return True
            if remaining <= 1.0:
                return False

    def _reclaim_from_dead_threads(self) -> None:
        for owner, ref in list(self._lent.values()):
            connection = ref()
            if owner.is_alive() or connection is None:
                continue
            logger.warning(
                "database %r: thread %r ended without returning its connection; closing it",
                self.alias,
                owner.name,
            )
            # Closes it and gives its place back (the checkin event follows).
            with contextlib.suppress(Exception):
                connection.invalidate()

    def checkin(
        self,
        connection: PoolProxiedConnection,
        *,
        reusable: bool,
        idle: bool,
        reset_session: Callable[[Any], bool] | None = None,
    ) -> None:
        """Give *connection* back: clean and pooled, or closed.

        *reusable* is False when the caller saw it break or leaves it mid-atomic.
        *idle* is the caller's word that no transaction is open, used where the
        driver cannot tell without a round trip. *reset_session*, if given,
        undoes session state; it returns False when it cannot (then the
        connection is closed).
        """
        # Released after the connection is back in the pool, so the next
        # waiter finds it there instead of opening an overflow connection.
        permit = connection.record_info.pop(_PERMIT, False)
        info = connection.info
        try:
            if (
                reusable
                and not self.retired
                and time.monotonic() < info.get(_RECYCLE_AT, float("inf"))
                and self._clean(connection.driver_connection, idle)
                and (reset_session is None or self._reset(connection, reset_session))
            ):
                info[_CLEANED] = True
                info[_RETURNED] = time.monotonic()
            else:
                logger.debug("database %r: closing returned connection", self.alias)
                connection.invalidate()
        finally:
            connection.close()
            if permit:
                self._gate.release()

    def _reset(self, connection: PoolProxiedConnection, reset_session) -> bool:
        try:
            if not reset_session(connection.driver_connection):
                return False
        except Exception as err:
            logger.warning(
                "database %r: discarding a connection whose session reset failed: %s",
                self.alias,
                type(err).__name__,
            )
            return False
        # The reset also undid Django's per-connection setup: redo it.
        connection.info.pop(INITIALIZED, None)
        return True

    def mark_stale(self) -> None:
        """Replace every connection opened before now at its next checkout.

        Called after a disconnect-class error: when one connection died, the
        server probably restarted and the others are dead too (SQLAlchemy's
        engine does the same on a disconnect).
        """
        self._stale_before = time.monotonic()
        self.stats.bump(PoolStats.DISCONNECTS_NUM)

    def retire(self) -> None:
        """Close the idle connections; connections still lent out close when returned."""
        self.retired = True
        self._pool.dispose()

    def forget(self) -> None:
        """Drop this pool without touching its connections (after ``fork``)."""
        self.retired = True

    # ##### Reporting #####

    def status(self) -> dict[str, Any]:
        """Return gauges and counters of this pool."""
        stats = self.stats
        open_, in_use = stats.open, stats.in_use
        status: dict[str, Any] = {
            "alias": self.alias,
            "database": self.database,
            "pool_class": self.options.pool_class,
            "open": open_,
            "in_use": in_use,
            "idle": max(0, open_ - in_use),
            "waiting": self._gate.waiting if self._gate is not None else 0,
        }
        if isinstance(self._pool, QueuePool):
            status.update(
                pool_size=self.options.pool_size,
                max_overflow=self.options.max_overflow,
                overflow=max(0, open_ - self.options.pool_size),
            )
        status.update(stats.get())
        return status

    def _timeout_message(self) -> str:
        s = self.status()
        setting = f"settings.DATABASES[{self.alias!r}]['POOL']"
        return (
            f"database {self.alias!r}: no connection became free within "
            f"{self.options.timeout:g} s (pool_size={s.get('pool_size')}, "
            f"in use={s['in_use']}, waiting={s['waiting']}, overflow={s.get('overflow')} of "
            f"max_overflow={s.get('max_overflow')}). Raise {setting}['pool_size'], "
            f"['max_overflow'] or ['timeout'], or return connections sooner."
        )

    # ##### Cleaning #####

    def _clean(self, connection: Any, idle: bool) -> bool:
        """Leave *connection* out of any transaction, in the configured autocommit mode.

        Return False if that cannot be done.
        """
        driver = self.driver
        try:
            in_transaction = driver.in_transaction(connection)
            if in_transaction is None:
                in_transaction = not idle
            if in_transaction:
                reset = self.options.reset_on_return
                if reset is None:
                    return False
                if reset == "commit":
                    connection.commit()
                else:
                    driver.rollback(connection)
            if driver.autocommit(connection) != self.autocommit:
                driver.set_autocommit(connection, self.autocommit)
        except Exception as err:
            logger.warning(
                "database %r: discarding a connection that could not be cleaned: %s",
                self.alias,
                type(err).__name__,
            )
            return False
        return True

    # ##### Pool events #####

    def _on_connect(self, dbapi_connection, record) -> None:
        now = time.monotonic()
        record.info[_BORN] = now
        record.info[_FRESH] = True
        recycle = self.options.recycle
        if recycle is not None:
            jitter = random.uniform(0, self.options.recycle_jitter)  # noqa: S311 - not crypto
            record.info[_RECYCLE_AT] = now + recycle * (1 - jitter)
        logger.debug("database %r: new connection (%s)", self.alias, self.driver.name)

    def _on_checkout(self, dbapi_connection, record, proxy) -> None:
        # Raising DisconnectionError makes SQLAlchemy close this connection
        # and open another in its place (then call us again).
        if record.info.pop(_FRESH, False):
            self._lend(record)
            return
        info = record.info
        if info.get(_BORN, 0.0) <= self._stale_before:
            raise exc.DisconnectionError("opened before a disconnect was seen")
        now = time.monotonic()
        if now >= info.get(_RECYCLE_AT, float("inf")):
            self.stats.bump(PoolStats.RECYCLES_NUM)
            logger.debug("database %r: recycling a connection", self.alias)
            raise exc.DisconnectionError("recycle time reached")
        if self.pre_ping and now - info.get(_RETURNED, 0.0) >= self.options.pre_ping_idle:
            try:
                self.driver.ping(dbapi_connection)
            except Exception as err:
                self.stats.bump(PoolStats.PINGS_FAILED)
                logger.info("database %r: pre-ping failed: %s", self.alias, type(err).__name__)
                raise exc.DisconnectionError("pre-ping failed") from err
        self._lend(record)

    def _lend(self, record) -> None:
        record.record_info[_LENT] = True
        self.stats.checked_out()

    def _on_checkin(self, dbapi_connection, record) -> None:
        # Fires for every return, garbage-collected ones included: a
        # connection nobody checked in still frees its permit.
        record_info = record.record_info
        self._lent.pop(id(record_info), None)
        if record_info.pop(_LENT, False):
            self.stats.checked_in()
        if record_info.pop(_PERMIT, False):
            self._gate.release()

    def _on_reset(self, dbapi_connection, record, reset_state) -> None:
        if record.info.pop(_CLEANED, False):
            return
        # Returned without ``checkin``: its owner was garbage collected (a
        # thread that ended holding it). Nobody vouches for it; roll back
        # unless the driver says it is idle. A session reset needs the
        # wrapper (credentials): close it instead.
        logger.warning(
            "database %r: a connection came back without being closed "
            "(its thread ended?); cleaning it",
            self.alias,
        )
        if self.options.reset_session or not self._clean(dbapi_connection, idle=False):
            record.invalidate()
