"""A project's own backend built on django-pool's SQLite one, outside django_pool.backends."""

from django_pool.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    """Pooled by inheritance: the checks and pool_status must find it by class."""
