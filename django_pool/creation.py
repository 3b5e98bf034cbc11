"""PooledCreationMixin: test databases can be created, cloned and dropped while pools live.

``CREATE DATABASE ... TEMPLATE`` and ``DROP DATABASE`` fail while anyone is
connected to the database ("is being accessed by other users"). Pooled
connections stay connected after Django "closes" them, so before each of these
steps the pools on that database are retired: idle connections close at
once, lent ones when they come back.
"""

from __future__ import annotations

from django.db import connections

from . import registry

__all__ = ["PooledCreationMixin"]


class PooledCreationMixin:
    """Mix into a Django ``DatabaseCreation`` class, first. Supported API.

    Nothing to provide: before the test database is created, cloned or
    dropped, the pools on it (and on a clone's source) are retired, so no
    pooled connection keeps it busy.
    """

    def _create_test_db(self, verbosity, autoclobber, keepdb=False):
        # An old test database of that name may be dropped and created again.
        release_database(self._get_test_db_name())
        return super()._create_test_db(verbosity, autoclobber, keepdb)

    def _clone_test_db(self, suffix, verbosity, keepdb=False):
        release_database(self.connection.settings_dict["NAME"])
        release_database(self.get_test_db_clone_settings(suffix)["NAME"])
        return super()._clone_test_db(suffix, verbosity, keepdb)

    def _destroy_test_db(self, test_database_name, verbosity):
        release_database(test_database_name)
        return super()._destroy_test_db(test_database_name, verbosity)


def release_database(name: str) -> None:
    """Close every pooled connection to database *name* this process can reach."""
    # The calling thread's wrappers (the alias itself, its test mirrors) first,
    # so their connections are idle when the pools are retired.
    for wrapper in connections.all(initialized_only=True):
        if str(wrapper.settings_dict["NAME"]) == str(name):
            wrapper.close()
    registry.retire(database=str(name))
