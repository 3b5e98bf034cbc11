"""URL schemes for dj-database-url: ``postgres+pool://`` and ``mysql+pool://``.

::

    import dj_database_url
    from django_pool.contrib.database_url import register_schemes

    register_schemes()
    DATABASES = {"default": dj_database_url.config()}   # DATABASE_URL=postgres+pool://...

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
}
"""Scheme -> ENGINE."""


def register_schemes() -> None:
    """Teach dj-database-url the ``+pool`` schemes (it must be installed)."""
    import dj_database_url

    for scheme, engine in SCHEMES.items():
        postprocess = (
            dj_database_url.apply_current_schema
            if "postgres" in engine
            else dj_database_url.default_postprocess
        )
        dj_database_url.register(scheme, engine)(postprocess)
