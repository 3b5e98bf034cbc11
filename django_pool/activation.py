"""INSTALLED_APPS activation: ``"django_pool"`` first pools every database it can.

What djorm-ext-pool offered, done without monkeypatching: the ENGINE strings
in ``settings.DATABASES`` are rewritten while Django loads its apps, before
any connection exists. A database opts out with ``"POOL": False``.

* Django's stock ENGINEs and GeoDjango's (PostGIS, SpatiaLite, MySQL GIS)
  get their named twins (:data:`TWINS`).
* Any other ENGINE becomes ``django_pool.backends.pooled.<ENGINE>``
  (:mod:`django_pool.backends.pooled`): pooled if its ``DatabaseWrapper``
  derives from a supported backend (a project's own subclass, django-tenants,
  django-prometheus...). Whether it does is known only once its module is
  imported, which may need the apps loaded (django-tenants imports models),
  so :func:`settle` decides in ``ready()``: an ENGINE that cannot be pooled
  gets its own string back, and the system check ``django_pool.W004``.
* Backends known not to be poolable (Oracle) are left as they are, with
  the same warning; so is the dummy backend, Django's placeholder when
  ``DATABASES`` is empty, without one.
* The ENGINEs of the pooling packages django-pool replaces
  (django-db-connection-pool...) are left as they are: pooled again, each
  connection would sit in two pools. The system check ``django_pool.E004``
  names the twin to use instead.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .backends import pooled

__all__ = ["SELF_POOLING", "TWINS", "UNPOOLABLE", "activate", "self_pooling", "settle"]

#: Stock ENGINE -> pooled twin.
TWINS = {
    "django.db.backends.postgresql": "django_pool.backends.postgresql",
    "django.db.backends.postgresql_psycopg2": "django_pool.backends.postgresql",
    "django.db.backends.mysql": "django_pool.backends.mysql",
    "django.db.backends.sqlite3": "django_pool.backends.sqlite3",
    "django.contrib.gis.db.backends.postgis": "django_pool.backends.postgis",
    "django.contrib.gis.db.backends.spatialite": "django_pool.backends.spatialite",
    "django.contrib.gis.db.backends.mysql": "django_pool.backends.mysqlgis",
}

#: Stock ENGINEs django-pool cannot pool: left alone (the system check warns).
UNPOOLABLE = frozenset(
    {
        "django.db.backends.oracle",
        "django.contrib.gis.db.backends.oracle",
        "django.db.backends.dummy",
    }
)


#: Top-level module -> distribution, of the packages whose ENGINEs pool by themselves.
SELF_POOLING = {
    "dj_db_conn_pool": "django-db-connection-pool",
    "django_postgrespool": "django-postgrespool",
    "django_postgrespool2": "django-postgrespool2",
    "django_db_geventpool": "django-db-geventpool",
}


def self_pooling(engine: str) -> tuple[str, str | None] | None:
    """Return (package, django-pool's twin or None) if *engine* is a pooling package's.

    The twin is read from the ENGINE's name (``django_postgrespool2``,
    ``dj_db_conn_pool.backends.mysql``...): those packages name their backends
    after the database.
    """
    package = SELF_POOLING.get(engine.partition(".")[0])
    if package is None:
        return None
    if any(bridge in engine.lower() for bridge in ("jdbc", "odbc")):
        return package, None  # another driver, other settings: no twin reads them
    twin = next((ours for word, ours in _TWIN_BY_WORD if word in engine.lower()), None)
    return package, twin


_TWIN_BY_WORD = (
    ("postgis", "django_pool.backends.postgis"),
    ("postgres", "django_pool.backends.postgresql"),
    ("mysql", "django_pool.backends.mysql"),
    ("sqlite", "django_pool.backends.sqlite3"),
)


def _target(engine: str) -> str | None:
    if engine in TWINS:
        return TWINS[engine]
    if not engine or engine in UNPOOLABLE or engine.startswith("django_pool."):
        return None
    if self_pooling(engine):
        return None
    return pooled.engine(engine)


def activate(databases: dict[str, dict] | None = None) -> list[str]:
    """Point every database (not opted out) at its pooled ENGINE; return the aliases.

    *databases* defaults to ``settings.DATABASES``, changed in place.

    Raise ``ImproperlyConfigured`` if one of them already has a connection
    in this thread: it was opened with the stock backend, too late to pool.
    """
    from django.db import connections

    switched = []
    if databases is None:
        databases = settings.DATABASES
    for alias, settings_dict in databases.items():
        target = _target(str(settings_dict.get("ENGINE", "")))
        if target is None or settings_dict.get("POOL") is False:
            continue
        if alias in {c.alias for c in connections.all(initialized_only=True)}:
            raise ImproperlyConfigured(
                f"django_pool cannot pool database {alias!r}: a connection to it was "
                "opened before the django_pool app loaded. Put 'django_pool' first in "
                f"INSTALLED_APPS, or set settings.DATABASES[{alias!r}]['ENGINE'] to {target!r}."
            )
        if pooled.original_engine(target) is not None:
            pooled.allow_unpooled(target)
        # The dict Django's connection handler reads: changed in place.
        settings_dict["ENGINE"] = target
        switched.append(alias)
    return switched


def settle(databases: dict[str, dict] | None = None) -> list[str]:
    """Give back their ENGINE to databases whose backend turned out unpoolable; return them.

    Run once the apps are loaded (``ready()``): importing a backend may need them.
    """
    from django.db.utils import load_backend

    from .wrapper import PooledDatabaseWrapperMixin

    restored = []
    if databases is None:
        databases = settings.DATABASES
    for alias, settings_dict in databases.items():
        original = pooled.original_engine(str(settings_dict.get("ENGINE", "")))
        if original is None:
            continue
        try:
            wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper
            if issubclass(wrapper, PooledDatabaseWrapperMixin):
                continue
        except Exception:  # noqa: BLE001 - Django reports a broken ENGINE at first use
            pass
        settings_dict["ENGINE"] = original
        restored.append(alias)
    return restored
