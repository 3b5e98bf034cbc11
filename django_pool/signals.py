"""Django signals for what a pool does with its connections.

Every signal is sent with ``sender`` = the :class:`~django_pool.pool.DatabasePool`
instance (its ``alias``, ``options`` and ``status()`` are there), and these
keyword arguments:

``alias``
    The database alias (``settings.DATABASES`` key), or ``"<module>#<n>"`` for
    a :func:`django_pool.manage` pool.
``connection``
    The driver's own connection (a ``psycopg.Connection``, ``MySQLdb``
    connection, ``sqlite3.Connection``...), never a proxy.

Receivers run synchronously, in the thread that checks out or returns the
connection (or, for a connection whose thread ended, the thread that takes it
back). An exception in a ``connection_opened`` receiver fails the checkout
and closes the new connection: setup that failed must not be lent out. The
other three run inside the pool's bookkeeping: a receiver's exception is
logged (logger ``django_pool.signals``, ERROR) and the pool carries on. With
no receiver connected, the pool skips the send entirely.

The signals and their SQLAlchemy ``PoolEvents`` equivalents:

===========================  ==================================================
``connection_opened``        ``connect`` (``first_connect`` is its first call)
``connection_checked_out``   ``checkout``
``connection_checked_in``    ``checkin``
``connection_discarded``     ``invalidate`` (with django-pool's reason)
===========================  ==================================================
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.dispatch import Signal

__all__ = [
    "connection_checked_in",
    "connection_checked_out",
    "connection_discarded",
    "connection_opened",
]

logger = logging.getLogger(__name__)

connection_opened = Signal()
"""A physical connection was opened, once per connection: the place for
per-connection setup (session parameters, prepared statements).

Arguments: ``alias``, ``connection``. It is sent before Django's own
per-connection setup (time zone, autocommit, isolation level), on the
connection as the driver made it: leave no transaction open (commit what
you ran, unless the driver is in autocommit mode). Django's
``connection_created`` is the wrong place for such setup with a pool: it is
sent at every checkout.
"""

connection_checked_out = Signal()
"""A connection was lent out, once per checkout.

Arguments: ``alias``, ``connection``, ``waited`` (seconds the checkout
took, waiting for a free connection and opening one included).
"""

connection_checked_in = Signal()
"""A connection came back, once per checkout (garbage-collected ones included).

Arguments: ``alias``, ``connection`` (``None`` when it was discarded on the
way back: :data:`connection_discarded` was sent just before), ``held``
(seconds it was lent out).
"""

connection_discarded = Signal()
"""A connection is closed instead of being reused.

Arguments: ``alias``, ``connection`` (not to be used: it may be dead or
closed already), ``reason``: the same words as ``get_stats()``'s
``invalidations_by_reason``: ``"recycled"``, ``"disconnect"``,
``"pre-ping failed"``, ``"closed"``, ``"opened before a disconnect"``,
``"unusable"``, ``"closed inside atomic()"``, ``"setup failed"``,
``"could not be cleaned"``, ``"session not reset"``, ``"pool retired"``,
``"thread ended"``, ``"dropped by the server"`` (the socket said so while idle).
"""


# The pool's side: each call is guarded by ``if <signal>.receivers:`` at its
# call site, so that with no receiver the pool pays one attribute test.


def send_opened(pool: Any, connection: Any) -> None:
    """Send :data:`connection_opened`; if a receiver raises, close *connection* and re-raise.

    SQLAlchemy drops a connection whose ``connect`` listener raised without
    closing it; closing it here keeps a failed setup from leaking a session.
    """
    try:
        connection_opened.send(pool, alias=pool.alias, connection=connection)
    except BaseException:
        with contextlib.suppress(Exception):
            connection.close()
        raise


def send_checked_out(pool: Any, connection: Any, waited: float) -> None:
    """Send :data:`connection_checked_out`; a receiver's error is logged, not raised."""
    _robust(connection_checked_out, pool, connection=connection, waited=waited)


def send_checked_in(pool: Any, connection: Any, held: float) -> None:
    """Send :data:`connection_checked_in`; a receiver's error is logged, not raised."""
    _robust(connection_checked_in, pool, connection=connection, held=held)


def send_discarded(pool: Any, connection: Any, reason: str) -> None:
    """Send :data:`connection_discarded`; a receiver's error is logged, not raised."""
    _robust(connection_discarded, pool, connection=connection, reason=reason)


def _robust(signal: Signal, pool: Any, **kwargs: Any) -> None:
    # These run inside SQLAlchemy's checkout and checkin, garbage collection
    # included: an error escaping would leave the pool's books wrong.
    for receiver, result in signal.send_robust(pool, alias=pool.alias, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "database %r: signal receiver %r raised %s",
                pool.alias,
                receiver,
                type(result).__name__,
                exc_info=result,
            )
