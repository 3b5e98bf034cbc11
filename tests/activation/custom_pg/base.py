"""A project's own PostgreSQL backend: per-connection setup, wrapper state, a method."""

from django.db.backends.postgresql import base

#: Physical connections this backend set up (its get_new_connection ran).
OPENED = []


class DatabaseWrapper(base.DatabaseWrapper):
    display_name = "Custom PostgreSQL"

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        with connection.cursor() as cursor:
            cursor.execute("SET application_name = 'custom-backend'")
        connection.commit()  # autocommit is not set yet
        OPENED.append(id(connection))
        return connection

    def init_connection_state(self):
        super().init_connection_state()
        self.state_ready = True  # on the wrapper: must be there at every checkout

    def application_name(self):
        with self.cursor() as cursor:
            cursor.execute("SHOW application_name")
            return cursor.fetchone()[0]
