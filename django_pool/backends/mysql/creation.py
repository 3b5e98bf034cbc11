"""Django's mysql test database creation, with pools released before create, clone and drop."""

from django.db.backends.mysql import creation

from django_pool.creation import PooledCreationMixin


class DatabaseCreation(PooledCreationMixin, creation.DatabaseCreation):
    """Django's DatabaseCreation; pools on the test database are released first."""
