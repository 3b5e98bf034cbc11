"""System checks, on settings (``manage.py check``) and on servers (``--database <alias>``).

E001 CONN_MAX_AGE is not 0; E002 Django's native pool is set too; E003 POOL is
invalid; W003 ``release="transaction"`` with ``ATOMIC_REQUESTS``, where it
cannot release anything; W004 a database's ENGINE cannot be pooled (it stays
unpooled; ``"POOL": False`` says that is intended). With ``--database``: W001
the pool may open more connections than the server has free; W002 ``recycle``
is not below MySQL's ``wait_timeout``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import load_backend

from .config import PoolOptions
from .release import check_vendor

__all__ = ["check_server", "check_settings", "check_unpooled", "pooled_aliases", "register"]

#: The named twins' ENGINE prefix (a pooled backend may live elsewhere: see pooled_aliases()).
ENGINE_PREFIX = "django_pool.backends."

# ENGINEs with nothing to pool: Django's placeholder when DATABASES is empty.
_NOTHING_TO_POOL = frozenset({"django.db.backends.dummy"})


def register() -> None:
    """Register the checks with Django (called from the app's ready())."""
    checks.register(check_settings)  # every check, runserver and migrate included
    checks.register(check_unpooled)
    checks.register(check_server, checks.Tags.database)  # only with --database


def _wrapper_class(settings_dict: dict[str, Any]) -> type | None:
    """Return the ENGINE's DatabaseWrapper class; None if it does not load (Django says why)."""
    try:
        return load_backend(settings_dict.get("ENGINE", "")).DatabaseWrapper
    except Exception:  # noqa: BLE001 - Django's own error comes at first use
        return None


def _is_pooled(settings_dict: dict[str, Any]) -> bool:
    from .wrapper import PooledDatabaseWrapperMixin

    wrapper = _wrapper_class(settings_dict)
    return wrapper is not None and issubclass(wrapper, PooledDatabaseWrapperMixin)


def pooled_aliases(databases=None) -> list[str]:
    """Return the aliases (of *databases*, or all) whose ENGINE is a pooled backend.

    By class, not ENGINE name: a project's own pooled backend counts too.
    """
    return [
        alias
        for alias, settings_dict in settings.DATABASES.items()
        if (databases is None or alias in databases) and _is_pooled(settings_dict)
    ]


def check_unpooled(app_configs=None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn about each database django-pool leaves unpooled without being told to."""
    warnings: list[checks.CheckMessage] = []
    for alias, settings_dict in settings.DATABASES.items():
        engine = settings_dict.get("ENGINE", "")
        if settings_dict.get("POOL") is False or engine in _NOTHING_TO_POOL:
            continue
        if _wrapper_class(settings_dict) is None or _is_pooled(settings_dict):
            continue
        where = f"settings.DATABASES[{alias!r}]"
        warnings.append(
            checks.Warning(
                f"Database {alias!r} is not pooled: django-pool cannot pool its ENGINE "
                f"{engine!r}, whose DatabaseWrapper derives from no backend it supports "
                "(PostgreSQL, MySQL/MariaDB, SQLite, PostGIS, SpatiaLite, MySQL GIS).",
                hint=f"Set {where}['POOL'] = False to keep it unpooled knowingly, or give it "
                "a pooled backend built on PooledDatabaseWrapperMixin and a Driver "
                "(docs/migration.md, 'Your own backend').",
                id="django_pool.W004",
            )
        )
    return warnings


def check_settings(app_configs=None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check every pooled alias's settings; no database access."""
    errors: list[checks.CheckMessage] = []
    for alias in pooled_aliases():
        settings_dict = settings.DATABASES[alias]
        where = f"settings.DATABASES[{alias!r}]"
        max_age = settings_dict.get("CONN_MAX_AGE", 0)
        if max_age != 0:
            errors.append(
                checks.Error(
                    f"{where}['CONN_MAX_AGE'] is {max_age!r}; with django-pool it must be 0.",
                    hint=f"Set it to 0; bound a connection's age with {where}['POOL']['recycle'].",
                    id="django_pool.E001",
                )
            )
        if (settings_dict.get("OPTIONS") or {}).get("pool"):
            errors.append(
                checks.Error(
                    f"{where}['OPTIONS']['pool'] turns on Django's own pool as well.",
                    hint=f"Remove it and configure {where}['POOL'].",
                    id="django_pool.E002",
                )
            )
        try:
            options = PoolOptions.from_settings(alias, settings_dict)
            vendor = load_backend(settings_dict["ENGINE"]).DatabaseWrapper.vendor
            check_vendor(alias, vendor, options.release)
        except ImproperlyConfigured as err:
            errors.append(checks.Error(str(err), id="django_pool.E003"))
            continue
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
    return errors


def check_server(app_configs=None, databases=None, **kwargs: Any) -> list[checks.CheckMessage]:
    """With ``--database``: compare each pool's bound with what the server allows."""
    from django.db import DatabaseError, connections

    warnings: list[checks.CheckMessage] = []
    for alias in pooled_aliases(databases or ()):
        connection = connections[alias]
        try:
            options = PoolOptions.from_settings(alias, connection.settings_dict)
            with connection.cursor() as cursor:
                server = connection.pool_driver.server_status(cursor.cursor)
        except (DatabaseError, ImproperlyConfigured):
            continue  # reported elsewhere (E003, or Django's own connection checks)
        finally:
            connection.close()
        if not server:
            continue
        bound = options.pool_size + options.max_overflow
        free = server["max_connections"] - server["connections"]
        if bound > free:
            warnings.append(
                checks.Warning(
                    f"Database {alias!r}: one process's pool may open {bound} connections "
                    f"(pool_size {options.pool_size} + max_overflow {options.max_overflow}), "
                    f"but the server has {free} of {server['max_connections']} free.",
                    hint="Every process has its own pool: the server needs processes × "
                    "(pool_size + max_overflow). Lower them or raise max_connections.",
                    id="django_pool.W001",
                )
            )
        wait_timeout = server.get("wait_timeout")
        if wait_timeout and (options.recycle is None or options.recycle >= wait_timeout):
            warnings.append(
                checks.Warning(
                    f"Database {alias!r}: POOL['recycle'] is {options.recycle!r}, not below "
                    f"the server's wait_timeout ({wait_timeout} s): idle connections can "
                    'be dropped by the server ("MySQL server has gone away").',
                    hint=f"Set settings.DATABASES[{alias!r}]['POOL']['recycle'] below "
                    f"{wait_timeout}, or turn on pre_ping.",
                    id="django_pool.W002",
                )
            )
    return warnings
