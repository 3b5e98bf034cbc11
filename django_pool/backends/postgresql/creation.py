"""Django's postgresql test database creation, with pools released before create, clone and drop."""

from django.db.backends.postgresql import creation

from django_pool.creation import PooledCreationMixin


class DatabaseCreation(PooledCreationMixin, creation.DatabaseCreation):
    """Django's DatabaseCreation; pools on the test database are released first."""
