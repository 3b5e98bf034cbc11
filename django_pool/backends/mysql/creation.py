"""Django's mysql test database creation; the pools on it are disconnected first."""

from django.db.backends.mysql import creation

from django_pool.creation import PooledCreationMixin


class DatabaseCreation(PooledCreationMixin, creation.DatabaseCreation):
    """Django's DatabaseCreation; pooled connections to the test database are closed first."""
