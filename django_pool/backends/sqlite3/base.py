"""SQLite, pooled: Django's backend; in-memory databases are never pooled.

An in-memory database lives and dies with its one connection (Django never
closes it), and the test runner's shared-cache memory databases rely on that;
pooling them would split or drop them. File databases pool normally.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base

from django_pool.driver import Driver
from django_pool.wrapper import PooledDatabaseWrapperMixin

from .creation import DatabaseCreation

__all__ = ["DatabaseCreation", "DatabaseWrapper", "SQLiteDriver"]

# The sqlite3 module Django uses (pysqlite3 where a project installs it as sqlite3).
Database: Any = base.Database  # type: ignore[attr-defined]


class SQLiteDriver(Driver):
    """The sqlite3 module Django uses (the standard library's, or pysqlite3 installed as it)."""

    name = "sqlite3"

    def ping(self, connection: Any) -> None:
        # There is no server to lose; only a closed connection is dead, and
        # reading an attribute tells (ProgrammingError) without any I/O.
        connection.total_changes  # noqa: B018

    def is_disconnect(self, error: BaseException, connection: Any) -> bool:
        return isinstance(error, Database.ProgrammingError) and "closed" in str(error)

    def is_permanent_connect_error(self, error: BaseException) -> bool:
        # A local file: no server to come back; waiting never helps.
        return True

    def is_closed(self, connection: Any) -> bool:
        try:
            connection.total_changes  # noqa: B018 - raises once closed
        except Database.ProgrammingError:
            return True
        return False

    def fileno(self, connection: Any) -> int | None:
        return None  # no server, no socket

    def in_transaction(self, connection: Any) -> bool | None:
        return connection.in_transaction

    def is_clean(self, connection: Any, autocommit: bool | None, idle: bool) -> bool:
        return not connection.in_transaction and (
            autocommit is None or (connection.isolation_level is None) == autocommit
        )

    def reset_session(self, connection: Any, params: dict[str, Any]) -> bool:
        # No server session. What a borrower can leave behind is temporary
        # tables and attached databases: close such a connection.
        return False

    def autocommit(self, connection: Any) -> bool:
        # Django drives transactions through isolation_level (None = autocommit).
        return connection.isolation_level is None

    def set_autocommit(self, connection: Any, value: bool) -> None:
        connection.isolation_level = None if value else ""


class DatabaseWrapper(PooledDatabaseWrapperMixin, base.DatabaseWrapper):
    """Django's SQLite DatabaseWrapper, with connections to file databases from a pool."""

    pool_driver = SQLiteDriver()
    creation_class = DatabaseCreation
    # Its close() only keeps in-memory databases open, and those are never pooled.
    pool_plain_overrides = (base.DatabaseWrapper.close,)

    def is_pooled(self) -> bool:
        return super().is_pooled() and not self.is_in_memory_db()
