"""One SQLAlchemy pool for one database target, and the rules for lending from it.

SQLAlchemy does the pooling: sizes, overflow, the queue of connections. This
module adds what a bare ``sqlalchemy.pool.Pool`` cannot know, all through its
public API (``creator``, pool events, ``PoolProxiedConnection``):

* the creator runs the *checking-out* wrapper's stock ``get_new_connection``,
  so vendor setup happens once per physical connection;
* waiters are served first come, first served (:mod:`django_pool.gate`);
* pre-ping through the vendor's :class:`~django_pool.driver.Driver` (a pool
  without a dialect cannot ping by itself), only for connections idle a while;
* recycling with jitter, at checkout and at return;
* a connection goes back only clean, else it is closed;
* one disconnect marks every older connection stale (a server restart costs
  the requests in flight, not one failed request per pooled connection);
* connections held by threads that ended are taken back; held too long, logged;
* a retired pool (test database dropped, settings changed) closes what comes
  back instead of keeping it.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.pool import Pool, PoolProxiedConnection, QueuePool

from . import retry
from .config import PoolOptions
from .driver import Driver
from .errors import PoolTimeout
from .gate import FairGate
from .stats import PoolStats

__all__ = ["INITIALIZED", "DatabasePool"]

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
# permit. SQLAlchemy also fires "checkin" for a checkout that failed to
# reconnect, which had none.
_PERMIT = "django_pool.permit"

# Frames of these packages are not "where the connection was checked out".
_OWN_FRAMES = ("/django_pool/", "/django/", "/sqlalchemy/", "/asgiref/", "/threading.py")
# At most one saturation warning per pool in this many seconds.
_SATURATION_WARNING_EVERY = 10.0


@dataclass(eq=False)
class _Loan:
    """One checkout: who holds the connection, since when, from where."""

    owner: threading.Thread
    connection: weakref.ref
    since: float
    site: traceback.StackSummary | None = None
    warned: bool = field(default=False)

    def where(self) -> str:
        """Return the innermost application frame of the checkout, or '?'."""
        for frame in reversed(self.site or ()):
            if not any(part in frame.filename for part in _OWN_FRAMES):
                return f"{frame.filename}:{frame.lineno} in {frame.name}"
        return "?"


class DatabasePool:
    """A SQLAlchemy pool for one (alias, connection parameters) target.

    *autocommit* is the database's ``AUTOCOMMIT`` setting: every connection
    goes back to the pool in that mode (``None``: left as it is).
    """

    def __init__(
        self,
        *,
        alias: str,
        database: str,
        options: PoolOptions,
        driver: Driver,
        autocommit: bool | None,
        pre_ping: bool,
        stats: PoolStats | None = None,
    ) -> None:
        self.alias = alias
        #: Database name the pool's connections use (for test DB teardown).
        self.database = database
        self.options = options
        self.driver = driver
        self.autocommit = autocommit
        self.pre_ping = pre_ping
        self.stats = stats or PoolStats()
        #: Set once the pool must hand out nothing more and keep nothing back.
        self.retired = False
        # Connections opened before this instant are replaced at checkout.
        self._stale_before = float("-inf")
        self._warned_saturation_at = float("-inf")
        # The creator must open a connection for the wrapper that asked; a
        # SQLAlchemy creator takes no argument, and runs in the caller's thread.
        self._local = threading.local()
        # Lent connections, by id(record_info): to reclaim those whose thread
        # ended holding them, time holds, and find leaks.
        self._lent: dict[int, _Loan] = {}
        self._pool = self._build()

    def _build(self) -> Pool:
        pool_cls, kwargs = self.options.sqlalchemy_pool_arguments()
        # Cleaning is ours (``checkin`` and ``_on_reset``): the driver knows
        # whether a rollback is needed; SQLAlchemy would always send one.
        kwargs["reset_on_return"] = None
        pool = pool_cls(self._open, **kwargs)
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

    def _open(self) -> Any:
        started = time.monotonic()
        try:
            connection = self._local.creator()
        except BaseException:
            self.stats.bump(PoolStats.CONNECTIONS_ERRORS)
            raise
        self.stats.observe("connect", time.monotonic() - started)
        return connection

    # ##### Lending #####

    def checkout(self, creator: Callable[[], Any]) -> PoolProxiedConnection:
        """Return a connection from the pool; *creator* opens one if needed.

        Waiters are served in arrival order. Raise
        :class:`~django_pool.PoolTimeout` after ``timeout`` seconds.
        """
        started = time.monotonic()
        gate = self._gate
        if gate is not None and not self._wait_for_permit(gate):
            self._timed_out()
        self._local.creator = creator
        try:
            # Failed connects are tried again until the timeout (retry.py).
            connection = retry.connect(
                self._pool.connect,
                driver=self.driver,
                alias=self.alias,
                deadline=started + self.options.timeout,
                timeout=self.options.timeout,
            )
        except exc.TimeoutError:
            # Only reachable without the gate (a custom QueuePool subclass
            # that changes the bound): same error, same message.
            self._timed_out()
        except BaseException:
            if gate is not None:
                gate.release()
            raise
        finally:
            self._local.creator = None
        now = time.monotonic()
        record_info = connection.record_info
        if gate is not None:
            record_info[_PERMIT] = True
        site = traceback.extract_stack() if self.options.leak_threshold else None
        self._lent[id(record_info)] = _Loan(
            threading.current_thread(), weakref.ref(connection), now, site
        )
        self.stats.checked_out(now - started)
        if self.options.leak_threshold:
            self._warn_of_leaks(now)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("database %r: checkout (%d in use)", self.alias, self.stats.in_use)
        return connection

    def _wait_for_permit(self, gate: FairGate) -> bool:
        # Wait in slices: between them, take back connections whose thread
        # ended without returning them (their wrapper may wait long for the
        # garbage collector).
        deadline = time.monotonic() + self.options.timeout
        while True:
            if gate.free == 0:
                self._reclaim_from_dead_threads()
                self._warn_of_saturation()
                if self.options.leak_threshold:
                    self._warn_of_leaks(time.monotonic())
            remaining = deadline - time.monotonic()
            if gate.acquire(timeout=max(0.0, min(remaining, 1.0))):
                return True
            if remaining <= 1.0:
                return False

    def _timed_out(self):
        self.stats.bump(PoolStats.TIMEOUTS_NUM)
        message = self._timeout_message()
        logger.warning("%s", message)
        raise PoolTimeout(message) from None

    def _reclaim_from_dead_threads(self) -> None:
        for loan in list(self._lent.values()):
            connection = loan.connection()
            if loan.owner.is_alive() or connection is None:
                continue
            logger.warning(
                "database %r: thread %r ended without returning its connection; closing it",
                self.alias,
                loan.owner.name,
            )
            self.stats.invalidated("thread ended")
            # Closes it and gives its place back (the checkin event follows).
            with contextlib.suppress(Exception):
                connection.invalidate()

    def checkin(
        self,
        connection: PoolProxiedConnection,
        *,
        discard: str | None,
        idle: bool,
        reset_session: Callable[[Any], bool] | None = None,
    ) -> None:
        """Give *connection* back: clean and pooled, or closed.

        *discard* is the caller's reason to close it (it broke, it is left
        mid-atomic), None to pool it if possible. *idle* is the caller's word
        that no transaction is open, used where the driver cannot tell without
        a round trip. *reset_session*, if given, undoes session state; it
        returns False when it cannot (then the connection is closed).
        """
        # Released after the connection is back in the pool, so the next
        # waiter finds it there instead of opening an overflow connection.
        permit = connection.record_info.pop(_PERMIT, False)
        info = connection.info
        now = time.monotonic()
        try:
            reason = discard or self._why_not_reusable(connection, now, idle, reset_session)
            if reason is None:
                info[_CLEANED] = True
                info[_RETURNED] = now
            else:
                logger.debug("database %r: closing a returned connection: %s", self.alias, reason)
                self.stats.invalidated(reason)
                connection.invalidate()
        finally:
            connection.close()
            if permit:
                self._gate.release()

    def _why_not_reusable(self, connection, now, idle, reset_session) -> str | None:
        if self.retired:
            return "pool retired"
        if now >= connection.info.get(_RECYCLE_AT, float("inf")):
            self.stats.bump(PoolStats.RECYCLES_NUM)
            return "recycled"
        if not self._clean(connection.driver_connection, idle):
            return "could not be cleaned"
        if reset_session is not None and not self._reset(connection, reset_session):
            return "session not reset"
        return None

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
        logger.warning(
            "database %r: disconnect seen; replacing the connections opened before it",
            self.alias,
        )

    def retire(self) -> None:
        """Close the idle connections; connections still lent out close when returned."""
        self.retired = True
        self._pool.dispose()

    def forget(self) -> None:
        """Drop this pool without touching its connections (after ``fork``)."""
        self.retired = True

    # ##### Reporting #####

    def status(self, *, reset: bool = False) -> dict[str, Any]:
        """Return gauges, counters and distributions of this pool.

        With *reset*, counters and distributions start again from zero.
        """
        stats = self.stats
        open_, in_use = stats.open, stats.in_use
        status: dict[str, Any] = {
            "alias": self.alias,
            "database": self.database,
            "pool_class": self.options.pool_class,
            "recycle": self.options.recycle,
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
        status.update(stats.pop() if reset else stats.get())
        return status

    def holders(self) -> list[dict[str, Any]]:
        """Return who holds the lent connections: thread, seconds held, checkout site."""
        now = time.monotonic()
        return [
            {"thread": loan.owner.name, "held_s": now - loan.since, "site": loan.where()}
            for loan in sorted(list(self._lent.values()), key=lambda loan: loan.since)
        ]

    def _timeout_message(self) -> str:
        s = self.status()
        setting = f"settings.DATABASES[{self.alias!r}]['POOL']"
        message = (
            f"database {self.alias!r}: no connection became free within "
            f"{self.options.timeout:g} s (pool_size={s.get('pool_size')}, "
            f"in use={s['in_use']}, waiting={s['waiting']}, overflow={s.get('overflow')} of "
            f"max_overflow={s.get('max_overflow')}). Raise {setting}['pool_size'], "
            f"['max_overflow'] or ['timeout'], or return connections sooner."
        )
        if self.options.leak_threshold:
            held = "; ".join(
                f"thread {h['thread']!r} for {h['held_s']:.1f} s, from {h['site']}"
                for h in self.holders()[:5]
            )
            message += f" Held by: {held}."
        else:
            message += f" Set {setting}['leak_threshold'] to see who holds them."
        return message

    def _warn_of_saturation(self) -> None:
        now = time.monotonic()
        if now - self._warned_saturation_at < _SATURATION_WARNING_EVERY:
            return
        self._warned_saturation_at = now
        gate = self._gate
        logger.warning(
            "database %r: pool exhausted, requests wait: %d in use, %d waiting "
            "(pool_size %d + max_overflow %d)",
            self.alias,
            gate.capacity - gate.free,  # lent, or being opened for a request
            gate.waiting + 1,
            self.options.pool_size,
            self.options.max_overflow,
        )

    def _warn_of_leaks(self, now: float) -> None:
        threshold = self.options.leak_threshold
        for loan in list(self._lent.values()):
            if now - loan.since > threshold:
                self._report_leak(loan, now - loan.since, returned=False)

    def _report_leak(self, loan: _Loan, held: float, *, returned: bool) -> None:
        """Log a connection held past leak_threshold, once per checkout."""
        if loan.warned:
            return
        loan.warned = True
        self.stats.bump(PoolStats.LEAKS_NUM)
        if returned:  # the innermost application frame is enough
            verb, where = "returned after", f" {loan.where()}"
        else:  # still held: the whole stack, to find the holder
            verb, where = "held for", ":\n" + ("".join(loan.site.format()) if loan.site else "?")
        logger.warning(
            "database %r: connection %s %.1f s by thread %r (leak_threshold %g s); "
            "it was checked out at%s",
            self.alias,
            verb,
            held,
            loan.owner.name,
            self.options.leak_threshold,
            where,
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
            if self.autocommit is not None and driver.autocommit(connection) != self.autocommit:
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
        info = record.info
        if info.pop(_FRESH, False):
            return
        # Closed while idle by code that kept the raw connection (Django's
        # own tests close a finished thread's): free to see, fatal to lend.
        if self.driver.is_closed(dbapi_connection):
            self.stats.invalidated("closed")
            raise exc.DisconnectionError("closed while in the pool")
        if info.get(_BORN, 0.0) <= self._stale_before:
            self.stats.invalidated("opened before a disconnect")
            raise exc.DisconnectionError("opened before a disconnect was seen")
        now = time.monotonic()
        if now >= info.get(_RECYCLE_AT, float("inf")):
            self.stats.bump(PoolStats.RECYCLES_NUM)
            self.stats.invalidated("recycled")
            logger.debug("database %r: recycling a connection", self.alias)
            raise exc.DisconnectionError("recycle time reached")
        if self.pre_ping and now - info.get(_RETURNED, 0.0) >= self.options.pre_ping_idle:
            try:
                self.driver.ping(dbapi_connection)
            except Exception as err:
                self.stats.bump(PoolStats.PINGS_FAILED)
                self.stats.invalidated("pre-ping failed")
                logger.info("database %r: pre-ping failed: %s", self.alias, type(err).__name__)
                raise exc.DisconnectionError("pre-ping failed") from err

    def _on_checkin(self, dbapi_connection, record) -> None:
        # Fires for every return, garbage-collected ones included: a
        # connection nobody checked in still frees its permit.
        record_info = record.record_info
        loan = self._lent.pop(id(record_info), None)
        if loan is not None:
            held = time.monotonic() - loan.since
            self.stats.checked_in(held)
            threshold = self.options.leak_threshold
            if threshold and held > threshold:
                self._report_leak(loan, held, returned=True)
            elif logger.isEnabledFor(logging.DEBUG):
                logger.debug("database %r: checkin after %.3f s", self.alias, held)
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
            self.stats.invalidated("garbage collected")
            record.invalidate()
