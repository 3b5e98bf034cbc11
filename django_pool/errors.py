"""Exceptions raised by django-pool."""

from __future__ import annotations

from django.db import OperationalError

__all__ = ["PoolTimeout"]


class PoolTimeout(OperationalError):
    """No pooled connection became free within ``POOL['timeout']`` seconds.

    A subclass of Django's ``OperationalError``, so code that already catches
    database errors keeps working. The message names the alias, the pool's
    size, how many connections are in use, the overflow, and the options to
    raise.
    """

    __module__ = "django_pool"
