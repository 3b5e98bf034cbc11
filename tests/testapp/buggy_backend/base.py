"""A project's backend on Django's SQLite one with a bug in its connection setup."""

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    """Its get_new_connection raises KeyError: a bug, not a setting's value."""

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        roles = {"web": 1}
        connection.execute("SELECT ?", [roles[self.settings_dict.get("ROLE", "worker")]])
        return connection
