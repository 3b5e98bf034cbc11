"""URL schemes for dj-database-url: ``<scheme>+pool://`` gives the pooled ENGINE.

::

    import dj_database_url
    from django_pool.contrib.database_url import register_schemes

    register_schemes()
    DATABASES = {"default": dj_database_url.config()}   # DATABASE_URL=postgres+pool://...

Each ``<scheme>+pool`` scheme is dj-database-url's ``<scheme>`` with the
pooled ENGINE: ``postgis+pool://``, ``spatialite+pool:///path/db.sqlite3``
and ``mysqlgis+pool://`` give the GeoDjango twins.

Without registering, ``dj_database_url.config(engine="django_pool.backends.postgresql")``
and django-environ's ``env.db_url(engine=...)`` work too.
"""

from __future__ import annotations

__all__ = ["SCHEMES", "register_schemes"]

SCHEMES = {
    "postgres+pool": "django_pool.backends.postgresql",
    "postgresql+pool": "django_pool.backends.postgresql",
    "pgsql+pool": "django_pool.backends.postgresql",
    "mysql+pool": "django_pool.backends.mysql",
    "postgis+pool": "django_pool.backends.postgis",
    "spatialite+pool": "django_pool.backends.spatialite",
    "mysqlgis+pool": "django_pool.backends.mysqlgis",
    "mariadb+pool": "django_pool.backends.mysql",
    # sqlite+pool:////absolute/path.sqlite3 or sqlite+pool:///relative.sqlite3, as sqlite://
    "sqlite+pool": "django_pool.backends.sqlite3",
}
"""Scheme -> ENGINE."""


def register_schemes() -> None:
    """Teach dj-database-url the ``+pool`` schemes (it must be installed)."""
    import dj_database_url

    for scheme, engine in SCHEMES.items():
        if "postgres" in engine or "postgis" in engine:
            postprocess = dj_database_url.apply_current_schema
        elif "sqlite" in engine or "spatialite" in engine:  # as sqlite://: no path, in memory
            postprocess = getattr(
                dj_database_url, "default_to_in_memory_db", dj_database_url.default_postprocess
            )
        else:
            postprocess = dj_database_url.default_postprocess
        dj_database_url.register(scheme, engine)(postprocess)
