"""MySQL and MariaDB, pooled: Django's backend (mysqlclient, or PyMySQL installed as MySQLdb)."""

from __future__ import annotations

import configparser
import math
import os
from typing import Any

from django.db.backends.mysql import base

from django_pool.driver import Driver
from django_pool.wrapper import PooledDatabaseWrapperMixin

from .creation import DatabaseCreation

__all__ = ["DatabaseCreation", "DatabaseWrapper", "MySQLDriver"]

# The driver module Django's backend chose (mysqlclient, or PyMySQL installed
# as MySQLdb); django-stubs does not declare it.
Database: Any = base.Database  # type: ignore[attr-defined]

# Client and server error codes after which the session is gone:
# 2006 server has gone away, 2013 lost connection during query, 2014 commands
# out of sync, 2045 can't open shared memory, 2055 lost connection (system
# error), 4031 disconnected for inactivity (MySQL 8), 1927 connection was
# killed (MariaDB), 1053 server shutdown in progress.
_DISCONNECT_CODES = frozenset({2006, 2013, 2014, 2045, 2055, 4031, 1927, 1053})


# Errors at connect that no wait can fix: access denied to the database
# (1044), access denied (1045 wrong user or password; 1698 without a password,
# MariaDB's answer for some unknown users), unknown database (1049), and
# client settings: an unknown charset (2019), an authentication method the
# client lacks (1251, 2059).
_PERMANENT_CONNECT_CODES = frozenset({1044, 1045, 1049, 1251, 1698, 2019, 2059})


def _account(params: dict[str, Any]) -> tuple[str, str, str]:
    """Return (user, password, database) a connection was opened with.

    Django's parameters hold them under mysqlclient's names, overridden by
    OPTIONS (``user``, ``passwd``/``password``, ``db``/``database``); what
    they lack comes from the option file the driver read.
    """
    found = _option_file(params)
    user = params.get("user", found.get("user", ""))
    password = params.get("password", params.get("passwd", found.get("password", "")))
    database = params.get("database", params.get("db", found.get("database", "")))
    return user, password, database


def _option_file(params: dict[str, Any]) -> dict[str, str]:
    # The same file and group mysqlclient read (read_default_file/_group).
    path = params.get("read_default_file")
    if not path:
        return {}
    parser = configparser.ConfigParser(allow_no_value=True, strict=False, interpolation=None)
    try:
        parser.read(os.path.expanduser(path))
    except configparser.Error:
        return {}
    found: dict[str, str] = {}
    for group in ("client", params.get("read_default_group") or "client"):
        if parser.has_section(group):
            for key in ("user", "password", "database", "connect_timeout", "connect-timeout"):
                value = parser.get(group, key, fallback=None)
                if value is not None:
                    found[key.replace("-", "_")] = value.strip().strip("'\"")
    return found


# PyMySQL's own connect_timeout default.
_PYMYSQL_CONNECT_TIMEOUT = 10


class MySQLDriver(Driver):
    """mysqlclient and PyMySQL, on MySQL and MariaDB."""

    name = Database.__name__

    def with_connect_timeout(self, params: dict[str, Any], seconds: float) -> dict[str, Any]:
        # mysqlclient and PyMySQL: connect_timeout, in whole seconds; PyMySQL
        # keeps its own 10 s at most, so that a long timeout is several
        # attempts, each resolving the host again (a failover's DNS). Set by
        # the project (OPTIONS, or the option file the driver reads): kept.
        if "connect_timeout" in params or "connect_timeout" in _option_file(params):
            return params
        limit = _PYMYSQL_CONNECT_TIMEOUT if self.name == "pymysql" else math.inf
        return {**params, "connect_timeout": max(1, min(math.ceil(seconds), limit))}

    def ping(self, connection: Any) -> None:
        # Never let the driver reconnect behind our back (PyMySQL's default):
        # a new session would silently lose its settings. mysqlclient never
        # reconnects and deprecates the argument.
        if self.name == "pymysql":
            connection.ping(reconnect=False)
        else:
            connection.ping()

    def is_disconnect(self, error: BaseException, connection: Any) -> bool:
        if not isinstance(error, Database.Error):
            return False
        code = error.args[0] if error.args else None
        # InterfaceError (0, '') is how both drivers report a closed socket.
        return code in _DISCONNECT_CODES or isinstance(error, Database.InterfaceError)

    def is_permanent_connect_error(self, error: BaseException) -> bool:
        if not isinstance(error, Database.Error):
            return False
        if not isinstance(error, Database.OperationalError):
            return True  # bad arguments: a ProgrammingError, an InterfaceError
        code = error.args[0] if error.args else None
        return code in _PERMANENT_CONNECT_CODES

    def is_closed(self, connection: Any) -> bool:
        return not connection.open

    def fileno(self, connection: Any) -> int | None:
        if self.name == "pymysql":
            # PyMySQL has no public accessor for its socket.
            sock = getattr(connection, "_sock", None)
            return sock.fileno() if sock is not None else None
        return connection.fileno()

    def in_transaction(self, connection: Any) -> bool | None:
        # mysqlclient does not expose the server's status flags, and PyMySQL's
        # copy goes stale after a result set (INSERT ... RETURNING included):
        # neither can tell. The caller falls back on what Django knows.
        return None

    def is_clean(self, connection: Any, autocommit: bool | None, idle: bool) -> bool:
        return idle and (autocommit is None or bool(connection.get_autocommit()) == autocommit)

    def reset_session(self, connection: Any, params: dict[str, Any]) -> bool:
        # COM_CHANGE_USER with the same account resets the session (variables,
        # temporary tables, locks, isolation level) and keeps the character
        # set. Only mysqlclient has it; with PyMySQL the connection is closed.
        change_user = getattr(connection, "change_user", None)
        if change_user is None:
            return False
        change_user(*_account(params))
        return True

    def server_status(self, cursor: Any) -> dict[str, Any]:
        cursor.execute(
            "SELECT LOWER(COMMAND), COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE DB = DATABASE() AND ID <> CONNECTION_ID() GROUP BY COMMAND"
        )
        sessions = {state: int(n) for state, n in cursor.fetchall()}
        # The session value of max_user_connections is this account's limit
        # (MAX_USER_CONNECTIONS, else the global one; 0: none). Without the
        # PROCESS privilege the process list shows this user's threads only,
        # which is what that limit counts.
        cursor.execute(
            "SELECT @@max_connections, @@wait_timeout, @@max_user_connections, "
            "(SELECT COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1))"
        )
        max_connections, wait_timeout, user_limit, of_user = cursor.fetchone()
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
        connections = int(cursor.fetchone()[1])
        limits = [(int(max_connections), connections, "max_connections")]
        if int(user_limit) > 0:
            limits.append((int(user_limit), int(of_user), "max_user_connections"))
        slots, used, limit = min(limits, key=lambda each: each[0] - each[1])
        return {
            "sessions": sessions,
            "max_connections": slots,
            "connections": used,
            "limit": limit,
            "wait_timeout": int(wait_timeout),
        }

    def autocommit(self, connection: Any) -> bool:
        return bool(connection.get_autocommit())

    def set_autocommit(self, connection: Any, value: bool) -> None:
        connection.autocommit(value)


class DatabaseWrapper(PooledDatabaseWrapperMixin, base.DatabaseWrapper):
    """Django's MySQL DatabaseWrapper, with connections from a pool."""

    pool_driver = MySQLDriver()
    creation_class = DatabaseCreation
