"""PooledDatabaseWrapperMixin: where Django's connection handling meets the pool.

Django opens a connection in ``connect()`` (through ``get_new_connection``)
and drops it in ``close()`` (through ``_close``); with ``CONN_MAX_AGE = 0``
it does both once per request. The mixin turns the first into a checkout and
the second into a checkin, and changes nothing else: Django keeps working on
the raw driver connection (``self.connection``), never on a proxy, so
attribute writes such as ``autocommit`` reach the driver.
"""

from __future__ import annotations

import _thread
import copy
import dataclasses
import hashlib
import os
import time
import weakref
from asyncio import _get_running_loop
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.backends.base.base import NO_DB_ALIAS, BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.utils import DatabaseErrorWrapper
from django.utils.functional import cached_property
from django.views.decorators.debug import sensitive_variables

from . import registry
from .config import GLOBAL_SETTINGS, PoolOptions, setting_of, without_refused_options
from .creation import is_test_database
from .driver import Driver
from .errors import SETTING_VALUE_ERRORS, raised_in, settings_refused
from .lease import Lease, holder_collected
from .pool import DatabasePool, PoolRetired
from .release import ReleaseWhenIdleMixin, check_vendor
from .rules import raise_settings_problem

__all__ = ["PooledDatabaseWrapperMixin"]

# True inside ``_nodb_cursor()``: the maintenance connections Django opens to
# create and drop test databases (including PostgreSQL's fallback to another
# database's NAME) are never pooled, or they would keep the database busy.
_unpooled: ContextVar[bool] = ContextVar("django_pool_unpooled", default=False)

# Settings keys that do not shape a physical connection. SCHEMA: django-tenants
# writes the current tenant's schema there at every set_tenant() (it sets the
# search_path per cursor); in the digest, every tenant switch would retire the pool.
_NOT_CONNECTION_KEYS = frozenset({"TEST", "CONN_MAX_AGE", "ATOMIC_REQUESTS", "SCHEMA"})

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

    Supported API. Put it first:
    ``class DatabaseWrapper(PooledDatabaseWrapperMixin, base.DatabaseWrapper)``.

    What the backend must provide:

    * :attr:`pool_driver`: a :class:`~django_pool.driver.Driver` for its DB-API
      connections (liveness, transaction status, session reset);
    * ``creation_class``: its ``DatabaseCreation`` with
      :class:`~django_pool.creation.PooledCreationMixin` first (server
      backends: test databases are dropped while pools live);
    * a ``get_new_connection`` that opens and sets up one physical
      connection: the pool calls it once per connection, so setup there
      (type adapters, extensions, session settings) is kept for its life;
    * an ``init_connection_state`` whose effects are session state: it runs
      once per physical connection (per time zone). State it sets on the
      wrapper must be set again in :meth:`prepare_pooled_connection`.

    It may override :meth:`prepare_pooled_connection` (called at every
    checkout) and :meth:`is_pooled`. For a class derived from a supported
    backend, :func:`django_pool.derive.pooled_wrapper` does all of this.

    A checkout has three speeds. The wrapper first takes back the connection
    it returned last, if nobody took it meanwhile (:meth:`DatabasePool.take_back`);
    else it borrows any idle one, or opens one, or waits
    (:meth:`DatabasePool.checkout`). When Django's per-connection setup already
    ran on that connection, the wrapper then only resets what Django's
    ``connect()`` resets (:meth:`_adopt`); only a new physical connection goes
    through Django's whole ``connect()``.
    """

    #: The vendor's knowledge of its DB-API connections.
    pool_driver: Driver = Driver()

    #: The stock backend's overrides of ``close()``, ``get_autocommit()`` or
    #: ``validate_thread_sharing()`` that do, for a pooled connection, no more
    #: than Django's own: a plain request end may skip them (any other
    #: override is honoured by taking Django's whole path).
    pool_plain_overrides: tuple[Callable[..., Any], ...] = ()

    # Per-wrapper state, set in __init__ only: an instance attribute that
    # shadows a class-level default is read without specialization on
    # Python 3.12, and these are read at every checkout.
    _pool_lease: Lease | None
    _pool_holding: bool
    _pool_cache: tuple[int, dict[str, Any], DatabasePool] | None
    _pool_connecting: bool
    _pool_params_read: bool
    _pool_judging: str | None

    def __init__(self, settings_dict: dict[str, Any], alias: str = DEFAULT_DB_ALIAS) -> None:
        # The lease this wrapper holds, or held last: parked in the pool,
        # where this wrapper takes it back first.
        self._pool_lease = None
        self._pool_holding = False
        # The driver cursors opened on the connection held: those still open
        # when it goes back are closed (a cursor kept across close() must fail
        # as on a closed connection, not run on the next borrower's session).
        self._pool_cursors = []
        # (registry.settings_version, settings_dict copy, pool) of the last lookup.
        self._pool_cache = None
        self._pool_connecting = False  # inside Django's connect(), over a pooled connection
        self._pool_params_read = False  # get_connection_params() ran for the current settings
        self._pool_judging = None  # inside Django's health checks: which one
        # A bad POOL raises at the first connection, as Django's own settings
        # errors do, not here: Django's checks (check --database) and model
        # setup build the wrapper first, and manage.py check then reports
        # django_pool.E001-E003 instead of a traceback.
        super().__init__(settings_dict, alias)
        # The settings django-pool validates are the ones the connection was
        # built with: code that later edits a live connection's settings_dict
        # gets Django's rules for what it wrote, as with the stock ENGINE
        # (CONN_MAX_AGE=None keeps the checkout across requests, OPTIONS["pool"]
        # hands this connection to Django's own pool). Django's pool works the
        # same way: it checks CONN_MAX_AGE once, when it is created.
        self._configured = _Configured.of(settings_dict)
        # How the pool knows this wrapper still exists (a lease whose holder
        # was garbage collected is taken back).
        self._pool_ref = weakref.ref(self, holder_collected)

    def copy(self, alias: str | None = None) -> Any:
        """Return a new wrapper for the same database, built from the same configuration."""
        twin = super().copy(alias)
        twin._configured = self._configured
        return twin

    def is_pooled(self) -> bool:
        """Return whether this wrapper's connections come from the pool."""
        settings_dict = self.settings_dict
        return (
            self.alias != NO_DB_ALIAS
            and not _unpooled.get()
            and settings_dict.get("POOL") is not False
            and not settings_dict["OPTIONS"].get("pool")
        )

    def prepare_pooled_connection(self, connection: Any) -> None:
        """Set on this wrapper what the stock ``get_new_connection`` would have set.

        Called whenever this wrapper borrows a connection another wrapper
        opened (the stock method ran once per physical connection, on the
        wrapper that opened it).
        """

    @contextmanager
    def _nodb_cursor(self):
        with unpooled(), super()._nodb_cursor() as cursor:
            yield cursor

    @contextmanager
    def temporary_connection(self):
        # Django reads the server's version and variables through this
        # (MySQL's mysql_server_data, PostgreSQL's pg_version), model checks
        # included. While django-pool refuses this database's settings, that
        # reading opens its own connection: manage.py check and migrate then
        # report the settings (E001-E003) instead of a traceback, and the
        # first real use still raises. That connection leaves out the OPTIONS
        # keys refused (E002, E003), which no driver takes.
        if self.connection is None and self._pool_refused():
            configured = self.settings_dict
            self.settings_dict = without_refused_options(configured)
            try:
                with unpooled(), super().temporary_connection() as cursor:
                    yield cursor
            finally:
                self.settings_dict = configured
        else:
            with super().temporary_connection() as cursor:
                yield cursor

    def _pool_refused(self) -> bool:
        # Whether a checkout would raise ImproperlyConfigured for the settings.
        try:
            self._refuse_bad_pool_settings()
        except ImproperlyConfigured:
            return True
        return False

    def _refuse_bad_pool_settings(self) -> None:
        # ImproperlyConfigured for the settings a checkout would refuse: the
        # rules of check_settings() (CONN_MAX_AGE, Django's own
        # OPTIONS["pool"]) and POOL; nothing where this database is not pooled.
        if self._pool_rules_off():
            return
        self.check_settings()
        self._pool_options()

    # ##### Settings #####

    def _pool_options(self) -> PoolOptions:
        # This alias's validated POOL, or ImproperlyConfigured.
        options = PoolOptions.from_settings(self.alias, self.settings_dict)
        check_vendor(self.alias, self.vendor, options.release)
        return options

    def _pool_rules_off(self) -> bool:
        # Not pooled here ("POOL": False, or inside unpooled()): Django's rules only.
        return _unpooled.get() or self.settings_dict.get("POOL") is False

    def check_settings(self) -> None:
        super().check_settings()
        if self._pool_rules_off():
            return
        configured = self._configured
        raise_settings_problem(
            self.alias, conn_max_age=configured.max_age, native_pool=configured.native_pool
        )

    def _pool_after_edit(
        self, cached: tuple[int, dict[str, Any], DatabasePool]
    ) -> DatabasePool | None:
        # This alias's settings_dict was edited since the last lookup. Only in
        # keys that shape no connection (django-tenants' SCHEMA at each
        # set_tenant()): the same pool, and remember them. Else (a test
        # database's NAME): look the pool up again.
        if not _same_connection(cached[1], self.settings_dict):
            return self._look_up_pool()
        snapshot = _snapshot(self.settings_dict)
        self._pool_cache = None if snapshot is None else (cached[0], snapshot, cached[2])
        return cached[2]

    def _look_up_pool(self) -> DatabasePool | None:
        # This wrapper's pool from the registry, remembered with a snapshot of
        # the settings it was found for; None when its connections are not
        # pooled.
        if not self.is_pooled():
            return None
        self.check_settings()
        self._pool_params_read = False
        version = registry.settings_version
        pool = registry.get_or_create(self.alias, self._pool_digest(), self._build_pool)
        snapshot = _snapshot(self.settings_dict)
        self._pool_cache = None if snapshot is None else (version, snapshot, pool)
        return pool

    def _pool_digest(self) -> str:
        # Everything that shapes a physical connection, hashed: the password
        # takes part but never leaves this function.
        shape = (
            type(self).__module__,
            sorted((k, v) for k, v in self.settings_dict.items() if k not in _NOT_CONNECTION_KEYS),
            settings.USE_TZ,
            settings.TIME_ZONE,
            [getattr(settings, name, None) for name in GLOBAL_SETTINGS],
        )
        return hashlib.blake2b(repr(shape).encode(), digest_size=16).hexdigest()

    def _build_pool(self) -> DatabasePool:
        options = self._pool_options()
        if (
            options.reset_session is None
            and options.pgbouncer in (None, "session")  # (W010: nothing to reset behind it)
            and is_test_database(self.settings_dict["NAME"])
        ):
            # A clean session for each TransactionTestCase test (creation.py).
            options = dataclasses.replace(options, reset_session=True)
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
            class_setting=setting_of(self.alias, self.settings_dict, "pool_class"),
        )

    # ##### Checkout #####

    def connect(self) -> None:
        if self._pool_holding:
            # A return interrupted (a signal handler's exception) before it
            # reached the pool: the lease is still lent to this wrapper.
            self._release_pooled(discard="interrupted")
        # The pool of the last lookup, while it stands: no shaping setting
        # changed (registry.settings_version), not retired, not inside
        # unpooled(), and this alias's settings_dict as it was then.
        cached = self._pool_cache
        if (
            cached is not None
            and cached[0] == registry.settings_version
            and not cached[2].retired
            and not _unpooled.get()
        ):
            pool: DatabasePool | None = cached[2]
            if cached[1] != self.settings_dict:
                pool = self._pool_after_edit(cached)
        else:
            pool = self._look_up_pool()
        # The snapshot holds the settings, password included: an error report
        # of a failed checkout below shows this frame's locals.
        del cached
        if pool is None:
            return super().connect()
        lease = self._pool_lease
        # Taken back: the connection this wrapper used last, nobody else's
        # since. Anything else (even the same connection, after another
        # wrapper used it) may carry state this wrapper's caches do not know.
        taken_back = (
            lease is not None and lease.pool is pool and pool.take_back(lease, self._pool_ref)
        )
        if lease is None or not taken_back:
            # Django checks the thread at the first cursor, after connecting:
            # a wrapper of another thread (gevent patching after gunicorn's
            # --preload made every greenlet share the master's) would open
            # a server connection per request, then fail. Check first.
            self.validate_thread_sharing()
            try:
                lease = pool.checkout(self._open_connection, self._pool_ref)
            except PoolRetired:  # retired while this waited in its line
                return self.connect()  # the lookup finds the pool that replaced it
        self._pool_lease = lease
        self._pool_holding = True
        if pool.options.release == "transaction":
            self.track_checkout()
        if lease.state.initialized == self.timezone_name:
            try:
                if not self._pool_params_read:
                    # What Django's connect() would have set on this wrapper
                    # while reading them (SQLite's transaction_mode, MySQL's
                    # isolation_level); no I/O.
                    self.get_connection_params()
                    self._pool_params_read = True
                if not taken_back:
                    self.prepare_pooled_connection(lease.connection)
                self._adopt(lease)
            except BaseException:
                self._release_pooled(discard="setup failed")
                self.connection = None
                raise
            return
        # A new physical connection, or one set up for another time zone:
        # Django's whole connect(), whose get_new_connection() is this lease.
        self._pool_connecting = True
        try:
            super().connect()
        except BaseException:
            # A connection that failed its setup goes back now (closed), not
            # whenever this wrapper happens to be closed.
            if self._pool_holding:
                self._release_pooled(discard="setup failed")
                self.connection = None
            raise
        finally:
            self._pool_connecting = False

    def _adopt(self, lease: Lease) -> None:
        # What Django's connect() leaves on a wrapper (django/db/backends/base/
        # base.py, the same from 5.2 to 6.1; tests/wrapper/test_fast_path.py
        # compares), for a connection whose per-connection setup already ran
        # and which the pool returned in the configured autocommit mode.
        self.in_atomic_block = False
        # Empty lists are kept, not replaced: outside atomic() they are
        # empty, and a new list costs an allocation per request.
        if self.savepoint_ids:
            self.savepoint_ids = []
        if self.atomic_blocks:
            self.atomic_blocks = []
        self.needs_rollback = False
        settings_dict = self.settings_dict
        self.health_check_enabled = settings_dict["CONN_HEALTH_CHECKS"]
        max_age = settings_dict["CONN_MAX_AGE"]
        # Counted from the checkout, as Django counts from connect().
        self.close_at = None if max_age is None else lease.since + max_age
        self.closed_in_transaction = False
        self.errors_occurred = False
        self.health_check_done = True
        self.connection = lease.connection
        autocommit = settings_dict["AUTOCOMMIT"]
        self.autocommit = autocommit
        if autocommit and self.run_commit_hooks_on_set_autocommit_on:
            self.run_and_clear_commit_hooks()
            self.run_commit_hooks_on_set_autocommit_on = False
        if connection_created.receivers:
            # As in Django's connect(): a receiver's cursor closing (or
            # collected unclosed) must not give the connection back before
            # the checkout is done (release="transaction").
            self._pool_connecting = True
            try:
                connection_created.send(sender=self.__class__, connection=self)
            finally:
                self._pool_connecting = False
        if self.run_on_commit:
            self.run_on_commit = []

    # Error reports (ADMINS' emails, a production 500 page's filter) show no
    # local variable of this call or of those under it: Django's and the
    # driver's frames hold the connection parameters, password included.
    @sensitive_variables()
    def _open_connection(self, seconds_left: float) -> tuple[Any, dict[str, Any]]:
        # The pool's creator: the stock backend opens the physical connection
        # (vendor setup included), with the parameters it reports. The attempt
        # gives up when the checkout's deadline passes, unless the project set
        # a connect timeout of its own.
        try:
            params = self.get_connection_params()
            attempt = self.pool_driver.with_connect_timeout(params, seconds_left)
            return super().get_new_connection(attempt), params
        except self.Database.Error as err:
            # Say which database; the driver's text never holds the password.
            raise OperationalError(
                f"database {self.alias!r}: cannot open a connection: {err}"
            ) from err
        except ImproperlyConfigured as err:
            # Django's own (no NAME, an unknown isolation level) does not say
            # which database.
            if repr(self.alias) in str(err):
                raise
            raise ImproperlyConfigured(f"database {self.alias!r}: {err}") from err
        except SETTING_VALUE_ERRORS as err:
            # A value the driver (or Django's parameter building) cannot use:
            # no retry can fix it, and the library's own error would not say
            # which database. Raised anywhere else, it is a bug: left alone.
            module = getattr(self.Database, "__name__", "")
            if isinstance(err, UnicodeError) or not raised_in(err, module.split(".")[0]):
                raise
            driver = "mysqlclient" if module == "MySQLdb" else module.split(".")[0]
            raise settings_refused(self.alias, self.settings_dict, driver, err) from err

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        if not self._pool_connecting:  # unpooled, or a direct call
            return super().get_new_connection(conn_params)
        lease = self._pool_lease
        assert lease is not None  # connect() checked it out
        connection = lease.connection
        self.prepare_pooled_connection(connection)
        return connection

    def init_connection_state(self) -> None:
        # Once per physical connection, as Django's own pool does: the session
        # settings it makes (time zone, isolation level, SQL_AUTO_IS_NULL) stay
        # with the connection, and re-sending them would cost round trips on
        # every checkout (two on MySQL).
        # Only a checkout skips it: a direct call means "run it now". The
        # skip holds only for the time zone it ran for.
        lease = self._pool_lease if self._pool_holding else None
        time_zone = self.timezone_name
        if self._pool_connecting and lease is not None and lease.state.initialized == time_zone:
            return
        super().init_connection_state()
        if lease is not None:
            lease.state.initialized = time_zone

    def _set_autocommit(self, autocommit: bool) -> None:
        # Checked-in connections are already in the configured mode; asking
        # again costs mysqlclient a round trip (SET autocommit) per checkout.
        if self._pool_holding and self.pool_driver.autocommit(self.connection) == autocommit:
            return
        super()._set_autocommit(autocommit)

    # ##### Checkin #####

    def close_if_health_check_failed(self) -> None:
        # Whatever Django closes here failed its health check (is_usable may
        # be anyone's, even a test's mock): discard it, never check it in.
        # Django's own first test, inline: this runs before every cursor. (A
        # backend's override below this mixin runs only when a check is due.)
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        self._judged("health check", super().close_if_health_check_failed)

    def close_if_unusable_or_obsolete(self) -> None:
        # Here Django closes a connection after an error only when is_usable()
        # said no, and errors_occurred is still set when it does.
        if self.connection is None:  # at every request start
            return
        # The common request end, settled here: no error, autocommit as
        # configured, outside atomic(), in the wrapper's own thread, outside
        # an event loop (Django's path is async-unsafe), and due (CONN_MAX_AGE
        # is 0). Django's close_if_unusable_or_obsolete() and close() would
        # reach _close() below and do no more than this, so they are skipped,
        # unless the class overrides one of them (_plain_end).
        close_at = self.close_at
        if (
            self._pool_holding
            and not self.errors_occurred
            and not self.in_atomic_block
            and not self.closed_in_transaction
            and close_at is not None
            and self.autocommit == self.settings_dict["AUTOCOMMIT"]
            and self._thread_ident == _thread.get_ident()
            and _get_running_loop() is None
            and _plain_end(type(self))
            and time.monotonic() >= close_at
        ):
            self.health_check_done = False
            if self.run_on_commit:  # as close() does; empty in autocommit
                self.run_on_commit = []
            try:
                self._release_pooled(discard=None)
            finally:
                # As close() does: whatever interrupts the checkin, this
                # wrapper no longer has the connection.
                self.connection = None
            return
        self._pool_judging = "request end"
        try:
            super().close_if_unusable_or_obsolete()
        finally:
            self._pool_judging = None

    def _judged(self, judgement: str, close_if: Callable[[], None]) -> None:
        # Run one of Django's close_if_* methods with _close() knowing which.
        # A plain call, not a context manager: this runs at every request end.
        self._pool_judging = judgement
        try:
            close_if()
        finally:
            self._pool_judging = None

    def _close(self) -> None:
        if not self._pool_holding:
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
        # again, even code that calls _close() and then close(), which would
        # otherwise close it under its next borrower.
        self.connection = None

    def _release_pooled(self, *, discard: str | None) -> None:
        lease = self._pool_lease
        assert lease is not None  # held: _pool_holding
        self._pool_holding = False
        checkout, self._pool_checkout = self._pool_checkout, None  # untrack_checkout(), inline
        pool = lease.pool
        loan = lease.loan
        try:
            # Cursors still open (release per transaction counts them; else
            # all are listed, closed ones too) are closed first.
            stale = checkout.cursors if checkout is not None else self._pool_cursors
            if stale and not self._close_cursors(checkout):
                discard = discard or "a cursor would not close"
            if lease.disconnected:
                pool.mark_stale()
                discard = "disconnect"
            idle = self.autocommit and not self.in_atomic_block
            reset = self._session_reset(lease) if pool.options.reset_session else None
            pool.checkin(lease, discard, idle, reset)  # positional: cheaper on Python 3.12
        except BaseException:
            # Interrupted (a signal handler's exception) before the checkin
            # claimed it: this wrapper lets go of it, so close it now. (After
            # the claim, the checkin saw to it: the lease is no longer lent
            # on this loan, perhaps lent again to somebody else.)
            if loan is not None and lease.loan is loan:
                pool.checkin(lease, "interrupted", False)
            raise

    def _close_cursors(self, checkout: Any) -> bool:
        # Close the checkout's driver cursors (those Django closed already: a
        # no-op); False if one would not. On MySQL this also reads what a
        # cursor left unread, which would put the next borrower out of sync.
        # Release per transaction counts the open ones, weakly (a cursor
        # dropped unclosed is collected, closing it); else all are listed.
        if checkout is not None:
            cursors = [held() for held in checkout.cursors.values() if held is not None]
            checkout.cursors.clear()
        else:
            cursors = self._pool_cursors
        try:
            for cursor in cursors:
                if cursor is not None:  # (collected since)
                    cursor.close()
        except Exception:  # noqa: BLE001 - the connection goes, not the error
            return False
        finally:
            self._pool_cursors.clear()
        return True

    def _session_reset(self, lease: Lease) -> Callable[[Any], bool] | None:
        hook = lease.pool.options.reset_session
        if hook is True:
            # The parameters Django opened this connection with: credentials
            # may come from OPTIONS (or an option file), not USER/PASSWORD.
            params = lease.state.params or {}
            return lambda connection: self.pool_driver.reset_session(connection, params)
        return hook or None

    def return_to_pool(self) -> None:
        """Give this thread's connection back now, judged as at the end of a request.

        A connection that saw errors is checked with ``is_usable()`` and
        discarded if it fails; one left with autocommit off is closed.
        """
        if self.connection is None:
            return
        self.close_if_unusable_or_obsolete()
        if self.connection is not None:
            self.close()

    def is_usable(self) -> bool:
        # Django's backends assume a connection; after a pooled _close() there
        # is none (it went back to the pool), so none is usable.
        return self.connection is not None and super().is_usable()

    @cached_property
    def wrap_database_errors(self) -> DatabaseErrorWrapper:
        return _DisconnectAwareErrorWrapper(self)


# What close_if_unusable_or_obsolete() skips at a plain request end, and whose
# implementation that is sound for: (name, the class whose method it must be).
_SKIPPED_AT_REQUEST_END = (
    ("close", BaseDatabaseWrapper),
    ("_close", PooledDatabaseWrapperMixin),
    ("get_autocommit", BaseDatabaseWrapper),
    ("validate_thread_sharing", BaseDatabaseWrapper),
)
# class -> (its close() when decided, whether its request end is plain).
_plain_classes: dict[type, tuple[Any, bool]] = {}


def _plain_end(cls: type) -> bool:
    """Return whether a request end of a *cls* wrapper may skip Django's path.

    Not when the class has another ``close()``, ``_close()``,
    ``get_autocommit()`` or ``validate_thread_sharing()`` than the ones that
    path would run: a backend's own (django-tenants' close() forgets its
    cached search_path). Decided once per class, and again whenever its
    ``close()`` changes (a test's mock, an APM tool patching it). Methods
    patched on one wrapper instance, or the other three patched on the class
    after its first request end, are not seen: patch ``close()``, or patch
    before the first request.
    """
    known = _plain_classes.get(cls)
    close = cls.close  # type: ignore[attr-defined]
    if known is None or known[0] is not close:
        allowed = cls.pool_plain_overrides  # type: ignore[attr-defined]
        plain = all(
            getattr(cls, name) is getattr(owner, name) or getattr(cls, name) in allowed
            for name, owner in _SKIPPED_AT_REQUEST_END
        ) and (
            super(PooledDatabaseWrapperMixin, cls).close_if_unusable_or_obsolete  # type: ignore[misc]
            is BaseDatabaseWrapper.close_if_unusable_or_obsolete
        )
        known = _plain_classes[cls] = (close, plain)
    return known[1]


def _snapshot(settings_dict: dict[str, Any]) -> dict[str, Any] | None:
    # A deep copy: settings are edited in place (test databases), and a
    # shallow one would share the nested dicts it is compared with. Keys
    # that shape no connection share their value instead (TEST): compared by
    # identity first, they cost the check at every checkout nothing. Some
    # OPTIONS values (an SSL context) cannot be copied: then no cache.
    try:
        return {
            key: value if key in _NOT_CONNECTION_KEYS else copy.deepcopy(value)
            for key, value in settings_dict.items()
        }
    except Exception:  # noqa: BLE001 - any failure only costs the cache
        return None


def _same_connection(before: dict[str, Any], now: dict[str, Any]) -> bool:
    """Return whether *before* and *now* differ only in keys that shape no connection."""
    keys = (before.keys() | now.keys()) - _NOT_CONNECTION_KEYS
    return all(before.get(key) == now.get(key) for key in keys)


class _DisconnectAwareErrorWrapper(DatabaseErrorWrapper):
    """Django's error translator, which also notes disconnect-class errors.

    Every driver call Django makes runs inside ``wrap_database_errors``, so
    this sees each driver exception before Django translates it.
    """

    wrapper: PooledDatabaseWrapperMixin

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is None:  # every driver call: one frame, not two
            return
        wrapper = self.wrapper
        lease = wrapper._pool_lease
        if exc_value is not None and wrapper._pool_holding and lease is not None:
            try:
                if wrapper.pool_driver.is_disconnect(exc_value, wrapper.connection):
                    lease.disconnected = True
            except Exception:  # classification must never mask the real error
                lease.disconnected = True
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
        if not isinstance(wrapper, PooledDatabaseWrapperMixin):
            continue
        lease = wrapper._pool_lease
        if lease is None:
            continue
        _inherited.append((lease, wrapper.connection))
        holding = wrapper._pool_holding
        wrapper._pool_lease = None
        wrapper._pool_holding = False
        wrapper._pool_cache = None
        if not holding:
            continue
        wrapper.untrack_checkout()
        wrapper.connection = None
        if wrapper.in_atomic_block:
            wrapper.closed_in_transaction = True
            wrapper.needs_rollback = True


os.register_at_fork(after_in_child=_detach_after_fork)
