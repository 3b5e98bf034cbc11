"""A PostgreSQL subclass that cannot be subclassed: derives from a supported backend."""

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __init_subclass__(cls, **kwargs):
        raise TypeError("this backend is final")
