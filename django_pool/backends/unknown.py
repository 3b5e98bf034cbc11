"""An ENGINE under ``django_pool`` that names no module: one line naming the alias, with a guess.

Django's own error for ``"ENGINE": "django_pool.backends.postgres"`` names no
database and lists Django's backends, not these. A meta-path finder, last on
``sys.meta_path`` (so consulted only once every other finder found nothing),
answers for a missing ``django_pool.*`` module that a ``DATABASES`` ENGINE
names, and for nothing else: any other missing module stays a
``ModuleNotFoundError``.
"""

from __future__ import annotations

import difflib
import importlib.abc
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..activation import TWINS
from .pooled import _aliases_using, _named_in_settings

__all__ = ["ENGINES"]

#: The ENGINEs django-pool has (its twins), beside ``django_pool.backends.pooled.<ENGINE>``.
ENGINES = tuple(dict.fromkeys(TWINS.values()))


class _UnknownEngineFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        # Never the cause of a settings import: a module looked up before
        # Django is set up (or whose settings fail) is just missing.
        if not fullname.startswith("django_pool.") or not settings.configured:
            return None
        try:
            named = _aliases_using(fullname)
        except Exception:  # noqa: BLE001 - broken settings: Django says so elsewhere
            return None
        if not named:
            return None
        close = difflib.get_close_matches(named[0][1], ENGINES, n=1)
        guess = f" Did you mean {close[0]!r}?" if close else ""
        raise ImproperlyConfigured(
            f"{_named_in_settings(named)}, which django-pool does not have.{guess} Its ENGINEs "
            f"are {', '.join(ENGINES)}, and django_pool.backends.pooled.<ENGINE> for a "
            "backend derived from one of Django's."
        )


if not any(isinstance(finder, _UnknownEngineFinder) for finder in sys.meta_path):
    sys.meta_path.append(_UnknownEngineFinder())
