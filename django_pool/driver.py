"""What the pool must know about a vendor's DB-API connections.

The pool works below Django: it pings, cleans and classifies raw driver
connections, sometimes from a thread whose Django wrapper is gone (garbage
collection). Each backend's ``base.py`` subclasses :class:`Driver` with its
vendor's knowledge; the defaults here are plain PEP 249.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Driver"]


class Driver:
    """PEP 249 defaults; override per vendor. Supported API.

    A backend's driver must answer, without Django (from any thread):

    * :meth:`is_disconnect` and :meth:`is_closed`: is this connection dead?
      (a dead one is discarded, never pooled again);
    * :meth:`in_transaction`: can it go back to the pool as it is? (a
      connection is pooled only outside a transaction);
    * :meth:`autocommit` and :meth:`set_autocommit`, if the driver spells
      autocommit otherwise than a PEP 249 ``autocommit`` attribute.

    :meth:`ping` (pre-ping), :meth:`reset_session` (``POOL['reset_session']``),
    :meth:`server_status` (checks, ``pool_status``) and
    :meth:`with_connect_timeout` are optional: the defaults ping with
    ``SELECT 1``, do not reset (the connection is closed instead), report
    nothing and leave a connect attempt to the driver's own timeout.
    """

    name = "dbapi"
    """Human name for log lines."""

    def ping(self, connection: Any) -> None:
        """Make one round trip; raise if the connection is dead.

        Must not leave a transaction open, whatever the autocommit mode.
        """
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        finally:
            cursor.close()
        if self.in_transaction(connection) is not False:
            connection.rollback()

    def with_connect_timeout(self, params: dict[str, Any], seconds: float) -> dict[str, Any]:
        """Return the connect parameters *params* for an attempt that gives up within *seconds*.

        *seconds* is what is left of the pool's ``timeout`` for this checkout:
        a server that accepts the connection and never answers (hung, or
        behind a load balancer whose backend is gone) must not hold it for
        ever. A connect timeout the project set itself is kept. Default:
        *params* unchanged (no network, or no such parameter).
        """
        return params

    def is_disconnect(self, error: BaseException, connection: Any) -> bool:
        """Return whether *error* means *connection* can never be used again."""
        return False

    def is_permanent_connect_error(self, error: BaseException) -> bool:
        """Return whether a failed connect would fail again however long one waits.

        *error* is what the driver raised while opening a connection. True
        (wrong password, unknown database) makes the checkout fail at once;
        False lets it try again until the pool's ``timeout`` (a server
        restarting, a failover). The default waits: a slow error beats a
        false one.
        """
        return False

    def is_closed(self, connection: Any) -> bool:
        """Return whether *connection* was closed on the client side, without I/O."""
        return False

    def fileno(self, connection: Any) -> int | None:
        """Return the connection's socket descriptor, or None if it has none.

        Used to see, without a round trip, whether the server closed an idle
        connection. Called once per physical connection.
        """
        fileno = getattr(connection, "fileno", None)
        return fileno() if callable(fileno) else None

    def in_transaction(self, connection: Any) -> bool | None:
        """Return whether a transaction is open.

        Return ``None`` if the driver cannot tell without a round trip; raise if
        the connection is in no state to be reused.
        """
        return None

    def transaction_open(self, connection: Any, idle: bool) -> bool:
        """Return whether a transaction is open: :meth:`in_transaction`'s answer.

        Where the driver cannot tell, Django's word: open unless *idle*.
        """
        in_transaction = self.in_transaction(connection)
        return not idle if in_transaction is None else in_transaction

    def is_clean(self, connection: Any, autocommit: bool | None, idle: bool) -> bool:
        """Return whether *connection* can go back to the pool as it is, without I/O.

        That is: no transaction open, and in *autocommit* mode (``None``:
        either). *idle* is Django's word that no transaction is open, used when
        :meth:`in_transaction` cannot tell. False means "clean it first"; it
        may raise where :meth:`in_transaction` does. Called at every return,
        so the vendors' drivers override it with one cheaper read: a subclass
        of one of them that changes :meth:`in_transaction` or
        :meth:`autocommit` must change this too.
        """
        return not self.transaction_open(connection, idle) and (
            autocommit is None or self.autocommit(connection) == autocommit
        )

    def rollback(self, connection: Any) -> None:
        """Roll back the open transaction, whatever the autocommit mode."""
        connection.rollback()

    def reset_session(self, connection: Any, params: dict[str, Any]) -> bool:
        """Undo session state left by the last borrower; return False if unsupported.

        *params* are the parameters Django opened *connection* with
        (``get_connection_params()``, secrets included). Called on a clean
        connection (no transaction open). The caller closes the connection
        instead when this returns False.
        """
        return False

    def server_status(self, cursor: Any) -> dict[str, Any]:
        """Return the server's view of this database, read through *cursor*.

        Keys: ``sessions`` (sessions on this database by state),
        ``max_connections``, ``connections`` (in use on the whole server), and
        what else the vendor knows. Empty where there is no server.
        """
        return {}

    def autocommit(self, connection: Any) -> bool:
        """Return the connection's autocommit mode, read without a round trip."""
        return bool(connection.autocommit)

    def set_autocommit(self, connection: Any, value: bool) -> None:
        """Set the connection's autocommit mode."""
        connection.autocommit = value
