"""The functions behind django_pool's public API."""

from __future__ import annotations

import functools
import inspect
from contextlib import ContextDecorator
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections
from sqlalchemy.pool import QueuePool

from . import registry
from .pool import status_of
from .stats import PoolStats
from .wrapper import PooledDatabaseWrapperMixin

__all__ = ["dispose", "get_stats", "pop_stats", "release_connections", "return_connections"]


def get_stats(alias: str | None = None) -> dict[str, dict[str, Any]]:
    """Return gauges, counters and time distributions of the live pools, keyed by alias.

    Gauges: ``open``, ``in_use``, ``idle``, ``waiting`` (and ``pool_size``,
    ``max_overflow``, ``overflow`` for QueuePool). Counters since the pool was
    built or the last :func:`pop_stats` (every key is present, zero until it
    moves): ``connections_num``, ``checkouts_num``, ``invalidations_num``,
    ``timeouts_num``, ... with ``invalidations_by_reason``. Distributions:
    ``wait_seconds``, ``hold_seconds``, ``connect_seconds``. The full list is
    in docs/observability.md.

    For a pooled *alias* whose pool is not built yet (no checkout in this
    process so far, or none since :func:`dispose`), the same keys, all zero:
    ``get_stats("default")["default"]`` works in a fresh worker. An *alias*
    missing from ``DATABASES`` raises Django's ``ConnectionDoesNotExist``; an
    unpooled one gives ``{}``.
    """
    found = {pool.alias: pool.status() for pool in registry.pools(alias)}
    return found if found or alias is None else _not_built_yet(alias)


def pop_stats(alias: str | None = None) -> dict[str, dict[str, Any]]:
    """Return what :func:`get_stats` returns and reset counters and distributions."""
    found = {pool.alias: pool.status(reset=True) for pool in registry.pools(alias)}
    return found if found or alias is None else _not_built_yet(alias)


def _not_built_yet(alias: str) -> dict[str, dict[str, Any]]:
    # What a pool would report before its first checkout; {} if unpooled.
    wrapper = connections[alias]  # ConnectionDoesNotExist for an unknown alias
    if not isinstance(wrapper, PooledDatabaseWrapperMixin) or not wrapper.is_pooled():
        return {}
    options = wrapper._pool_options()  # ImproperlyConfigured, as a checkout would
    gated = issubclass(options.sqlalchemy_class(), QueuePool)
    database = str(wrapper.settings_dict["NAME"])
    return {alias: status_of(alias, database, options, gated, (0, 0, 0), PoolStats().get())}


def dispose(alias: str | None = None) -> int:
    """Close the pooled connections of *alias*, or of every alias.

    Idle connections close now; connections in use close when they are
    returned. The next checkout builds a fresh pool. Return how many pools
    were disposed.
    """
    return registry.retire(alias=alias)


class return_connections(ContextDecorator):
    """Return the calling thread's connections to their pools on exit.

    Use it around work done outside Django's request cycle (threads, Celery
    tasks, management commands), where no ``request_finished`` signal gives
    connections back::

        @return_connections        # or @return_connections()
        def task(): ...

        with return_connections():
            ...

    On an ``async def`` function, and as ``async with``, it returns the
    connections of the thread that Django's async ORM (``sync_to_async``,
    thread-sensitive) used for that code, which is not the event loop's.
    """

    def __call__(self, func: Any) -> Any:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def returning(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await func(*args, **kwargs)

            return returning
        return super().__call__(func)

    async def __aenter__(self) -> return_connections:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await sync_to_async(self.__exit__)(*exc_info)

    def __new__(cls, func: Any = None) -> Any:
        # Bare ``@return_connections``: the class receives the function itself.
        if callable(func):
            return cls()(func)
        return super().__new__(cls)

    def __init__(self, func: Any = None) -> None:
        pass

    def __enter__(self) -> return_connections:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for connection in connections.all(initialized_only=True):
            # Judged as at the end of a request: a broken connection is
            # discarded, never pooled.
            return_to_pool = getattr(connection, "return_to_pool", None)
            if return_to_pool is not None:
                return_to_pool()
            else:
                connection.close()


release_connections = return_connections
"""The former name of :class:`return_connections`, kept so that code using it
keeps working. "Release" is the word of ``POOL["release"]`` only.
"""
