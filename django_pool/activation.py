"""INSTALLED_APPS activation: ``"django_pool"`` first pools every stock-ENGINE database.

What djorm-ext-pool offered, done without monkeypatching: the ENGINE strings
in ``settings.DATABASES`` are rewritten to their pooled twins while Django
loads its apps, before any connection exists. A database opts out with
``"POOL": False``. Backends without a twin (Oracle, GIS) are left alone.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["TWINS", "activate"]

logger = logging.getLogger(__name__)

#: Stock ENGINE -> pooled twin.
TWINS = {
    "django.db.backends.postgresql": "django_pool.backends.postgresql",
    "django.db.backends.postgresql_psycopg2": "django_pool.backends.postgresql",
    "django.db.backends.mysql": "django_pool.backends.mysql",
    "django.db.backends.sqlite3": "django_pool.backends.sqlite3",
}


def activate(databases: dict[str, dict] | None = None) -> list[str]:
    """Point every stock-ENGINE database (not opted out) at its twin; return the aliases.

    *databases* defaults to ``settings.DATABASES``, changed in place.

    Raise ``ImproperlyConfigured`` if one of them already has a connection
    in this thread: it was opened with the stock backend, too late to pool.
    """
    from django.db import connections

    switched = []
    if databases is None:
        databases = settings.DATABASES
    for alias, settings_dict in databases.items():
        twin = TWINS.get(str(settings_dict.get("ENGINE", "")))
        if twin is None or settings_dict.get("POOL") is False:
            continue
        if alias in {c.alias for c in connections.all(initialized_only=True)}:
            raise ImproperlyConfigured(
                f"django_pool cannot pool database {alias!r}: a connection to it was "
                "opened before the django_pool app loaded. Put 'django_pool' first in "
                f"INSTALLED_APPS, or set settings.DATABASES[{alias!r}]['ENGINE'] to {twin!r}."
            )
        # The dict Django's connection handler reads: changed in place.
        settings_dict["ENGINE"] = twin
        switched.append(alias)
    if switched:
        logger.info("django_pool: pooling %s", ", ".join(map(repr, switched)))
    return switched
