"""PostGIS, pooled: GeoDjango's backend on django-pool's PostgreSQL twin.

GeoDjango's per-connection setup is in ``get_new_connection``: with psycopg 3
it registers the geometry, geography and raster types and the PostGISAdapter
dumpers on the connection. The pool runs that method once per physical
connection, and the registrations live on the driver connection, so a reused
connection keeps them. ``init_connection_state`` is PostgreSQL's own (time
zone, role), which the pooled twin already runs once per connection.
"""

from __future__ import annotations

from django.contrib.gis.db.backends.postgis import base

from django_pool.backends.postgresql import base as postgresql

__all__ = ["DatabaseWrapper"]


class DatabaseWrapper(postgresql.DatabaseWrapper, base.DatabaseWrapper):
    """GeoDjango's PostGIS DatabaseWrapper, with connections from a pool.

    The pooled PostgreSQL wrapper (mixin, driver, creation class) comes first;
    GeoDjango's operations, schema editor and type registration follow.
    """
