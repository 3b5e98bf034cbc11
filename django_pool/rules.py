"""The rules on settings django-pool refuses, stated once for the wrapper and the system checks.

The wrapper raises ``ImproperlyConfigured`` at a connection's first use
(``check_settings``); ``manage.py check`` reports the same problems, in the
same words, as ``django_pool.E001`` and ``E002``. Which databases are pooled
is decided by class, so a backend of one's own built on
:class:`~django_pool.wrapper.PooledDatabaseWrapperMixin` gets the checks and
``pool_status`` too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "SettingsProblem",
    "is_pooled_engine",
    "pooled_aliases",
    "raise_settings_problem",
    "settings_problems",
]


@dataclass(frozen=True)
class SettingsProblem:
    """One refused setting: its check id, what is wrong, and what to do."""

    id: str
    """The system check id, ``django_pool.E001`` or ``django_pool.E002``."""
    message: str
    """What is wrong, naming the alias and the setting."""
    hint: str
    """What to do about it."""

    def __str__(self) -> str:
        return f"{self.message} {self.hint}"


def settings_problems(alias: str, *, conn_max_age: Any, native_pool: bool) -> list[SettingsProblem]:
    """Return what django-pool refuses in these settings of *alias*, in check-id order.

    *conn_max_age* is the database's ``CONN_MAX_AGE``: it must be 0, since the
    pool decides how long connections live. *native_pool* is whether
    ``OPTIONS["pool"]`` turns on Django's own pool, which cannot run with this one.
    """
    where = f"settings.DATABASES[{alias!r}]"
    problems = []
    if conn_max_age != 0:
        problems.append(
            SettingsProblem(
                "django_pool.E001",
                f"{where}['CONN_MAX_AGE'] is {conn_max_age!r}, but with django-pool the pool "
                "decides how long connections live.",
                f"Set it to 0 (and use {where}['POOL']['recycle'] to bound a connection's age).",
            )
        )
    if native_pool:
        problems.append(
            SettingsProblem(
                "django_pool.E002",
                f"{where}['OPTIONS']['pool'] is Django's own connection pool (PostgreSQL "
                "on psycopg 3; no other driver reads it), which cannot run together with "
                "django-pool.",
                f"Remove it and put the pool options in {where}['POOL'].",
            )
        )
    return problems


def problems_in(alias: str, settings_dict: Mapping[str, Any]) -> list[SettingsProblem]:
    """Return :func:`settings_problems` for a ``DATABASES`` entry (none if ``"POOL": False``)."""
    if settings_dict.get("POOL") is False:
        return []  # not pooled: Django's rules only
    options = settings_dict.get("OPTIONS") or {}
    return settings_problems(
        alias,
        conn_max_age=settings_dict.get("CONN_MAX_AGE", 0),
        native_pool=bool(options.get("pool")),
    )


def raise_settings_problem(alias: str, *, conn_max_age: Any, native_pool: bool) -> None:
    """Raise ``ImproperlyConfigured`` for the first of :func:`settings_problems`, if any."""
    for problem in settings_problems(alias, conn_max_age=conn_max_age, native_pool=native_pool):
        raise ImproperlyConfigured(str(problem))


def is_pooled_engine(engine: object) -> bool:
    """Return whether the backend *engine* names is pooled by django-pool.

    That is: its ``DatabaseWrapper`` is a subclass of
    :class:`~django_pool.wrapper.PooledDatabaseWrapperMixin`. An ENGINE that
    cannot be loaded is not (Django reports it).
    """
    from django.db.utils import load_backend

    from .wrapper import PooledDatabaseWrapperMixin

    if not isinstance(engine, str) or not engine:
        return False
    try:
        wrapper = load_backend(engine).DatabaseWrapper
    except (ImproperlyConfigured, ImportError, AttributeError):
        return False
    return isinstance(wrapper, type) and issubclass(wrapper, PooledDatabaseWrapperMixin)


def pooled_aliases(
    databases: Mapping[str, Mapping[str, Any]], only: Iterable[str] | None = None
) -> list[str]:
    """Return the aliases of *databases* whose ENGINE is pooled (of *only*, if given)."""
    wanted = None if only is None else set(only)
    return [
        alias
        for alias, settings_dict in databases.items()
        if (wanted is None or alias in wanted) and is_pooled_engine(settings_dict.get("ENGINE"))
    ]
