"""System checks, on settings (``manage.py check``) and on servers (``--database <alias>``).

E001 CONN_MAX_AGE is not 0; E002 Django's native pool is set too; E003 POOL is
invalid; W003 ``release="transaction"`` with ``ATOMIC_REQUESTS``, where it
cannot release anything; W004 a database's ENGINE cannot be pooled (it stays
unpooled; ``"POOL": False`` says that is intended); E004 a database's ENGINE
is a pooling package's that django-pool replaces (left alone, not pooled
twice; ``"POOL": False`` keeps the old pool knowingly). With ``--database``: W001
the pool may open more connections than the server has free; W002 ``recycle``
is not below MySQL's ``wait_timeout``; W005 the server could not be reached to
compare (one attempt, outside the pool: a check does not wait for a failover).

Behind PgBouncer (``POOL['pgbouncer']`` names its pool_mode): W010 ``reset_session`` with
transaction pooling; W011 server-side cursors with transaction pooling; W012 psycopg's
prepared statements (``server_side_binding``) with transaction pooling; W013 statement
pooling, where ``atomic()`` cannot work; W014 port 6432 (PgBouncer's) without
``POOL['pgbouncer']``, so none of the above can be checked.

W015: a key the replaced packages took (``echo``, ``logging_name``...) that
means nothing here; the settings load, with a Python warning.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import load_backend
from sqlalchemy.pool import QueuePool

from .activation import self_pooling
from .backends import pooled
from .config import PoolOptions, ignored_keys
from .errors import first_line
from .release import check_vendor
from .rules import is_pooled_engine, pooled_aliases, problems_in
from .wrapper import PooledDatabaseWrapperMixin, unpooled

__all__ = ["check_server", "check_settings", "check_unpooled", "pooled_aliases", "register"]

# ENGINEs with nothing to pool: Django's placeholder when DATABASES is empty.
_NOTHING_TO_POOL = frozenset({"django.db.backends.dummy"})


def register() -> None:
    """Register the checks with Django (called from the app's ready())."""
    checks.register(check_settings)  # every check, runserver and migrate included
    checks.register(check_unpooled)
    checks.register(check_server, checks.Tags.database)  # only with --database


def _loads(engine: str) -> bool:
    """Return whether the ENGINE's backend loads (else Django reports it at first use)."""
    try:
        load_backend(engine)
    except Exception:  # noqa: BLE001 - Django's own error comes at first use
        return False
    return True


def check_unpooled(app_configs=None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn about each database django-pool leaves unpooled without being told to."""
    warnings: list[checks.CheckMessage] = []
    for alias, settings_dict in settings.DATABASES.items():
        engine = settings_dict.get("ENGINE", "")
        if settings_dict.get("POOL") is False or engine in _NOTHING_TO_POOL:
            continue
        where = f"settings.DATABASES[{alias!r}]"
        pooling = self_pooling(engine)
        if pooling:
            warnings.append(_pooled_by_another_package(where, engine, *pooling))
            continue
        if not _loads(engine) or is_pooled_engine(engine):
            continue
        # Why, where activation tried (a backend that derives from a supported
        # one may still not combine with it); else it derives from none.
        why = pooled.why_unpooled(pooled.engine(engine)) or (
            "its DatabaseWrapper derives from no backend it supports (PostgreSQL, "
            "MySQL/MariaDB, SQLite, PostGIS, SpatiaLite, MySQL GIS)"
        )
        warnings.append(
            checks.Warning(
                f"Database {alias!r} is not pooled: django-pool cannot pool its ENGINE "
                f"{engine!r}: {why.rstrip('.')}.",
                hint=f"Set {where}['POOL'] = False to keep it unpooled knowingly, or give it "
                "a pooled backend built on PooledDatabaseWrapperMixin and a Driver "
                "(docs/migration.md, 'Your own backend').",
                id="django_pool.W004",
            )
        )
    return warnings


def _pooled_by_another_package(
    where: str, engine: str, package: str, twin: str | None
) -> checks.CheckMessage:
    instead = (
        f"Set {where}['ENGINE'] to {twin!r}: it reads the old package's settings as they "
        "are (docs/migration.md)"
        if twin
        else "django-pool has no twin for it"
    )
    return checks.Error(
        f"{where}['ENGINE'] is {engine!r}, {package}'s, which pools connections itself: "
        "django_pool leaves it alone rather than put each connection in two pools.",
        hint=f"{instead}; or set {where}['POOL'] = False to keep {package}'s pool knowingly.",
        id="django_pool.E004",
    )


def check_settings(app_configs=None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check every pooled alias's settings; no database access."""
    errors: list[checks.CheckMessage] = []
    for alias in pooled_aliases(settings.DATABASES):
        settings_dict = settings.DATABASES[alias]
        where = f"settings.DATABASES[{alias!r}]"
        errors.extend(
            checks.Error(problem.message, hint=problem.hint, id=problem.id)
            for problem in problems_in(alias, settings_dict)
        )
        try:
            options = PoolOptions.from_settings(alias, settings_dict)
            vendor = load_backend(settings_dict["ENGINE"]).DatabaseWrapper.vendor
            check_vendor(alias, vendor, options.release)
        except ImproperlyConfigured as err:
            errors.append(checks.Error(str(err), id="django_pool.E003"))
            continue
        errors.extend(
            checks.Warning(
                message,
                hint="Remove it: the settings load without it, as they do with it.",
                id="django_pool.W015",
            )
            for message in ignored_keys(alias, settings_dict)
        )
        if options.release == "transaction" and settings_dict.get("ATOMIC_REQUESTS"):
            errors.append(
                checks.Warning(
                    f"{where}['POOL']['release'] is 'transaction', but "
                    f"{where}['ATOMIC_REQUESTS'] runs each request in one transaction: "
                    "its connection is held to the end of the request anyway.",
                    hint="Turn ATOMIC_REQUESTS off (use atomic() where needed), or remove "
                    "POOL['release'].",
                    id="django_pool.W003",
                )
            )
        if vendor == "postgresql":  # PostGIS and pooled third-party ENGINEs too
            errors += _pgbouncer_checks(where, settings_dict, options)
    return errors


# PgBouncer's default port: a hint that PgBouncer is in between.
_PGBOUNCER_PORT = "6432"


def _pgbouncer_checks(
    where: str, settings_dict: dict[str, Any], options: PoolOptions
) -> list[checks.CheckMessage]:
    """Return warnings for what cannot work behind the pool_mode POOL['pgbouncer'] names.

    For a PostgreSQL-vendor database (its ENGINE's wrapper says so), whatever its ENGINE.
    """
    mode = options.pgbouncer
    if mode is None:
        ports = str(settings_dict.get("PORT") or "").split(",")
        if _PGBOUNCER_PORT not in (p.strip() for p in ports):
            return []
        return [
            checks.Warning(
                f"{where}['PORT'] is {_PGBOUNCER_PORT}, PgBouncer's default port, but "
                f"{where}['POOL']['pgbouncer'] does not say which pool_mode it runs: "
                "what cannot work behind transaction pooling goes unchecked.",
                hint=f"Set {where}['POOL']['pgbouncer'] to 'session' or 'transaction' "
                "(PgBouncer's pool_mode), or silence django_pool.W014 if this is PostgreSQL.",
                id="django_pool.W014",
            )
        ]
    found: list[checks.CheckMessage] = []
    if mode == "statement":
        found.append(
            checks.Warning(
                f"{where}['POOL']['pgbouncer'] is 'statement': PgBouncer refuses every "
                "transaction of more than one statement, so atomic(), and the ORM code that "
                "uses it (save() with parents, delete() with cascades, migrations), fails.",
                hint="Run PgBouncer with pool_mode = transaction for Django.",
                id="django_pool.W013",
            )
        )
    if mode in ("transaction", "statement"):
        if options.reset_session:
            found.append(
                checks.Warning(
                    f"{where}['POOL']['reset_session'] is set behind PgBouncer's "
                    f"{mode} pooling, where no session state survives a transaction: the reset "
                    "runs on whichever server connection PgBouncer picks, resets nothing of "
                    "yours, and costs a round trip and Django's connection setup per request.",
                    hint=f"Remove {where}['POOL']['reset_session'] (keep statements that share "
                    "session state in one atomic() block), or use pool_mode = session.",
                    id="django_pool.W010",
                )
            )
        if not settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
            found.append(
                checks.Warning(
                    f"{where}['DISABLE_SERVER_SIDE_CURSORS'] is not True behind PgBouncer's "
                    f"{mode} pooling: QuerySet.iterator() opens a server-side cursor, which "
                    "the next fetch may not find on the server connection it gets.",
                    hint=f"Set {where}['DISABLE_SERVER_SIDE_CURSORS'] = True.",
                    id="django_pool.W011",
                )
            )
        db_options = settings_dict.get("OPTIONS") or {}
        if db_options.get("server_side_binding") and (
            db_options.get("prepare_threshold", 5) is not None
        ):
            found.append(
                checks.Warning(
                    f"{where}['OPTIONS']['server_side_binding'] is True behind PgBouncer's "
                    f"{mode} pooling: psycopg prepares a statement run prepare_threshold "
                    "times, and the next transaction may run on a server connection that "
                    'never saw it ("prepared statement ... does not exist").',
                    hint=f"Set {where}['OPTIONS']['prepare_threshold'] = None, or run "
                    "PgBouncer 1.21+ with max_prepared_statements > 0.",
                    id="django_pool.W012",
                )
            )
    return found


def check_server(app_configs=None, databases=None, **kwargs: Any) -> list[checks.CheckMessage]:
    """With ``--database``: compare each pool's bound with what the server allows."""
    from django.db import DatabaseError, connections

    warnings: list[checks.CheckMessage] = []
    for alias in pooled_aliases(settings.DATABASES, databases or ()):
        try:
            connection = connections[alias]
            if not isinstance(connection, PooledDatabaseWrapperMixin):
                continue  # its class was replaced after the settings were read
            connection._refuse_bad_pool_settings()
            options = PoolOptions.from_settings(alias, connection.settings_dict)
        except ImproperlyConfigured:
            continue  # E001-E003 say why; a connection would only raise it again
        try:
            # Not through the pool, whose connect tries again until its
            # timeout (30 s by default): migrate would wait that long here,
            # then as long again for its own connection.
            with unpooled(), connection.cursor() as cursor:
                server = connection.pool_driver.server_status(cursor.cursor)
        except DatabaseError as err:
            warnings.append(
                checks.Warning(
                    f"Database {alias!r}: could not connect to compare its pool with the "
                    f"server: {first_line(err)}",
                    hint="Check HOST, PORT and that the server runs; requests would try "
                    f"again for up to {options.timeout:g} s (POOL['timeout']) before failing.",
                    id="django_pool.W005",
                )
            )
            continue
        finally:
            connection.close()
        if not server:
            continue
        bound = options.bound()  # None (pool_class "null"): nothing to compare
        free = server["max_connections"] - server["connections"]
        # Behind PgBouncer the server's slots are PgBouncer's to share
        # (default_pool_size); the pool's bound counts against its
        # max_client_conn, which only its admin console shows.
        if options.pgbouncer is None and bound is not None and bound > free:
            sizes = (
                f"pool_size {options.pool_size} + max_overflow {options.max_overflow}"
                if issubclass(options.sqlalchemy_class(), QueuePool)
                else f"pool_class {options.pool_class!r}"
            )
            warnings.append(
                checks.Warning(
                    f"Database {alias!r}: one process's pool may open {bound} connections "
                    f"({sizes}), but the server has {free} of {server['max_connections']} "
                    f"free ({server.get('limit', 'max_connections')}).",
                    hint="Every process has its own pool: the server needs processes × "
                    "(pool_size + max_overflow). Lower them or raise that limit.",
                    id="django_pool.W001",
                )
            )
        wait_timeout = server.get("wait_timeout")
        if wait_timeout and (options.recycle is None or options.recycle >= wait_timeout):
            hint = (
                f"Set settings.DATABASES[{alias!r}]['POOL']['recycle'] below "
                f"{wait_timeout}, or turn on pre_ping."
            )
            legacy = getattr(settings, "DATABASE_WAIT_TIMEOUT", None)
            pool = connection.settings_dict.get("POOL")
            own = isinstance(pool, dict) and any("recycle" in str(key).lower() for key in pool)
            if legacy is not None and not own:  # the recycle is the legacy setting's
                hint = (
                    f"settings.DATABASE_WAIT_TIMEOUT is {legacy!r} and recycle is 90 % of it: "
                    f"set it to the server's wait_timeout ({wait_timeout}), or {hint[0].lower()}"
                    f"{hint[1:]}"
                )
            warnings.append(
                checks.Warning(
                    f"Database {alias!r}: POOL['recycle'] is {options.recycle!r}, not below "
                    f"the server's wait_timeout ({wait_timeout} s): idle connections can "
                    'be dropped by the server ("MySQL server has gone away").',
                    hint=hint,
                    id="django_pool.W002",
                )
            )
    return warnings
