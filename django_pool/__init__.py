"""django-pool: real connection pooling for Django's ORM, on SQLAlchemy's pool.

Set a database's ENGINE to ``django_pool.backends.<vendor>`` (postgresql,
mysql, sqlite3), keep ``CONN_MAX_AGE`` at 0, and tune it with ``POOL``.
"""

from .api import dispose, get_stats, pop_stats, release_connections, return_connections
from .backends import unknown as _unknown  # noqa: F401 - a misspelled ENGINE's message
from .dbapi import manage
from .errors import PoolTimeout

__all__ = [
    "PoolTimeout",
    "dispose",
    "get_stats",
    "manage",
    "pop_stats",
    "release_connections",
    "return_connections",
]

__version__ = "0.1.0"
