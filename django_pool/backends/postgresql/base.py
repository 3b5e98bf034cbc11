"""PostgreSQL, pooled: Django's backend (psycopg 3 or psycopg2, whichever Django picks)."""

from __future__ import annotations

import configparser
import math
import os
import re
from typing import Any

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import IsolationLevel, is_psycopg3

from django_pool.driver import Driver
from django_pool.wrapper import PooledDatabaseWrapperMixin

from .creation import DatabaseCreation

__all__ = ["DatabaseCreation", "DatabaseWrapper", "PostgreSQLDriver"]

if is_psycopg3:
    from psycopg.pq import ConnStatus, TransactionStatus

    _BAD = ConnStatus.BAD
    _IDLE = TransactionStatus.IDLE
    _IN_TRANSACTION = (TransactionStatus.INTRANS, TransactionStatus.INERROR)
else:
    from psycopg2 import extensions

    _IDLE = extensions.TRANSACTION_STATUS_IDLE
    _IN_TRANSACTION = (extensions.TRANSACTION_STATUS_INTRANS, extensions.TRANSACTION_STATUS_INERROR)

# The driver module Django's backend chose (psycopg or psycopg2);
# django-stubs does not declare it.
Database: Any = base.Database  # type: ignore[attr-defined]

# SQLSTATEs after which the session is gone: class 08 (connection exception),
# 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now.
# 25006 read-only transaction: a write reached a server that is (now) a
# standby, so the connections opened before are on the wrong server too.
_DISCONNECT_SQLSTATES = ("08", "57P01", "57P02", "57P03", "25006")

# Errors at connect that no wait can fix: 28P01 wrong password, 28000 role
# unknown or refused by pg_hba.conf, 3D000 unknown database. libpq reports a
# failed connect as text only (no SQLSTATE), one line per host tried: these
# are the server's (and PgBouncer's) English messages. A server with another
# lc_messages falls back to waiting, which is slow, not wrong.
_PERMANENT_CONNECT_SQLSTATES = frozenset({"28P01", "28000", "3D000"})
_PERMANENT_CONNECT_TEXT = re.compile(
    r"authentication failed for user"  # 28P01, and ident/peer/ldap...: 28000
    r'|role "[^"]*" does not exist'  # 28000
    r"|no pg_hba\.conf entry|pg_hba\.conf rejects connection"  # 28000
    r'|database "[^"]*" does not exist'  # 3D000
    r"|no password supplied"  # libpq: the server wants a password, none given
    r"|no such database|no such user"  # PgBouncer
    # libpq refusing the connection options themselves (OPTIONS): a bad
    # value, or SSL asked of a server or a libpq without it.
    r"|invalid \w+ value|invalid integer value|invalid connection option"
    r"|SSL was required|SSL support is not compiled in"
)


def _service_sets_connect_timeout(service: str) -> bool:
    """Return whether *service*'s section in libpq's service files sets connect_timeout.

    libpq reads the first file that has the section: ``PGSERVICEFILE`` (else
    ``~/.pg_service.conf``), then ``pg_service.conf`` in ``PGSYSCONFDIR``.
    """
    paths = [os.environ.get("PGSERVICEFILE") or os.path.expanduser("~/.pg_service.conf")]
    if os.environ.get("PGSYSCONFDIR"):
        paths.append(os.path.join(os.environ["PGSYSCONFDIR"], "pg_service.conf"))
    for path in paths:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read(path)
        except configparser.Error:
            continue
        if parser.has_section(service):
            return parser.has_option(service, "connect_timeout")
    return False


class PostgreSQLDriver(Driver):
    """psycopg 3 and psycopg2: transaction status and liveness are known client-side."""

    name = "psycopg" if is_psycopg3 else "psycopg2"

    def with_connect_timeout(self, params: dict[str, Any], seconds: float) -> dict[str, Any]:
        # libpq's connect_timeout, in whole seconds, 2 at least (it reads 1
        # as 2), and per host: a multi-host HOST shares the time out. Set by
        # the project (OPTIONS, PGCONNECT_TIMEOUT, or the service's section of
        # a service file): kept.
        if "connect_timeout" in params or "PGCONNECT_TIMEOUT" in os.environ:
            return params
        service = params.get("service") or os.environ.get("PGSERVICE")
        if service and _service_sets_connect_timeout(str(service)):
            return params
        hosts = str(params.get("host") or "").count(",") + 1
        return {**params, "connect_timeout": max(2, math.ceil(seconds / hosts))}

    def is_disconnect(self, error: BaseException, connection: Any) -> bool:
        if not isinstance(error, Database.Error):
            return False
        if isinstance(error, Database.InterfaceError):
            # "connection already closed", but also "the cursor is closed" (a
            # cursor used after its with block): the connection says which.
            return connection is None or self.is_closed(connection)
        sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if sqlstate and sqlstate.startswith(_DISCONNECT_SQLSTATES):
            return True
        # "server closed the connection unexpectedly" carries no SQLSTATE;
        # both drivers mark the connection closed (broken) after it.
        return connection is not None and self.is_closed(connection)

    def is_permanent_connect_error(self, error: BaseException) -> bool:
        if not isinstance(error, Database.Error):
            return False
        if not isinstance(error, Database.OperationalError):
            return True  # bad arguments: "invalid connection option" is a ProgrammingError
        sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if sqlstate:
            return sqlstate in _PERMANENT_CONNECT_SQLSTATES
        return _PERMANENT_CONNECT_TEXT.search(str(error)) is not None

    def is_closed(self, connection: Any) -> bool:
        if is_psycopg3:
            # What Connection.closed reads, without its property call.
            return connection.pgconn.status == _BAD
        return bool(connection.closed)

    def is_clean(self, connection: Any, autocommit: bool | None, idle: bool) -> bool:
        # One status read; ACTIVE and UNKNOWN are not clean (in_transaction raises).
        if is_psycopg3:
            status = connection.pgconn.transaction_status
        else:
            status = connection.get_transaction_status()
        return status == _IDLE and (autocommit is None or connection.autocommit == autocommit)

    def in_transaction(self, connection: Any) -> bool | None:
        if is_psycopg3:
            # pgconn: libpq's own status, without building a ConnectionInfo.
            status = connection.pgconn.transaction_status
        else:
            status = connection.get_transaction_status()
        if status == _IDLE:
            return False
        if status in _IN_TRANSACTION:
            return True
        # ACTIVE (a query still running) or UNKNOWN (connection broken).
        raise Database.InterfaceError(f"connection in transaction status {status!r}")

    def rollback(self, connection: Any) -> None:
        # psycopg2's rollback() does nothing in autocommit mode, even after a
        # raw BEGIN; psycopg 3's checks the real transaction status.
        if not is_psycopg3 and connection.autocommit:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
        else:
            connection.rollback()

    def reset_session(self, connection: Any, params: dict[str, Any]) -> bool:
        # DISCARD ALL: RESET ALL, SET SESSION AUTHORIZATION DEFAULT (undoes SET
        # ROLE), drops temporary tables, releases advisory locks, deallocates
        # prepared statements. It refuses to run inside a transaction block.
        autocommit = connection.autocommit
        if not autocommit:
            connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("DISCARD ALL")
        finally:
            if not autocommit:
                connection.autocommit = False
        return True

    def server_status(self, cursor: Any) -> dict[str, Any]:
        cursor.execute(
            "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1"
        )
        sessions = dict(cursor.fetchall())
        # The slots this login role may use, and the connections counted
        # against them. A role that is no superuser does not see other roles'
        # backend_type (NULL): their client sessions are the rows with a
        # database. It may not use the reserved slots, nor exceed its role's
        # and the database's CONNECTION LIMIT (-1: none), which superusers ignore.
        cursor.execute(
            "SELECT current_setting('max_connections')::int, "
            "current_setting('superuser_reserved_connections')::int "
            "+ coalesce(current_setting('reserved_connections', true)::int, 0), "
            "r.rolsuper, r.rolname, r.rolconnlimit, d.datconnlimit, "
            "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "OR (backend_type IS NULL AND datid IS NOT NULL)), "
            "(SELECT count(*) FROM pg_stat_activity WHERE usesysid = r.oid AND datid IS NOT NULL), "
            "(SELECT count(*) FROM pg_stat_activity WHERE datid = d.oid) "
            "FROM pg_roles r, pg_database d "
            "WHERE r.rolname = session_user AND d.datname = current_database()"
        )
        (
            max_connections,
            reserved,
            superuser,
            role,
            role_limit,
            database_limit,
            clients,
            of_role,
            of_database,
        ) = cursor.fetchone()
        limits = [
            (max_connections, clients, "max_connections")
            if superuser
            else (
                max_connections - reserved,
                clients,
                f"max_connections less {reserved} reserved for superusers",
            )
        ]
        if not superuser and role_limit >= 0:
            limits.append((role_limit, of_role, f"the CONNECTION LIMIT of role {role!r}"))
        if not superuser and database_limit >= 0:
            limits.append((database_limit, of_database, "the database's CONNECTION LIMIT"))
        slots, used, limit = min(limits, key=lambda each: each[0] - each[1])
        return {
            "sessions": sessions,
            "max_connections": slots,
            "connections": used,
            "limit": limit,
        }


class DatabaseWrapper(PooledDatabaseWrapperMixin, base.DatabaseWrapper):
    """Django's PostgreSQL DatabaseWrapper, with connections from a pool."""

    pool_driver = PostgreSQLDriver()
    creation_class = DatabaseCreation

    def prepare_pooled_connection(self, connection: Any) -> None:
        # The stock get_new_connection records the isolation level on the
        # wrapper; a reused connection must find it there too.
        level = self.settings_dict["OPTIONS"].get("isolation_level")
        self.isolation_level = (
            IsolationLevel.READ_COMMITTED if level is None else IsolationLevel(level)
        )
        # django-tenants (TENANT_LIMIT_SET_CALLS) remembers on the wrapper that
        # it set the search_path on "the" connection, and forgets it in close().
        # A checkout may hand over another physical connection without close()
        # (after fork, the wrapper drops the parent's): set it again.
        if getattr(self, "search_path_set_schemas", None) is not None:
            self.search_path_set_schemas = None
