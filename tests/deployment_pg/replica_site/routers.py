"""Reads go to the replica, writes and migrations to the primary."""

from __future__ import annotations


class PrimaryReplicaRouter:
    """The router of Django's multi-database documentation, for two aliases."""

    def db_for_read(self, model, **hints) -> str:
        """Send reads to the replica."""
        return "replica"

    def db_for_write(self, model, **hints) -> str:
        """Send writes to the primary."""
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        """Both aliases hold the same data."""
        return True

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        """Migrate the primary only; the replica gets the schema by replication."""
        return db == "default"
