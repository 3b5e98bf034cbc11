"""MySQL/MariaDB GIS, pooled: GeoDjango's backend on django-pool's MySQL twin.

GeoDjango's MySQL backend changes operations, introspection and the schema
editor only; there is no per-connection setup beyond MySQL's own.
"""

from __future__ import annotations

from django.contrib.gis.db.backends.mysql import base

from django_pool.backends.mysql import base as mysql

__all__ = ["DatabaseWrapper"]


class DatabaseWrapper(mysql.DatabaseWrapper, base.DatabaseWrapper):
    """GeoDjango's MySQL DatabaseWrapper, with connections from a pool."""
