"""One SQLAlchemy pool for one database target, and the rules for lending from it.

SQLAlchemy does the pooling: it opens connections through the creator, keeps
their records, bounds overflow, replaces invalidated connections and
disposes. This module adds what a bare ``sqlalchemy.pool.Pool`` cannot know,
all through its public API (``creator``, pool events,
``PoolProxiedConnection``):

* the creator runs the *checking-out* wrapper's stock ``get_new_connection``,
  so vendor setup happens once per physical connection;
* with a ``queue`` or ``lifo`` pool, a connection taken out of SQLAlchemy's
  pool stays out as a :class:`~django_pool.lease.Lease` for its whole life:
  between Django checkouts it is parked in the :mod:`~django_pool.gate`, its
  last thread takes it back first (no shared structure touched but one lock),
  any thread takes it when nothing else is free, and waiters are served first
  come, first served;
* liveness at every checkout of a reused connection, without a round trip: a
  socket that is readable while idle means the server hung up (kill,
  restart, idle timeout, failover), then a real ping settles it; pre-ping
  adds the round trip only for connections idle longer than ``pre_ping_idle``;
* a connection the server refuses is asked for again, with backoff, until
  the checkout's ``timeout`` (:mod:`~django_pool.retry`): a failover costs
  latency, not errors; a wrong password or database fails at once;
* recycling with jitter, at checkout and at return;
* a connection goes back only clean, else it is closed;
* one disconnect marks every older connection stale (a server restart costs
  the requests in flight, not one failed request per pooled connection);
* connections held by threads that ended are taken back, once each; held
  too long, logged;
* a retired pool (test database dropped, settings changed) closes what comes
  back instead of keeping it.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from sqlalchemy import event, exc
from sqlalchemy.pool import AssertionPool, Pool, QueuePool, StaticPool

from . import callsite, forksafe, retry, signals
from . import lease as lease_module
from .config import PoolOptions
from .driver import Driver
from .errors import PoolTimeout, first_line
from .gate import PERMIT, FairGate
from .lease import ConnectionState, Lease, Loan, holder_collected
from .owners import current_owner, current_owner_and_end
from .stats import PoolStats

__all__ = ["STATE", "DatabasePool", "PoolRetired"]


class PoolRetired(Exception):
    """A checkout waited in line on a pool that was retired meanwhile: ask the new one.

    Raised instead of opening a connection for a retired pool (after
    ``dispose()``, a settings change, a test database teardown): the caller
    looks the pool up again.
    """


logger = logging.getLogger(__name__)

Creator = Callable[[float], tuple[Any, "dict[str, Any] | None"]]
"""Opens a DB-API connection; returns it with the parameters it was opened with.

Its argument is the seconds left before the checkout's deadline: the attempt
should give up within about that long (a driver's connect timeout), or a
server that accepts and never answers holds the checkout for ever.
"""

#: Key of the :class:`ConnectionState` in each SQLAlchemy record's ``info``.
STATE = "django_pool.state"

# At most one saturation warning per pool in this many seconds.
_SATURATION_WARNING_EVERY = 10.0
_NEVER = float("inf")


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
        setting: str | None = None,
        class_setting: str | None = None,
    ) -> None:
        self.alias = alias
        #: Where its options are set, for messages: the alias's POOL setting,
        #: or the manage() call.
        self.setting = setting or f"settings.DATABASES[{alias!r}]['POOL']"
        #: The setting that chose its pool_class, as the project wrote it
        #: (settings.DATABASE_POOL_CLASS, ...), for messages.
        self.class_setting = class_setting or f"{self.setting}['pool_class']"
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
        # Every lease not yet ended, lent or parked: for housekeeping.
        self._leases: set[Lease] = set()
        # The loans of the leases lent now (a loan is one holder in one thread,
        # reused across its take-backs): popping one ends that checkout.
        self._lent: dict[Loan, Lease] = {}
        self._lock = threading.Lock()
        self._gate: FairGate | None = None
        # lease.collected when this pool last looked for leases of gone holders.
        self._collected_seen = lease_module.collected
        # Whether a checkout about to wait must ask every holder whether it is
        # gone: a loan's end is seen only by asking (a greenlet's), or the last
        # look was cut short or found a thread that was still ending.
        self._ask_holders = False
        # Connections being opened now (the creator running), for the
        # exhausted-pool warning: places taken by a slow server, not by use.
        self._opening = 0
        self._look_again = False
        self._pool = self._build()
        _every_pool.add(self)

    def _build(self) -> Pool:
        pool_cls, kwargs = self.options.sqlalchemy_pool_arguments()
        # StaticPool shares one connection between threads: a second thread
        # is refused. AssertionPool allows one checkout. Subclasses included.
        self._shares_one = issubclass(pool_cls, StaticPool)
        self._asserts_one = issubclass(pool_cls, AssertionPool)
        # Both allow one checkout: SQLAlchemy creates their connection lazily
        # without a lock, so two first checkouts at once would open two.
        # Theirs are decided one at a time.
        self._one_at_a_time = threading.Lock() if self._shares_one or self._asserts_one else None
        # Cleaning is ours (``checkin``): the driver knows whether a rollback
        # is needed; SQLAlchemy would always send one.
        kwargs["reset_on_return"] = None
        pool = pool_cls(self._open, **kwargs)
        if issubclass(pool_cls, QueuePool):
            self._gate = FairGate(
                self.options.pool_size + self.options.max_overflow,
                keep_idle=self.options.pool_size,
                lifo=self.options.pool_class == "lifo",
            )
        event.listen(pool, "connect", self._on_connect)
        self.stats.attach(pool)
        return pool

    def _open(self) -> Any:
        started = time.monotonic()
        local = self._local
        with self._lock:
            self._opening += 1
        try:
            connection, local.params = local.creator(local.deadline - started)
        except BaseException:
            self.stats.bump(PoolStats.CONNECTIONS_ERRORS)
            local.failed = True
            raise
        finally:
            with self._lock:
                self._opening -= 1
        self.stats.observe("connect", time.monotonic() - started)
        return connection

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        now = time.monotonic()
        recycle = self.options.recycle
        recycle_at = _NEVER
        if recycle is not None:
            jitter = random.uniform(0, self.options.recycle_jitter)  # noqa: S311 - not crypto
            recycle_at = now + recycle * (1 - jitter)
        local = self._local
        local.opened = True
        state = ConnectionState(dbapi_connection, now, recycle_at, getattr(local, "params", None))
        try:
            state.watch(self.driver.fileno(dbapi_connection))
        except Exception as err:  # noqa: BLE001 - a socket it cannot watch: pre-ping alone
            logger.debug("database %r: cannot watch the socket: %s", self.alias, err)
        record.info[STATE] = state
        logger.debug("database %r: new connection (%s)", self.alias, self.driver.name)
        forksafe.track(dbapi_connection)
        if signals.connection_opened.receivers:
            signals.send_opened(self, dbapi_connection)

    # ##### Lending #####

    def take_back(self, lease: Lease, holder: Any) -> bool:
        """Lend *lease* again to *holder*, its last holder, if it is still parked and alive.

        The fast path of a checkout: no waiting, no round trip (unless the
        socket says the server hung up, or pre-ping is due).
        """
        if lease_module.collected != self._collected_seen:
            self.reclaim_from_the_gone()  # a holder was collected: its locks go now
        gate = self._gate
        if gate is None or not gate.take_back(lease, holder):
            return False
        # Claimed: from here an interrupt must not lose it (_drop).
        try:
            now = time.monotonic()
            if not self._lendable(lease, now, False):
                return False
            loan = lease.last_loan  # the gate checked it is holder's
            if (
                loan is not None
                and loan.ident == threading.get_ident()
                and not self.options.leak_threshold
                and not signals.connection_checked_out.receivers
            ):
                # _lend(), inline for the most common checkout (the call costs
                # about 900 instructions, 0.5 % of a request): same holder, same
                # thread (the loan is reused), nothing to report, no wait.
                lease.disconnected = False
                lease.since = now
                self._lent[loan] = lease
                lease.loan = loan
                self.stats.checked_out(0.0)
                lease.logged = logger.isEnabledFor(logging.DEBUG)
                if lease.logged:
                    logger.debug("database %r: checkout (%d in use)", self.alias, len(self._lent))
            else:
                self._lend(lease, holder, now, now)
        except BaseException:
            self._drop([lease])
            raise
        return True

    def checkout(self, creator: Creator, holder: Any) -> Lease:
        """Lend a connection to *holder* (a weak reference to the borrowing wrapper).

        Reuse an idle one, else open one with *creator* (which returns the
        DB-API connection and the parameters it was opened with), else wait
        in line. Raise :class:`~django_pool.PoolTimeout` after ``timeout``
        seconds.
        """
        if lease_module.collected != self._collected_seen:
            self.reclaim_from_the_gone()
        if self._one_at_a_time is not None:
            lease = None
            try:
                with self._one_at_a_time:
                    lease = self._checkout(creator, holder)
            except BaseException:
                if lease is not None:  # lent, then interrupted leaving the lock
                    self.checkin(lease, "interrupted", False)
                raise
            return lease
        return self._checkout(creator, holder)

    def _checkout(self, creator: Creator, holder: Any) -> Lease:
        started = time.monotonic()
        deadline = started + self.options.timeout
        gate = self._gate
        # What this checkout holds: an idle lease, a permit, or the lease it
        # opened with that permit. Cut short anywhere, it is given back (_drop).
        hand: list[Any] = []
        try:
            if gate is None:  # no idle connections of ours: SQLAlchemy's pool decides
                while True:
                    if self.retired:
                        raise PoolRetired(self.alias)
                    lease, fresh = self._open_lease(creator, deadline, hand)
                    now = time.monotonic()
                    if fresh or self._lendable(lease, now, False):
                        break
                    hand.clear()
            else:
                if not gate.take(deadline, self._housekeeping, hand):
                    self._timed_out()
                while True:
                    lease, fresh = hand[0], False
                    if lease is PERMIT:
                        if self.retired:  # a waiter served after dispose(): not here
                            raise PoolRetired(self.alias)
                        lease, fresh = self._open_lease(creator, deadline, hand)
                    now = time.monotonic()
                    if fresh or self._lendable(lease, now, True):
                        break
                    # Closed, its permit kept: this checkout takes another idle
                    # one, else opens the replacement itself, keeping its place
                    # (a stale connection after a disconnect is no reason to go
                    # to the back of the line).
                    hand[0] = PERMIT
                    gate.trade(hand)
            self._lend(lease, holder, started, now)
        except BaseException:
            self._drop(hand)
            raise
        return lease

    def _drop(self, hand: list[Any]) -> None:
        # A checkout cut short (an error, an interrupt): close the lease it
        # held, lent or not, and free its permit. Nobody else can reach it.
        if not hand:
            return
        gate = self._gate
        held = hand[0]
        if held is PERMIT:
            if gate is not None:
                gate.release()
            return
        lease: Lease = held
        loan = lease.loan
        if loan is not None:  # lent to the checkout that failed: nobody will return it
            self._lent.pop(loan, None)
            lease.loan = None
        with self._lock:
            open_ = lease in self._leases
        if open_:
            self._end(lease, "interrupted")
        elif gate is not None:
            gate.release(
                lease
            )  # unless freed: closed by _lendable, its permit kept for this checkout

    def _open_lease(self, creator: Creator, deadline: float, hand: list[Any]) -> tuple[Lease, bool]:
        # Open a connection (with the permit in *hand*, if any) and put its
        # lease into *hand* in the permit's place.
        if self._shares_one:
            self._refuse_sharing()
        local = self._local
        local.creator, local.deadline, local.opened, local.failed = creator, deadline, False, False
        try:
            # A refused connect is tried again until the deadline (retry.py):
            # a failover costs latency, not errors. Meanwhile a connection
            # given back to the pool (the server refuses more than it has:
            # a role's or user's connection limit) is taken instead.
            fairy = retry.connect(
                self._pool.connect,
                driver=self.driver,
                alias=self.alias,
                deadline=deadline,
                timeout=self.options.timeout,
                setting=self.setting,
                instead=self._idle_instead(hand),
            )
        except exc.TimeoutError:
            # Only a custom QueuePool subclass with a smaller bound than the
            # gate's gets here: same error, same message (the caller frees
            # the permit).
            self._timed_out()
        except AssertionError as err:
            if not self._asserts_one:
                raise
            # AssertionPool's refusal of a second checkout, the point of the
            # class: kept an AssertionError, with the setting named.
            raise AssertionError(
                f"{self.class_setting} is {self.options.pool_class!r}, "
                f"which allows one checkout at a time, and {current_owner().name!r} asks "
                f"for a second: {err}"
            ) from None
        except Exception:
            # Given up on opening one (Django's error, or under manage() the
            # driver's), not refused by the pool class.
            if local.failed:
                self.stats.bump(PoolStats.CHECKOUT_ERRORS)
            raise
        finally:
            local.creator = local.params = None
        if fairy is None:  # the permit traded for an idle lease, now in *hand*
            return hand[0], False
        opened = local.opened
        lease: Lease | None = None
        try:
            lease = Lease(self, fairy, fairy.info[STATE])
            with self._lock:
                self._leases.add(lease)
        except BaseException:
            # Interrupted: nobody has it yet (the permit is the caller's to free).
            if lease is not None:
                with self._lock:
                    self._leases.discard(lease)
            fairy.invalidate()
            raise
        if hand:
            hand[0] = lease
        else:
            hand.append(lease)
        return lease, opened

    def _idle_instead(self, hand: list[Any]) -> Callable[[], bool] | None:
        # For retry.connect: trade the permit in *hand* for a connection given
        # back since (parked only while nobody waits: nobody is passed).
        gate = self._gate
        if gate is None or not hand or hand[0] is not PERMIT:
            return None

        def instead() -> bool:
            gate.trade(hand)
            return hand[0] is not PERMIT

        return instead

    def _refuse_sharing(self) -> None:
        # StaticPool hands the same DB-API connection to every thread: one
        # thread's checkin would roll back another's open transaction.
        me = threading.get_ident()
        for lease in list(self._leases):
            loan = lease.loan
            if loan is not None and loan.ident != me and not loan.holder_gone():
                raise ImproperlyConfigured(
                    f"{self.class_setting} is {self.options.pool_class!r}, "
                    f"which shares one connection, and {loan.thread.name!r} holds it "
                    f"while {current_owner().name!r} asks for it. Use 'queue', which gives "
                    "each thread a connection of its own while it holds one."
                )

    def _lend(self, lease: Lease, holder: Any, started: float, now: float) -> None:
        lease.disconnected = False
        lease.since = now
        loan = lease.last_loan
        if (
            loan is None
            or loan.holder is not holder
            or loan.ident != threading.get_ident()
            or self.options.leak_threshold
        ):
            site = callsite.capture() if self.options.leak_threshold else None
            # A thread, or under gevent a greenlet; and what tells when it ends.
            owner, end = current_owner_and_end(holder_collected)
            if end is None:
                self._ask_holders = True
            loan = lease.last_loan = Loan(holder, owner, threading.get_ident(), site, end)
        self._lent[loan] = lease
        lease.loan = loan
        self.stats.checked_out(now - started)
        if signals.connection_checked_out.receivers:
            signals.send_checked_out(self, lease.connection, now - started)
        if self.options.leak_threshold:
            self._warn_of_leaks(now)
        # Whether DEBUG is on is asked once per checkout: its checkin is
        # logged, or not, with it.
        lease.logged = logger.isEnabledFor(logging.DEBUG)
        if lease.logged:
            logger.debug("database %r: checkout (%d in use)", self.alias, len(self._lent))

    def _lendable(self, lease: Lease, now: float, keep_permit: bool) -> bool:
        """Return whether a reused lease nobody else can reach may be lent; if not, close it.

        Also closed when a check is cut short (a ping interrupted by
        KeyboardInterrupt or gevent.Timeout), and the exception goes on. With
        *keep_permit*, its permit stays with the caller, to open another.
        (Positional, no default: a keyword-only argument keeps Python 3.12 from
        specializing the call, which costs a few hundred instructions per take-back.)
        """
        state = lease.state
        try:
            if self.retired:
                reason: str | None = "pool retired"
            # Closed while idle by code that kept the raw connection.
            elif self.driver.is_closed(lease.connection):
                reason = "closed"
            elif state.born <= self._stale_before:
                reason = "opened before a disconnect"
            elif now >= state.recycle_at:
                self.stats.bump(PoolStats.RECYCLES_NUM)
                reason = "recycled"
            # Readable while idle: the server hung up (or sent a notice); only
            # a round trip can tell which. Pre-ping: a round trip after a while idle.
            elif state.readable is not None and state.readable():
                reason = self._pinged(lease, "dropped by the server")
            elif self.pre_ping and now - state.returned >= self.options.pre_ping_idle:
                reason = self._pinged(lease, "pre-ping failed")
            else:
                return True
        except BaseException:
            self._end(lease, "interrupted", release=not keep_permit)
            raise
        if reason is None:
            return True
        self._end(lease, reason, release=not keep_permit)
        return False

    def _pinged(self, lease: Lease, reason: str) -> str | None:
        # None if the connection answers a ping, else *reason*.
        try:
            self.driver.ping(lease.connection)
        except Exception as err:
            self.stats.bump(PoolStats.PINGS_FAILED)
            logger.info("database %r: ping failed: %s", self.alias, type(err).__name__)
            return reason
        return None

    def _timed_out(self):
        self.stats.bump(PoolStats.TIMEOUTS_NUM)
        message = self._timeout_message()
        logger.warning("%s", message)
        raise PoolTimeout(message) from None

    # ##### Returning #####

    def checkin(
        self,
        lease: Lease,
        discard: str | None,
        idle: bool,
        reset_session: Callable[[Any], bool] | None = None,
    ) -> None:
        """Give *lease* back: clean and pooled, or closed.

        *discard* is the caller's reason to close it (it broke, it is left
        mid-atomic), None to pool it if possible. *idle* is the caller's word
        that no transaction is open, used where the driver cannot tell without
        a round trip. *reset_session*, if given, undoes session state; it
        returns False when it cannot (then the connection is closed).
        """
        # Claimed by one atomic step, no lock: housekeeping claims a lease of
        # a holder that is gone the same way, and only one of them wins.
        loan = lease.loan
        if loan is None:
            return
        try:
            del self._lent[loan]
        except KeyError:
            return  # taken back by housekeeping already
        lease.loan = None
        gives = lease.gives
        try:
            if lease_module.collected != self._collected_seen:
                self.reclaim_from_the_gone()
            now = time.monotonic()
            held = self._returned(lease, loan, now)
            reason = discard
            if discard is not None:
                pass  # the caller's reason stands
            elif self.retired:
                reason = "pool retired"
            elif now >= lease.state.recycle_at:
                self.stats.bump(PoolStats.RECYCLES_NUM)
                reason = "recycled"
            else:
                connection = lease.connection
                try:
                    clean = self.driver.is_clean(connection, self.autocommit, idle)
                except Exception:  # noqa: BLE001 - _clean() says what is wrong
                    clean = False
                if not clean and not self._clean(connection, idle):
                    reason = "could not be cleaned"
                elif reset_session is not None and not self._reset(lease, reset_session):
                    reason = "session not reset"
            if reason is not None:
                self._end(lease, reason)
            else:
                lease.state.returned = now
            if signals.connection_checked_in.receivers:
                signals.send_checked_in(self, None if reason else lease.connection, held)
            if reason is not None:
                return
            gate = self._gate
            if gate is None:
                # One lease per checkout: the connection goes back to SQLAlchemy
                # (first: interrupted before the discard, the handler ends it).
                lease.fairy.close()
                with self._lock:
                    self._leases.discard(lease)
            elif not gate.give_back(lease):
                self._end(lease, None)  # pool_size connections are idle already
        except BaseException:
            # Cut short (a signal handler's exception, gevent.Timeout, a ping
            # or a rollback interrupted): unless the gate has it already,
            # nobody can reach it any more. (One body, not a helper: a call
            # per checkin costs about 900 instructions on Python 3.12.)
            if lease.gives == gives:
                with self._lock:
                    open_ = lease in self._leases
                if open_:
                    self._end(lease, "interrupted")
                elif self._gate is not None:
                    self._gate.release(lease)  # closed, but its permit not yet back
            raise

    def _returned(
        self, lease: Lease, loan: Loan, now: float, verb: str = "returned after"
    ) -> float:
        held = now - lease.since
        self.stats.checked_in(held)
        threshold = self.options.leak_threshold
        if threshold and held > threshold:
            self._report_leak(lease, loan, held, verb)
        if lease.logged:  # a checkout logged at DEBUG has its checkin line
            logger.debug("database %r: checkin after %.3f s", self.alias, held)
        return held

    def _end(self, lease: Lease, reason: str | None, *, release: bool = True) -> None:
        """Close *lease*'s connection and free its place; *reason* is why (None: overflow).

        Without *release*, its permit stays with the caller (a checkout that
        opens a replacement).
        """
        gate = self._gate
        try:
            # First in the try: once it is out of the leases, its permit is
            # freed below (lease.freed says when), or left to the caller.
            with self._lock:
                self._leases.discard(lease)
            if reason is not None:
                logger.debug("database %r: closing a connection: %s", self.alias, reason)
                self.stats.invalidated(reason)
                if signals.connection_discarded.receivers:
                    signals.send_discarded(self, lease.connection, reason)
            if gate is not None and lease.queued:
                gate.forget(lease)  # listed idle still, by a take-back
            for close in (lease.fairy.invalidate, lease.fairy.close):
                # invalidate closes the DB-API connection; close gives its
                # record back to SQLAlchemy, empty (its overflow count too).
                try:
                    close()
                except Exception as err:  # noqa: BLE001 - a dead connection may refuse
                    logger.debug("database %r: closing: %s", self.alias, type(err).__name__)
        finally:
            if gate is not None and release:
                gate.release(lease)

    def _reset(self, lease: Lease, reset_session) -> bool:
        try:
            if not reset_session(lease.connection):
                return False
        except Exception as err:
            logger.warning(
                "database %r: discarding a connection whose session reset failed: %s",
                self.alias,
                type(err).__name__,
            )
            return False
        # The reset also undid Django's per-connection setup: redo it.
        lease.state.initialized = None
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
        """Close the idle connections and those of ended threads; lent ones close when returned."""
        self.retired = True
        if self._gate is not None:
            for lease in self._gate.drain_idle():
                self._end(lease, None)
        self.reclaim_from_the_gone()
        self._pool.dispose()

    def forget(self) -> None:
        """Drop this pool without touching its connections (after ``fork``).

        They are the parent's, never to be closed or cleaned here (PyMySQL's
        ``close()`` sends QUIT down the parent's socket, which forksafe.py
        cannot cut off). So nothing is lent any more: a checkin, and a reclaim
        of what the parent's threads hold (ended, seen from here), claim
        nothing. And nothing is idle: ``retire()`` closes nothing. (The gate
        goes, not emptied: its lock may have been held across the fork.)
        """
        self.retired = True
        self._lent.clear()
        self._gate = None

    # ##### Housekeeping #####

    def _housekeeping(self, waited: bool) -> None:
        # Runs when a checkout starts to wait, then every second of its wait
        # (*waited*): nothing here may wait itself. Before the wait it looks
        # for gone holders only if one may be gone: a thread's end or a
        # wrapper's collection was counted (lease.collected) since the last
        # look, the last look was cut short or saw a thread still ending, or
        # ends are not counted (greenlets).
        if (
            waited
            or self._ask_holders
            or self._look_again
            or lease_module.collected != self._collected_seen
        ):
            self.reclaim_from_the_gone()
        self._warn_of_saturation()
        if self.options.leak_threshold:
            self._warn_of_leaks(time.monotonic())

    def reclaim_from_the_gone(self) -> None:
        """Close the connections whose holder can never return them: thread ended, wrapper gone.

        Runs when a checkout starts to wait (if a holder may be gone) and every
        second of its wait, at ``retire()``, and at the next checkout or checkin
        after a holder was garbage collected or a holding thread ended.
        """
        self._collected_seen = lease_module.collected
        self._look_again = False
        for lease in list(self._leases):
            loan = lease.loan
            if loan is None:
                continue
            if not loan.holder_gone():
                if loan.ending():
                    self._look_again = True
                continue
            # One reclaimer per lease, and never a later loan: the claim is of
            # this loan, and only one claim of it succeeds.
            try:
                del self._lent[loan]
            except KeyError:
                continue
            lease.loan = None
            try:
                logger.warning(
                    "database %r: thread %r %s without returning its connection; closing it",
                    self.alias,
                    loan.thread.name,
                    "ended"
                    if not loan.thread.is_alive()
                    else "dropped its connection object (garbage collected)",
                )
                held = self._returned(lease, loan, time.monotonic(), "taken back after")
                self._end(lease, "thread ended")
            except BaseException:
                # Interrupted: still open, the claim goes back for the next
                # pass; closed, its permit goes back if it has not.
                with self._lock:
                    open_ = lease in self._leases
                if open_:
                    lease.loan = loan
                    self._lent[loan] = lease
                    self._look_again = True
                elif self._gate is not None:
                    self._gate.release(lease)
                raise
            if signals.connection_checked_in.receivers:
                signals.send_checked_in(self, None, held)

    # ##### Reporting #####

    def status(self, *, reset: bool = False) -> dict[str, Any]:
        """Return gauges, counters and distributions of this pool.

        With *reset*, counters and distributions start again from zero.
        """
        stats = self.stats
        gate = self._gate
        # In use: the loans themselves, which each checkout and return claim
        # in one step; counters could drift when one is cut short between two.
        return status_of(
            self.alias,
            self.database,
            self.options,
            gate is not None,
            (stats.open, len(self._lent), gate.waiting if gate is not None else 0),
            stats.pop() if reset else stats.get(),
        )

    def holders(self) -> list[dict[str, Any]]:
        """Return who holds the lent connections: thread, seconds held, checkout site."""
        now = time.monotonic()
        lent = [(lease.since, lease.loan) for lease in list(self._leases)]
        return [
            {"thread": loan.thread.name, "held_s": now - since, "site": loan.where()}
            for since, loan in sorted(lent, key=lambda pair: pair[0])
            if loan is not None
        ]

    def _timeout_message(self) -> str:
        s = self.status()
        setting = self.setting
        message = (
            f"database {self.alias!r}: no connection became free within "
            f"{self.options.timeout:g} s (pool_size={s.get('pool_size')}, "
            f"in use={s['in_use']}, others waiting={s['waiting']}, overflow={s.get('overflow')} of "
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
        gate = self._gate
        now = time.monotonic()
        if gate is None or now - self._warned_saturation_at < _SATURATION_WARNING_EVERY:
            return
        self._warned_saturation_at = now
        taken = gate.capacity - gate.free - gate.idle  # lent, or being opened for a request
        opening = self._opening
        logger.warning(
            "database %r: pool exhausted, requests wait: %d in use%s, %d waiting "
            "(pool_size %d + max_overflow %d)",
            self.alias,
            taken,
            # Not a pool too small: a server slow to accept connections, or down.
            f" ({opening} of them being opened)" if opening > 0 else "",
            gate.waiting,  # this checkout included: it is in line
            self.options.pool_size,
            self.options.max_overflow,
        )

    def _warn_of_leaks(self, now: float) -> None:
        threshold = self.options.leak_threshold
        if threshold is None:
            return
        for lease in list(self._leases):
            loan = lease.loan
            if loan is not None and now - lease.since > threshold:
                self._report_leak(lease, loan, now - lease.since, "held for")

    def _report_leak(self, lease: Lease, loan: Loan, held: float, verb: str) -> None:
        """Log a connection held past leak_threshold, once per checkout.

        *verb*: "held for" (still held: the whole stack, to find the holder),
        "returned after" or "taken back after" (from a thread that ended: the
        innermost application frame is enough).
        """
        if lease.warned is loan:
            return
        lease.warned = loan
        self.stats.bump(PoolStats.LEAKS_NUM)
        where = ":\n" + loan.stack() if verb == "held for" else f" {loan.where()}"
        by = "from" if verb == "taken back after" else "by"
        logger.warning(
            "database %r: connection %s %.1f s %s thread %r (leak_threshold %g s); "
            "it was checked out at%s",
            self.alias,
            verb,
            held,
            by,
            loan.thread.name,
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
            if driver.transaction_open(connection, idle):
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
            # The driver's first line says why ("connection in transaction
            # status 1": another thread was still using it).
            kind, line = type(err).__name__, first_line(err)
            logger.warning(
                "database %r: discarding a connection that could not be cleaned: %s",
                self.alias,
                kind if line == kind else f"{kind}: {line}",
            )
            return False
        return True


def status_of(
    alias: str,
    database: str | None,
    options: PoolOptions,
    gated: bool,
    gauges: tuple[int, int, int],
    counters: dict[str, Any],
) -> dict[str, Any]:
    """Return a pool's status: *gauges* (open, in use, waiting) and *counters*.

    *gated*: a queue or lifo pool, which has ``pool_size``, ``max_overflow``
    and ``overflow``. Also what :func:`django_pool.get_stats` says of an alias
    whose pool is not built yet (no checkout so far, or since ``dispose()``).
    """
    open_, in_use, waiting = gauges
    status: dict[str, Any] = {
        "alias": alias,
        "database": database,
        "pool_class": options.pool_class,
        "recycle": options.recycle,
        "open": open_,
        "in_use": in_use,
        "idle": max(0, open_ - in_use),
        "waiting": waiting,
    }
    if gated:
        status.update(
            pool_size=options.pool_size,
            max_overflow=options.max_overflow,
            overflow=max(0, open_ - options.pool_size),
        )
    status.update(counters)
    return status


# Every pool of this process, forgotten in a forked child: the registry and
# manage() keep the inherited ones referenced, so nothing frees (and closes)
# their connections there, and forgotten they close and clean nothing either.
_every_pool: weakref.WeakSet[DatabasePool] = weakref.WeakSet()


def _forget_every_pool() -> None:
    for pool in list(_every_pool):
        pool.forget()


os.register_at_fork(after_in_child=_forget_every_pool)
