from django.db.backends.dummy import base


class DatabaseWrapper(base.DatabaseWrapper):
    """Derived from no backend django-pool supports."""

    vendor = "unpoolable"
