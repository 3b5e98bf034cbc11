"""``POOL['release'] = "transaction"``: give a connection back as soon as it is idle.

Django holds a connection from a request's first query to its end, so a view
that runs one query and then waits on a slow API holds it all that time while
other requests wait for the pool (pitfall #20). In this mode the connection
goes back whenever nothing can need the same session: no open cursor, no
``atomic()`` block, autocommit on. The next query checks one out again, which
costs no round trip (the once-per-connection setup is kept).

What does not survive is session state set outside ``atomic()`` (``SET``,
temporary tables, advisory locks, ``LAST_INSERT_ID()``): PgBouncer's
transaction mode has the same rule. Everything inside one ``atomic()`` runs on
one connection, as always.
"""

from __future__ import annotations

import gc
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:  # typed against what it mixes into (Django's idiom for mixins)
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

    class _WrapperBase(BaseDatabaseWrapper):
        # What the stubs leave out, and what the pooled mixin adds.
        Database: Any
        _pool_connecting: bool
        _thread_ident: int

        def _cursor(self, name: str | None = None) -> Any: ...
        def _prepare_cursor(self, cursor: Any) -> Any: ...
        def _set_autocommit(self, autocommit: bool) -> None: ...
        def _close(self) -> None: ...

    _CursorBase = CursorWrapper
else:
    _WrapperBase = _CursorBase = object

__all__ = ["ReleaseWhenIdleMixin", "check_vendor"]

logger = logging.getLogger("django_pool.pool")


def check_vendor(alias: str, vendor: str, release: str) -> None:
    """Raise ``ImproperlyConfigured`` if *vendor* cannot release per transaction."""
    if release == "transaction" and vendor == "sqlite":
        raise ImproperlyConfigured(
            f"settings.DATABASES[{alias!r}]['POOL']['release'] is 'transaction', "
            "which SQLite does not support: its schema editor relies on session "
            "state (PRAGMA foreign_keys) between statements, and there is no "
            "server connection to free. Remove it."
        )


# The thread (under gevent, the greenlet) in which the cyclic garbage
# collector runs, or None. A cursor it frees was not dropped by its own code,
# which may be anywhere (ours included). Not a threading.local: gevent's
# cannot be written in a greenlet being finalized, where collections run too
# (a worker's exit), and the callback's error was printed each time.
_collecting_in: int | None = None


def _gc_phase(phase: str, info: dict[str, Any]) -> None:
    global _collecting_in
    _collecting_in = threading.get_ident() if phase == "start" else None


class _Checkout:
    """The driver cursors still open on one checkout of one wrapper."""

    __slots__ = ("cursors", "wrapper")

    def __init__(self, wrapper: Any) -> None:
        # Driver cursors, not Django's wrappers: packages that wrap cursors
        # (django-debug-toolbar's SQL panel) build a second wrapper around the
        # same driver cursor and drop the first one unclosed. id -> a weak
        # reference, to notice a cursor dropped without close() (None: the
        # driver's cursors cannot be weakly referenced).
        self.cursors: dict[int, weakref.ref[Any] | None] = {}
        self.wrapper = weakref.ref(wrapper)

    def add(self, cursor: Any) -> None:
        """Count *cursor* as open until it is closed or garbage collected."""
        try:
            ref: weakref.ref[Any] | None = weakref.ref(cursor, self._collected)
        except TypeError:
            ref = None
        self.cursors[id(cursor)] = ref

    def _collected(self, ref: weakref.ref[Any]) -> None:
        # A cursor dropped without close() (``cursor = connection.cursor()``
        # in a helper that returns its rows): it holds the session no more.
        for key, held in list(self.cursors.items()):
            if held is ref:
                del self.cursors[key]
        wrapper = self.wrapper()
        # Give the connection back now if this runs where the cursor's own
        # code dropped it: its thread, not the cyclic collector, which can run
        # inside any code (ours included). Else the next statement's end does.
        if (
            wrapper is None
            or _collecting_in == threading.get_ident()
            or self.cursors
            or wrapper._thread_ident != threading.get_ident()
        ):
            return
        # Nothing raised here reaches the code that dropped the cursor: an
        # error is logged; an interrupt (KeyboardInterrupt, a soft time
        # limit) is printed by CPython as ignored, the checkin having kept
        # the pool whole (it is interrupt-safe), and the program goes on.
        try:
            wrapper.release_if_idle(self)
        except Exception as err:  # noqa: BLE001 - a weakref callback cannot raise
            logger.warning(
                "database %r: could not give back the connection of a garbage-collected cursor: %s",
                wrapper.alias,
                err,
            )


class _CountedCursor(_CursorBase):
    """Mixed into Django's cursor wrapper: its driver cursor counts as open until closed.

    Or until garbage collected: a cursor dropped without ``close()`` holds
    the session no more. The constructor keeps Django's signature
    ``(cursor, db)``: packages subclass ``type(cursor)`` and call it so.
    """

    def __init__(self, cursor: Any, db: Any) -> None:
        super().__init__(cursor, db)
        checkout = db._pool_checkout
        self._pool_counted: _Checkout | None = checkout
        if checkout is not None:
            checkout.add(cursor)

    def close(self) -> None:
        try:
            self.cursor.close()
        finally:
            checkout, self._pool_counted = self._pool_counted, None
            if checkout is not None:  # closing twice counts once
                checkout.cursors.pop(id(self.cursor), None)
                db: Any = self.db  # the pooled wrapper
                db.release_if_idle(checkout)


# Django's own wrapper class (CursorWrapper, CursorDebugWrapper, the psycopg 3
# one with copy()) -> the same plus the count.
_COUNTED: dict[type, type] = {}


def _counted(cursor_class: type) -> type:
    counted = _COUNTED.get(cursor_class)
    if counted is None:
        counted = _COUNTED[cursor_class] = type(
            cursor_class.__name__, (_CountedCursor, cursor_class), {}
        )
    return counted


class ReleaseWhenIdleMixin(_WrapperBase):
    """The part of the pooled wrapper that follows cursors and transactions."""

    # Set at each checkout when the pool releases per transaction.
    _pool_checkout: _Checkout | None
    # Whether this wrapper holds a pooled connection; the driver cursors
    # opened on it (the pooled mixin's).
    _pool_holding: bool
    _pool_cursors: list[Any]
    # Inside _cursor(): from ensure_connection() to the new cursor, nothing may
    # give the connection back (code may run a query as it connects).
    _pool_opening_cursor: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Per-wrapper state here, not as class-level defaults (read at every
        # checkout: see the pooled mixin's __init__).
        self._pool_checkout = None
        self._pool_opening_cursor = 0
        super().__init__(*args, **kwargs)

    def track_checkout(self) -> None:
        """Start counting this checkout's cursors (the pool releases per transaction)."""
        if _gc_phase not in gc.callbacks:  # at the first, not at import: every collection calls it
            gc.callbacks.append(_gc_phase)
        self._pool_checkout = _Checkout(self)

    def untrack_checkout(self) -> None:
        """Stop counting: the connection went back (cursors still open no longer count)."""
        self._pool_checkout = None

    def _cursor(self, name: str | None = None) -> Any:
        self._pool_opening_cursor += 1
        try:
            return super()._cursor(name)
        finally:
            self._pool_opening_cursor -= 1

    def _prepare_cursor(self, cursor: Any) -> Any:
        wrapped = super()._prepare_cursor(cursor)
        checkout = self._pool_checkout
        if checkout is None:
            if self._pool_holding:  # closed when the connection goes back (wrapper.py)
                # The driver's cursor, not a backend's wrapper of it: Django's
                # MySQL one reaches close() through __getattr__, an exception
                # raised and caught at every call.
                self._pool_cursors.append(getattr(cursor, "cursor", cursor))
            return wrapped
        if isinstance(wrapped, _CountedCursor):
            return wrapped
        return _counted(type(wrapped))(wrapped.cursor, self)

    def set_autocommit(self, autocommit: bool, *args: Any, **kwargs: Any) -> None:
        # The outermost atomic() ends here, after its on_commit callbacks ran.
        super().set_autocommit(autocommit, *args, **kwargs)
        checkout = self._pool_checkout
        if autocommit and checkout is not None:
            self.release_if_idle(checkout)

    def release_if_idle(self, checkout: _Checkout) -> None:
        """Give the connection back if *checkout* is current and nothing needs its session."""
        if checkout.cursors or checkout is not self._pool_checkout:
            return
        # atomic() and set_autocommit(False) turn autocommit off until the
        # transaction ends; connect() runs setup queries of its own.
        if not self.autocommit or self._pool_connecting or self._pool_opening_cursor:
            return
        # CONN_MAX_AGE=None written on a live connection (as Django's tests
        # do): Django keeps it across requests, so across statements too.
        if self.close_at is None:
            return
        # Django's own end-of-request judgement, which here always ends in a
        # close: a connection that saw errors is checked with is_usable(), and
        # discarded if it fails.
        self.close_if_unusable_or_obsolete()
