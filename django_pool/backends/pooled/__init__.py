"""ENGINE ``django_pool.backends.pooled.<ENGINE>``: a backend derived from a supported one, pooled.

``"ENGINE": "django_pool.backends.pooled.django_tenants.postgresql_backend"``
is django-tenants' backend with connections from a pool; so is any ENGINE
whose ``DatabaseWrapper`` derives from Django's PostgreSQL, MySQL or SQLite
backend or GeoDjango's PostGIS, SpatiaLite or MySQL GIS one (a project's own
subclass, django-prometheus's backends, ...). Activation (``"django_pool"``
in INSTALLED_APPS) writes these ENGINEs itself.

How: Django imports ``<ENGINE>.base`` and reads its ``DatabaseWrapper``. An
import hook (a meta-path finder, installed when this package is imported,
so Python's own import of the ENGINE installs it first) serves every module
``django_pool.backends.pooled.<name>`` as a mirror of module ``<name>``: a
package (so deeper names import), whose attributes are the original
module's, except ``DatabaseWrapper``, which is
:func:`django_pool.derive.pooled_wrapper` of the original's. The original is
imported when Django imports the mirror, not earlier: backends may import
models (django-tenants does), which only works once apps are loaded. The
ENGINE string alone says what to build, so it works in any process (test
runner workers, Celery, a shell) and by hand, without activation.

Why not rewrite the class in place or patch Django: the ENGINE string stays
the one source of truth, the original module is untouched (other aliases may
use it unpooled, with ``"POOL": False``), and nothing global changes.

An ENGINE that derives from no supported backend fails to import with
:class:`~django_pool.derive.NotPoolable`, except where activation chose it
(activation then serves the original class unpooled, puts the ENGINE back,
and the system check ``django_pool.W004`` says so).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from importlib import import_module
from types import ModuleType
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper

__all__ = ["engine", "original_engine", "why_unpooled"]

_PREFIX = __name__ + "."

# Mirror ENGINEs activation wrote: served unpooled if the backend cannot be pooled.
_lenient: set[str] = set()
_lenient_lock = threading.Lock()
# Why each of those was served unpooled (mirror ENGINE -> NotPoolable's text).
_unpooled_because: dict[str, str] = {}


def engine(original: str) -> str:
    """Return the pooled ENGINE for the ENGINE *original*."""
    return _PREFIX + original


def original_engine(pooled: str) -> str | None:
    """Return the ENGINE a ``django_pool.backends.pooled.*`` ENGINE mirrors, or None."""
    return pooled[len(_PREFIX) :] if pooled.startswith(_PREFIX) else None


def why_unpooled(pooled: str) -> str | None:
    """Return why the mirror ENGINE *pooled* was served unpooled (activation), or None."""
    return _unpooled_because.get(pooled)


def allow_unpooled(pooled: str) -> None:
    """Serve *pooled*'s original backend unpooled if it cannot be pooled (activation)."""
    with _lenient_lock:
        _lenient.add(pooled)


class _MirrorLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        from django_pool.derive import NotPoolable, pooled_wrapper

        name = original_engine(module.__name__)
        assert name is not None  # the finder serves only names under the prefix
        try:
            original: Any = import_module(name)
        except ImportError as err:
            raise _not_importable(module.__name__, err) from err
        module.__doc__ = f"{name}, with connections from a pool (django_pool.backends.pooled)."

        def __getattr__(attribute: str) -> Any:  # noqa: N807 - PEP 562
            return getattr(original, attribute)

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        wrapper: Any = getattr(original, "DatabaseWrapper", None)
        if not (isinstance(wrapper, type) and issubclass(wrapper, BaseDatabaseWrapper)):
            return  # a package on the way to <ENGINE>.base
        try:
            module.DatabaseWrapper = pooled_wrapper(wrapper)  # type: ignore[attr-defined, arg-type]
        except NotPoolable as err:
            package = module.__name__.rpartition(".")[0]
            if package not in _lenient:
                where = _named_in_settings(_aliases_using(package)) or f"ENGINE {package!r}"
                raise NotPoolable(f"{where}: {err}") from None
            _unpooled_because[package] = str(err)
            module.DatabaseWrapper = wrapper  # type: ignore[attr-defined]


def _aliases_using(mirror: str) -> list[tuple[str, str]]:
    # (alias, ENGINE) of the databases whose ENGINE is *mirror* or under it.
    try:
        from django.conf import settings

        return [
            (alias, str(settings_dict.get("ENGINE")))
            for alias, settings_dict in settings.DATABASES.items()
            if f"{settings_dict.get('ENGINE')}.".startswith(f"{mirror}.")
        ]
    except ImproperlyConfigured:  # no settings: django_pool used without Django's setup
        return []


def _named_in_settings(named: Sequence[tuple[str, str | None]]) -> str:
    # "settings.DATABASES['a']['ENGINE'] is 'x'" for each (alias, ENGINE).
    return " and ".join(
        f"settings.DATABASES[{alias!r}]['ENGINE'] is {engine!r}" for alias, engine in named
    )


def _not_importable(mirror: str, err: ImportError) -> ImproperlyConfigured:
    # Django's own error would name the mirror ENGINE, a name the user never
    # wrote when activation chose it: name the ENGINE of the settings instead.
    named = _aliases_using(mirror)
    where = _named_in_settings([(alias, original_engine(pooled)) for alias, pooled in named])
    return ImproperlyConfigured(
        f"{where or 'The ENGINE ' + repr(original_engine(mirror))}, which cannot be imported "
        f"({type(err).__name__}: {err}). django_pool pools it through "
        f"{named[0][1] if named else mirror!r}; check the ENGINE's spelling and that its "
        "package is installed."
    )


class _MirrorFinder(importlib.abc.MetaPathFinder):
    """Find ``django_pool.backends.pooled.<name>`` for any ``<name>``."""

    _loader = _MirrorLoader()

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_PREFIX):
            return None
        spec = importlib.machinery.ModuleSpec(fullname, self._loader, is_package=True)
        return spec


if not any(isinstance(finder, _MirrorFinder) for finder in sys.meta_path):
    sys.meta_path.append(_MirrorFinder())
