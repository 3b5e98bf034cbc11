"""Pool a DatabaseWrapper derived from a backend django-pool supports.

``pooled_wrapper(cls)`` returns ``class DatabaseWrapper(<twin>, cls)``: the
pooled twin of the stock backend ``cls`` derives from (its mixin, driver and
creation class) placed before ``cls``, so every method of ``cls`` still runs
(each pooled method calls ``super()``) and every attribute of ``cls`` not
about pooling wins. Supported stock backends: PostgreSQL, MySQL/MariaDB,
SQLite and GeoDjango's PostGIS, SpatiaLite and MySQL GIS.

What changes for ``cls``:

* ``creation_class``: if ``cls`` has its own, it is pooled too
  (:class:`~django_pool.creation.PooledCreationMixin` before it).
* ``init_connection_state``: the stock one runs once per physical connection
  (its session settings stay with the connection). If ``cls`` or a class
  between it and the stock backend overrides it, it runs at every checkout
  instead, as without a pool: it may set state on the wrapper.
"""

from __future__ import annotations

import functools
from importlib import import_module
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper

from .creation import PooledCreationMixin
from .wrapper import PooledDatabaseWrapperMixin

__all__ = ["NotPoolable", "TWIN_MODULES", "pooled_wrapper", "supported_base"]

#: Stock DatabaseWrapper (``module.qualname``) -> the module of its pooled twin.
TWIN_MODULES = {
    "django.contrib.gis.db.backends.postgis.base.DatabaseWrapper": (
        "django_pool.backends.postgis.base"
    ),
    "django.contrib.gis.db.backends.spatialite.base.DatabaseWrapper": (
        "django_pool.backends.spatialite.base"
    ),
    "django.contrib.gis.db.backends.mysql.base.DatabaseWrapper": (
        "django_pool.backends.mysqlgis.base"
    ),
    "django.db.backends.postgresql.base.DatabaseWrapper": "django_pool.backends.postgresql.base",
    "django.db.backends.mysql.base.DatabaseWrapper": "django_pool.backends.mysql.base",
    "django.db.backends.sqlite3.base.DatabaseWrapper": "django_pool.backends.sqlite3.base",
}

#: Where built classes live: ``django_pool.backends.pooled.<the original module>``.
NAMESPACE = "django_pool.backends.pooled"


class NotPoolable(ImproperlyConfigured):
    """The wrapper class does not derive from a backend django-pool supports."""


def supported_base(wrapper: Any) -> Any:
    """Return the stock backend class *wrapper* derives from (nearest first), or None."""
    for klass in wrapper.__mro__:
        if f"{klass.__module__}.{klass.__qualname__}" in TWIN_MODULES:
            return klass
    return None


@functools.cache
def pooled_wrapper(wrapper: Any) -> Any:
    """Return a pooled subclass of the DatabaseWrapper class *wrapper*.

    *wrapper* itself if it is pooled already; the named twin if it is a stock
    backend. Raise :class:`NotPoolable` if it derives from no supported backend.
    """
    if not (isinstance(wrapper, type) and issubclass(wrapper, BaseDatabaseWrapper)):
        raise TypeError(
            f"pooled_wrapper() takes a DatabaseWrapper class, not {wrapper!r}. For an ENGINE "
            "path, pass load_backend(ENGINE).DatabaseWrapper, or use the ENGINE "
            "'django_pool.backends.pooled.<ENGINE>'."
        )
    if issubclass(wrapper, PooledDatabaseWrapperMixin):
        return wrapper
    stock = supported_base(wrapper)
    if stock is None:
        raise NotPoolable(
            f"{wrapper.__module__}.{wrapper.__qualname__} does not derive from a backend "
            "django-pool supports (PostgreSQL, MySQL/MariaDB, SQLite, PostGIS, SpatiaLite, "
            "MySQL GIS): write its pooled backend with PooledDatabaseWrapperMixin and a "
            "Driver (docs/migration.md, 'Your own backend')."
        )
    twin = import_module(TWIN_MODULES[f"{stock.__module__}.{stock.__qualname__}"]).DatabaseWrapper
    if wrapper is stock:
        return twin
    module = f"{NAMESPACE}.{wrapper.__module__}"
    namespace: dict[str, Any] = {
        "__module__": module,
        "__qualname__": wrapper.__qualname__,
        "__doc__": f"{wrapper.__module__}.{wrapper.__qualname__}, with connections from a pool.",
    }
    creation = wrapper.creation_class
    if creation is not stock.creation_class and not issubclass(creation, PooledCreationMixin):
        namespace["creation_class"] = type(
            creation.__name__, (PooledCreationMixin, creation), {"__module__": module}
        )
    own = wrapper.__mro__[: wrapper.__mro__.index(stock)]
    if any("init_connection_state" in vars(klass) for klass in own):

        def init_connection_state(self: Any) -> None:
            # The backend's own, at every checkout: skip the mixin's once-only rule.
            wrapper.init_connection_state(self)

        namespace["init_connection_state"] = init_connection_state
    try:
        return type(wrapper.__name__, (twin, wrapper), namespace)
    except TypeError as err:  # an MRO that cannot be linearized
        raise NotPoolable(
            f"{wrapper.__module__}.{wrapper.__qualname__} cannot be combined with "
            f"{twin.__module__}.DatabaseWrapper: {err}"
        ) from err
