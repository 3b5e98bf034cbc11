"""SpatiaLite, pooled: GeoDjango's backend on django-pool's SQLite twin.

GeoDjango's per-connection setup is in ``get_new_connection``: it enables
extension loading and loads ``mod_spatialite`` into the connection. The pool
runs that method once per physical connection and the extension stays loaded
for the connection's life, so a reused connection keeps its spatial
functions. The spatial metadata tables (``InitSpatialMetaData``) live in the
database file, created once by ``prepare_database`` (``migrate``).

As with SQLite, in-memory databases are never pooled; Python's ``sqlite3``
must be able to load extensions (CPython built with
``--enable-loadable-sqlite-extensions``, or pysqlite3 installed as sqlite3).
"""

from __future__ import annotations

from django.contrib.gis.db.backends.spatialite import base

from django_pool.backends.sqlite3 import base as sqlite3

__all__ = ["DatabaseWrapper"]


class DatabaseWrapper(sqlite3.DatabaseWrapper, base.DatabaseWrapper):
    """GeoDjango's SpatiaLite DatabaseWrapper, with connections to file databases from a pool."""
