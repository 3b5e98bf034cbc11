"""Parse and validate one database's ``POOL`` setting.

Everything a user can write about a pool is read here, and only here: the
defaults table, case-insensitive keys, type and range checks, and messages
that name the alias and the key, the way Django's own backends word
``ImproperlyConfigured``.
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, TypeAlias

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from sqlalchemy import pool as sa_pool

__all__ = [
    "GLOBAL_SETTINGS",
    "PGBOUNCER_MODES",
    "POOL_CLASSES",
    "RELEASE_POINTS",
    "PoolOptions",
    "ReleasePoint",
    "ResetOnReturn",
    "SessionReset",
    "ignored_keys",
    "parse_options",
    "setting_of",
    "without_refused_options",
]

ReleasePoint: TypeAlias = Literal["request", "transaction"]
"""``POOL['release']``: when a Django connection goes back to its pool."""
ResetOnReturn: TypeAlias = Literal["rollback", "commit"] | None
"""``POOL['reset_on_return']``: what to do with a transaction left open."""
SessionReset: TypeAlias = bool | Callable[[Any], bool] | None
"""``POOL['reset_session']``: off, the vendor's reset, a hook taking the driver connection,
or ``None``: off, but the vendor's reset on a test database."""

GLOBAL_SETTINGS = (
    "DATABASE_POOL_ARGS",
    "DATABASE_POOL_CLASS",
    "DJORM_POOL_OPTIONS",
    "DJORM_POOL_PESSIMISTIC",
    "DATABASE_WAIT_TIMEOUT",
)
"""Global settings (of the packages django-pool replaces) that shape a pool."""

POOL_CLASSES: dict[str, type[sa_pool.Pool]] = {
    "queue": sa_pool.QueuePool,
    "lifo": sa_pool.QueuePool,
    "null": sa_pool.NullPool,
    "static": sa_pool.StaticPool,
    "singleton_thread": sa_pool.SingletonThreadPool,
    "assertion": sa_pool.AssertionPool,
}
"""Short names for SQLAlchemy's pool classes, as ``POOL['pool_class']`` accepts them."""

# The short name of each class ("queue" for QueuePool, not "lifo").
_SHORT_NAMES: dict[type[sa_pool.Pool], str] = {}
for _name, _class in POOL_CLASSES.items():
    _SHORT_NAMES.setdefault(_class, _name)

# Which options each strategy honours; a user who sets one the chosen class
# ignores gets an error, not silence (the peers' worst habit).
_SIZED = {"pool_size", "max_overflow", "timeout"}
# ``timeout`` also bounds the retries of a failed connect (retry.py), with
# every pool class.
_HONOURED: dict[type[sa_pool.Pool], set[str]] = {
    sa_pool.QueuePool: _SIZED,
    sa_pool.SingletonThreadPool: {"pool_size", "timeout"},
}


def _honoured(pool_cls: type[sa_pool.Pool]) -> set[str]:
    # The sized options *pool_cls* (or the class it derives from) takes.
    return next(
        (keys for klass, keys in _HONOURED.items() if issubclass(pool_cls, klass)), {"timeout"}
    )


RELEASE_POINTS: tuple[ReleasePoint, ...] = ("request", "transaction")
"""When a connection may go back to the pool, as ``POOL['release']`` accepts it."""

PGBOUNCER_MODES = ("session", "transaction", "statement")
"""PgBouncer's ``pool_mode`` values, as ``POOL['pgbouncer']`` accepts them."""


# slots: fields read at every checkout are read through a slot; a class-level
# default shadowed by an instance attribute is not specialized on Python 3.12.
@dataclass(frozen=True, slots=True)
class PoolOptions:
    """The validated pool options of one database alias.

    Build it with :meth:`from_settings`; every field has the default below.
    """

    pool_class: str = "queue"
    """Pool strategy: a name of :data:`POOL_CLASSES` or a dotted path to a
    ``sqlalchemy.pool.Pool`` subclass. ``"lifo"`` is a QueuePool that hands
    out the most recently returned connection first, so idle ones can age out.
    """
    pool_size: int = 5
    """Connections kept open in the pool (QueuePool, SingletonThreadPool)."""
    max_overflow: int = 10
    """Extra connections allowed above ``pool_size`` under load, closed when
    returned. The server sees at most ``pool_size + max_overflow`` per process.
    """
    timeout: float = 30.0
    """Seconds to wait for a free connection before raising ``PoolTimeout``
    (QueuePool), and to keep trying to open one the server refuses."""
    recycle: float | None = 3600.0
    """Seconds after which a connection is replaced at checkout; ``None`` never.
    Keep it below the server's idle limit (MySQL ``wait_timeout``).
    """
    pre_ping: bool | None = None
    """Test each reused connection with a round trip at checkout and replace
    it if dead. ``None`` follows the database's ``CONN_HEALTH_CHECKS``.
    """
    pre_ping_idle: float = 0.5
    """Seconds a connection must have been idle before pre-ping tests it: one
    returned a moment ago is alive, and a busy pool pays no round trip
    (HikariCP skips validation within 500 ms). 0 tests every checkout.
    """
    recycle_jitter: float = 0.1
    """Fraction of ``recycle`` taken off at random per connection, so that
    connections opened together are not all replaced at once.
    """
    reset_on_return: ResetOnReturn = "rollback"
    """What to do with a transaction still open when a connection comes back:
    ``"rollback"``, ``"commit"`` (dangerous: commits half-done work) or
    ``None`` (close such a connection instead of pooling it).
    """
    reset_session: SessionReset = None
    """Undo session state (``SET ROLE``, ``search_path``, temporary tables,
    advisory locks, session variables) when a connection comes back:
    ``True`` for the vendor's reset (PostgreSQL ``DISCARD ALL``, MySQL
    ``COM_CHANGE_USER`` on mysqlclient), a callable taking the driver
    connection, or its dotted path. Costs a round trip per request.
    ``None`` (the default): off, except on a test database, where each
    ``TransactionTestCase`` test must start with a clean session; ``False``:
    off there too.
    """
    leak_threshold: float | None = None
    """Seconds after which a connection still lent out is reported: a WARNING
    with the stack that checked it out, and ``PoolTimeout`` lists who holds
    connections. ``None`` (off) costs nothing; on, each checkout records
    its stack.
    """
    release: ReleasePoint = "request"
    """When a Django connection goes back to the pool: ``"request"`` when the
    request ends (Django's lifecycle), or ``"transaction"`` as soon as it
    is idle: after each statement in autocommit mode, and at the end of
    the outermost ``atomic()``. Session state set outside ``atomic()``
    does not survive to the next statement. PostgreSQL and MySQL only.
    """
    pgbouncer: str | None = None
    """PgBouncer's ``pool_mode`` when the connections go through PgBouncer:
    ``"session"``, ``"transaction"`` or ``"statement"``; ``None``: no
    PgBouncer, or not said. Changes nothing at run time: ``manage.py check``
    uses it to report what cannot work behind that mode (docs/deployment.md).
    """

    @classmethod
    def from_settings(cls, alias: str, settings_dict: Mapping[str, Any]) -> PoolOptions:
        """Return the options of ``settings.DATABASES[alias]``, validated.

        Sources, strongest first: the alias's ``POOL``, its ``POOL_OPTIONS``
        (django-db-connection-pool), then the global settings of the packages
        django-pool replaces (``DATABASE_POOL_ARGS`` and ``DATABASE_POOL_CLASS``,
        ``DJORM_POOL_OPTIONS`` and ``DJORM_POOL_PESSIMISTIC``,
        ``DATABASE_WAIT_TIMEOUT``), then the defaults. Raise
        ``ImproperlyConfigured`` naming the setting and the key for an unknown
        key, a wrong type or an impossible value.
        """
        _refuse_misspelled_pool_key(alias, settings_dict)
        _refuse_pool_keys_in_options(alias, settings_dict)
        try:
            given, origin = _given(alias, settings_dict)
            return cls.from_parsed(
                given, origin, default_origin=f"settings.DATABASES[{alias!r}]['POOL']"
            )
        except ImproperlyConfigured as err:
            if _is_global(str(err)):  # a project-wide setting's: which database read it
                raise ImproperlyConfigured(f"Database {alias!r}: {err}") from None
            raise

    @classmethod
    def from_parsed(
        cls, given: dict[str, Any], origin: Mapping[str, str], *, default_origin: str
    ) -> PoolOptions:
        """Return options from :func:`parse_options` output, checked against their class.

        *origin* names the setting each key came from (*default_origin* for a
        key not given). Raise ``ImproperlyConfigured`` for a ``pool_class``
        that names no Pool subclass, and for a size the class ignores.
        """
        options = cls(**given)
        pool_cls = options.sqlalchemy_class(origin.get("pool_class", default_origin))
        honoured = _honoured(pool_cls)
        ignored = sorted(set(given) & (_SIZED - honoured))
        # A global setting (DATABASE_POOL_ARGS, DJORM_POOL_OPTIONS) is for
        # every alias: one alias's own pool_class without sizes leaves them out.
        own_class = not _is_global(origin.get("pool_class", default_origin))
        unused = [name for name in ignored if own_class and _is_global(origin[name])]
        if unused:
            given = {name: value for name, value in given.items() if name not in unused}
            options = cls(**given)
            ignored = [name for name in ignored if name not in unused]
        if ignored:
            raise ImproperlyConfigured(
                f"{origin[ignored[0]]}[{ignored[0]!r}] has no effect with pool_class "
                f"{options.pool_class!r}. Remove it, or use pool_class 'queue'."
            )
        return options

    def sqlalchemy_class(self, where: str = "POOL") -> type[sa_pool.Pool]:
        """Return the SQLAlchemy pool class that ``pool_class`` names."""
        if self.pool_class in POOL_CLASSES:
            return POOL_CLASSES[self.pool_class]
        setting = _setting(where, "pool_class")
        try:
            klass = import_string(self.pool_class)
        except (ImportError, ValueError, TypeError) as err:  # ".", "..x": no module path
            raise ImproperlyConfigured(
                f"{setting} is improperly configured to "
                f"{self.pool_class!r}: {err}. Use one of "
                f"{', '.join(map(repr, POOL_CLASSES))}, or a dotted path."
            ) from None
        if not (isinstance(klass, type) and issubclass(klass, sa_pool.Pool)):
            raise ImproperlyConfigured(
                f"{setting} is improperly configured to "
                f"{self.pool_class!r}, which is not a sqlalchemy.pool.Pool subclass."
            )
        if issubclass(klass, sa_pool.AsyncAdaptedQueuePool):
            raise ImproperlyConfigured(
                f"{setting} is improperly configured to {self.pool_class!r}, an asyncio "
                "pool: Django's database connections are synchronous (async views run "
                "them in threads). Use 'queue'."
            )
        return klass

    def sizes(self) -> tuple[str, ...]:
        """Return the size options its pool class uses (``pool_size``, ``max_overflow``)."""
        honoured = _honoured(self.sqlalchemy_class())
        return tuple(name for name in ("pool_size", "max_overflow") if name in honoured)

    def bound(self) -> int | None:
        """Return the most connections one process's pool keeps open at once; None: no bound.

        ``pool_size + max_overflow`` for a QueuePool; 1 for ``static`` and
        ``assertion``; ``pool_size`` for ``singleton_thread`` (SQLAlchemy closes
        other threads' connections, even in use, to stay there); None for
        ``null`` (a connection per checkout) and other Pool subclasses.
        """
        pool_cls = self.sqlalchemy_class()
        if issubclass(pool_cls, sa_pool.QueuePool):
            return self.pool_size + self.max_overflow
        if issubclass(pool_cls, (sa_pool.StaticPool, sa_pool.AssertionPool)):
            return 1
        if issubclass(pool_cls, sa_pool.SingletonThreadPool):
            return self.pool_size
        return None

    def sqlalchemy_pool_arguments(self) -> tuple[type[sa_pool.Pool], dict[str, Any]]:
        """Return the pool class and the keyword arguments it takes from these options."""
        pool_cls = self.sqlalchemy_class()
        # Recycling is done by the pool module (with jitter, at checkout and
        # at return), not by SQLAlchemy.
        kwargs: dict[str, Any] = {"recycle": -1}
        if issubclass(pool_cls, sa_pool.QueuePool):
            kwargs.update(
                pool_size=self.pool_size,
                max_overflow=self.max_overflow,
                timeout=self.timeout,
                use_lifo=self.pool_class == "lifo",
            )
        elif issubclass(pool_cls, sa_pool.SingletonThreadPool):
            kwargs["pool_size"] = self.pool_size
        return pool_cls, kwargs


_KEYS = tuple(f.name for f in fields(PoolOptions))
# POOL keys no driver takes as a connection parameter: put in OPTIONS (which
# Django hands to the driver) they can only be misplaced. ("timeout" is
# sqlite3's too.)
_POOL_ONLY = frozenset(_KEYS) - {"timeout"}


# The keys of a DATABASES entry Django reads, and django-pool's own.
_DATABASE_KEYS = frozenset(
    {
        "ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS", "TEST",
        "ATOMIC_REQUESTS", "AUTOCOMMIT", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "TIME_ZONE",
        "DISABLE_SERVER_SIDE_CURSORS", "POOL", "POOL_OPTIONS",
    }
)  # fmt: skip


def _refuse_misspelled_pool_key(alias: str, settings_dict: Mapping[str, Any]) -> None:
    # Django ignores a key it does not know: "pool" (lower case), "POOLS",
    # "POOL_OPTION" or a pool option at the top ("POOL_SIZE") would leave the
    # defaults in force without a word.
    for key in settings_dict:
        if not isinstance(key, str) or key in _DATABASE_KEYS or not key.upper().startswith("POOL"):
            continue
        meant = difflib.get_close_matches(key.upper(), ["POOL", "POOL_OPTIONS"], n=1, cutoff=0.8)
        raise ImproperlyConfigured(
            f"settings.DATABASES[{alias!r}] has the key {key!r}, which nothing reads: "
            + (
                f"did you mean {meant[0]!r}?"
                if meant
                else f"pool options go inside settings.DATABASES[{alias!r}]['POOL']."
            )
            + " (Django ignores keys it does not know, so this would do nothing.)"
        )


def _refuse_pool_keys_in_options(alias: str, settings_dict: Mapping[str, Any]) -> None:
    options = settings_dict.get("OPTIONS")
    if not isinstance(options, Mapping):
        return
    misplaced = sorted(key for key in options if _of_the_pool(key))
    if misplaced:
        keys = ", ".join(repr(key) for key in misplaced)
        raise ImproperlyConfigured(
            f"settings.DATABASES[{alias!r}]['OPTIONS'] has {keys}, of the pool: "
            "OPTIONS go to the database driver, which does not know it. Move it up to "
            f"settings.DATABASES[{alias!r}]['POOL'] (a database URL's query string "
            "becomes OPTIONS: set POOL beside the parsed URL)."
        )


def _of_the_pool(key: object) -> bool:
    # A pool option (any case, as POOL takes them; SQLite's own "timeout"
    # aside), or POOL or POOL_OPTIONS themselves, one level too deep. The
    # lower-case "pool" is Django's own pool (E002).
    if not isinstance(key, str):
        return False
    return key.lower() in _POOL_ONLY or (key != "pool" and key.upper() in _NESTED_POOL)


_NESTED_POOL = frozenset({"POOL", "POOL_OPTIONS"})


def without_refused_options(settings_dict: dict[str, Any]) -> dict[str, Any]:
    """Return *settings_dict* without the ``OPTIONS`` keys django-pool refuses.

    Those are Django's own ``"pool"`` (E002) and the pool's options put in
    ``OPTIONS`` (E003): no driver takes them (mysqlclient raises
    ``TypeError``), and with psycopg 3 ``"pool"`` would open Django's own
    pool. *settings_dict* itself when it has none.
    """
    options = settings_dict.get("OPTIONS")
    if not isinstance(options, Mapping):
        return settings_dict
    kept = {key: value for key, value in options.items() if key != "pool" and not _of_the_pool(key)}
    if len(kept) == len(options):
        return settings_dict
    return {**settings_dict, "OPTIONS": kept}


# Keys the replaced packages accepted (SQLAlchemy pool arguments) that mean
# nothing here: a warning, not silence and not an error, so that settings
# carried over still load.
_MEANINGLESS = {
    "echo": "use the django_pool logger (DEBUG) instead",
    "echo_pool": "use the django_pool logger (DEBUG) instead",
    "logging_name": "every django_pool log line names the alias",
    "use_threadlocal": "SQLAlchemy 2 removed it; each Django thread has its own connection",
}


def ignored_keys(alias: str, settings_dict: Mapping[str, Any]) -> list[str]:
    """Return a message for each key of *alias*'s pool settings that means nothing here.

    Those are the SQLAlchemy arguments the replaced packages took (``echo``,
    ``logging_name``...): loaded with a warning, and reported by the system
    check ``django_pool.W015``.
    """
    found = []
    for where, raw in _sources(alias, settings_dict):
        if isinstance(raw, Mapping):
            found += [_ignored(where, key) for key in raw if str(key).lower() in _MEANINGLESS]
    return found


def _ignored(where: str, key: object) -> str:
    # What W015 and the load's warning say of a key in _MEANINGLESS.
    return f"{where}[{key!r}] is ignored by django-pool: {_MEANINGLESS[str(key).lower()]}."


def _is_global(where: str) -> bool:
    # A project-wide setting (settings.DATABASE_POOL_ARGS), not one alias's.
    return where.startswith("settings.") and not where.startswith("settings.DATABASES[")


def _sources(alias: str, settings_dict: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Return (setting name, raw options) pairs, weakest first."""
    sources: list[tuple[str, Any]] = []
    from django.conf import settings

    if settings.configured:
        wait_timeout = getattr(settings, "DATABASE_WAIT_TIMEOUT", None)
        if wait_timeout is not None:
            # The MySQL recipe: recycle connections before the server drops them.
            where = "settings.DATABASE_WAIT_TIMEOUT"
            seconds = _seconds(where, wait_timeout)
            sources.append((where, {"recycle": seconds * 0.9}))
        djorm = getattr(settings, "DJORM_POOL_OPTIONS", None)
        if djorm is not None:
            sources.append(("settings.DJORM_POOL_OPTIONS", djorm))
        if getattr(settings, "DJORM_POOL_PESSIMISTIC", None) is not None:
            where = "settings.DJORM_POOL_PESSIMISTIC"
            sources.append((where, {"pre_ping": _flag(where, settings.DJORM_POOL_PESSIMISTIC)}))
        pool_args = getattr(settings, "DATABASE_POOL_ARGS", None)
        if pool_args is not None:
            sources.append(("settings.DATABASE_POOL_ARGS", pool_args))
        pool_class = getattr(settings, "DATABASE_POOL_CLASS", None)
        if pool_class is not None:
            sources.append(
                ("settings.DATABASE_POOL_CLASS", {"pool_class": pool_class})
            )  # _SINGLE_VALUED
    if settings_dict.get("POOL_OPTIONS") is not None:
        sources.append(
            (f"settings.DATABASES[{alias!r}]['POOL_OPTIONS']", settings_dict["POOL_OPTIONS"])
        )
    pool = settings_dict.get("POOL")
    if pool is not None and pool is not False:  # False: not pooled (activation.py)
        sources.append((f"settings.DATABASES[{alias!r}]['POOL']", pool))
    return sources


def _given(alias: str, settings_dict: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    # Every source's options, parsed, the stronger winning; and the setting
    # each one came from.
    given: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for where, raw in _sources(alias, settings_dict):
        for name, value in parse_options(where, raw).items():
            given[name] = value  # later (stronger) sources win
            origin[name] = where
    return given, origin


def setting_of(alias: str, settings_dict: Mapping[str, Any], key: str) -> str:
    """Return how a message names the setting that gave option *key* its value.

    The strongest source that has the key, as :meth:`PoolOptions.from_settings`
    reads them; the alias's ``POOL`` if none does (the default). The settings
    are valid: the pool was built from them.
    """
    _, origin = _given(alias, settings_dict)
    return _setting(origin.get(key, f"settings.DATABASES[{alias!r}]['POOL']"), key)


# The warnings given, per version of the settings: the system checks and the
# first connection read the same settings, and one warning says it.
_warned: set[tuple[int, str]] = set()


def _warn_once(message: str) -> None:
    from . import registry  # (registry imports this module)

    seen = (registry.settings_version, message)
    if seen not in _warned:
        _warned.add(seen)
        warnings.warn(message, stacklevel=5)


def parse_options(where: str, raw: Any) -> dict[str, Any]:
    """Validate one source's options; return them under their canonical names."""
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(
            f"{where} must be a dict of pool options, not {type(raw).__name__}."
        )
    parsed: dict[str, Any] = {}
    spelled: dict[str, object] = {}  # canonical name -> the key that gave it
    # Every key's problem, in one error: fixing them one run at a time is slow.
    problems: list[str] = []
    lifo_key = None  # use_lifo: True, applied once every key is read (any order)
    for key, value in raw.items():
        try:
            if str(key).lower() == "use_lifo" and _flag(f"{where}[{key!r}]", value):
                lifo_key = key
            _parse_one(where, key, value, parsed, spelled)
        except ImproperlyConfigured as err:
            problems.append(str(err))
    if lifo_key is not None and not problems:
        if parsed.get("pool_class", "queue") not in ("queue", "lifo"):
            problems.append(
                f"{where}[{lifo_key!r}] is True, which django-pool applies to pool_class "
                f"'queue' only (it is then 'lifo'), and pool_class is "
                f"{parsed['pool_class']!r}. Remove one of them (a QueuePool subclass of "
                "your own sets use_lifo itself)."
            )
        parsed["pool_class"] = "lifo"
    if problems:
        raise ImproperlyConfigured(" Also: ".join(problems))
    return parsed


def _parse_one(
    where: str, key: object, value: Any, parsed: dict[str, Any], spelled: dict[str, object]
) -> None:
    # Validate one option into *parsed*.
    lowered = str(key).lower()
    lowered = _SQLALCHEMY_SPELLINGS.get(lowered, lowered)
    if lowered in spelled:  # keys are case-insensitive: which would win?
        raise ImproperlyConfigured(
            f"{where} has both {spelled[lowered]!r} and {key!r}, which name the same "
            "option. Keep one."
        )
    spelled[lowered] = key
    if lowered in _MEANINGLESS:
        _warn_once(_ignored(where, key))
        return
    if lowered == "use_lifo":  # SQLAlchemy's spelling of pool_class 'lifo': parse_options
        return
    name = _canonical_key(where, key)
    parsed[name] = _VALIDATORS[name](_setting(where, key), value)


# SQLAlchemy's keyword for an option, as create_engine() and the
# sqlalchemy.pool.manage() recipe take it.
_SQLALCHEMY_SPELLINGS = {"poolclass": "pool_class"}


# Settings that hold one option's value rather than a dict of them.
_SINGLE_VALUED = {"settings.DATABASE_POOL_CLASS": "pool_class"}


def _setting(where: str, key: object) -> str:
    # How a message names option *key* of the setting *where*.
    return where if _SINGLE_VALUED.get(where) == key else f"{where}[{key!r}]"


def _canonical_key(where: str, key: object) -> str:
    name = str(key).lower()
    name = _SQLALCHEMY_SPELLINGS.get(name, name)
    if name in _KEYS:
        return name
    close = difflib.get_close_matches(name, _KEYS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ImproperlyConfigured(
        f"{where} has an unknown option {key!r}.{hint} Valid options are: {', '.join(_KEYS)}."
    )


def _whole(minimum: int, *, unlimited: int | None = None):
    # *unlimited*: the value SQLAlchemy reads as "no limit", refused with a word.
    def check(where: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ImproperlyConfigured(f"{where} must be a whole number, not {value!r}.")
        if value < minimum:
            why = (
                f" (SQLAlchemy reads {value} as no limit; django-pool keeps a bound: give "
                "the most connections the server should see.)"
                if value == unlimited
                else ""
            )
            raise ImproperlyConfigured(
                f"{where} is improperly configured to {value!r}. "
                f"Use a whole number of {minimum} or more.{why}"
            )
        return value

    return check


def _seconds(where: str, value: Any, *, off: str = "") -> float:
    # *off*: how to say "never" for this setting, added to the message.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ImproperlyConfigured(f"{where} must be a number of seconds{off}, not {value!r}.")
    if not (value > 0 and math.isfinite(value)):
        raise ImproperlyConfigured(
            f"{where} is improperly configured to {value!r}. "
            f"Use a finite number of seconds greater than 0{off}."
        )
    return float(value)


def _recycle(where: str, value: Any) -> float | None:
    # SQLAlchemy spells "never" as -1; accept it next to None.
    if value is None or (value == -1 and not isinstance(value, bool)):
        return None
    return _seconds(where, value, off=", or None (or -1) for never")


def _pool_class(where: str, value: Any) -> str:
    # SQLAlchemy's own classes, as a class or a dotted path, get their short
    # name: what the pool does for "static" (one connection, never shared)
    # it must do for sqlalchemy.pool.StaticPool.
    if isinstance(value, type) and issubclass(value, sa_pool.Pool):
        return _SHORT_NAMES.get(value) or f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, str) and value.startswith("sqlalchemy."):
        try:
            named = import_string(value)
        except (ImportError, ValueError):
            pass  # sqlalchemy_class() says what is wrong with it
        else:
            if named in _SHORT_NAMES:
                return _SHORT_NAMES[named]
    if not isinstance(value, str) or not value:
        raise ImproperlyConfigured(
            f"{where} must be one of {', '.join(map(repr, POOL_CLASSES))} "
            f"or a dotted path to a sqlalchemy.pool.Pool subclass, not {value!r}."
        )
    name = value.lower()
    if name in POOL_CLASSES:
        return name
    if "." not in value:  # not a dotted path: a misspelt name
        close = difflib.get_close_matches(name, POOL_CLASSES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ImproperlyConfigured(
            f"{where} is improperly configured to {value!r}.{hint} Use one of "
            f"{', '.join(map(repr, POOL_CLASSES))}, or a dotted path to a "
            "sqlalchemy.pool.Pool subclass."
        )
    return value


def _flag(where: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ImproperlyConfigured(f"{where} must be True, False or None, not {value!r}.")
    return value


def _reset_on_return(where: str, value: Any) -> ResetOnReturn:
    # SQLAlchemy accepts True for "rollback" and False for None; so do we.
    if value is None or value is False:
        return None
    lowered = value.lower() if isinstance(value, str) else value
    if value is True or lowered == "rollback":
        return "rollback"
    if lowered == "commit":
        return "commit"
    raise ImproperlyConfigured(
        f"{where} is improperly configured to {value!r}. Use 'rollback', 'commit' or None."
    )


def _optional_seconds(where: str, value: Any) -> float | None:
    return None if value is None else _seconds(where, value, off=", or None for off")


def _fraction(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ImproperlyConfigured(
            f"{where} is improperly configured to {value!r}. Use a number from 0 to below 1."
        )
    return float(value)


def _idle_seconds(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ImproperlyConfigured(f"{where} must be a number of seconds, not {value!r}.")
    if not (value >= 0 and math.isfinite(value)):
        raise ImproperlyConfigured(
            f"{where} is improperly configured to {value!r}. "
            "Use 0 (every checkout) or a finite number of seconds."
        )
    return float(value)


def _reset_session(where: str, value: Any) -> SessionReset:
    if value is None or isinstance(value, bool) or callable(value):
        return value
    if isinstance(value, str):
        try:
            hook = import_string(value)
        except (ImportError, ValueError, TypeError) as err:
            raise ImproperlyConfigured(
                f"{where} is improperly configured to {value!r}: {err}."
            ) from None
        if callable(hook):
            return hook
    raise ImproperlyConfigured(
        f"{where} must be True, False, None, a callable taking the driver connection, "
        f"or its dotted path, not {value!r}."
    )


def _release(where: str, value: Any) -> ReleasePoint:
    lowered = value.lower() if isinstance(value, str) else None
    for point in RELEASE_POINTS:
        if lowered == point:
            return point
    raise ImproperlyConfigured(
        f"{where} is improperly configured to {value!r}. "
        f"Use {' or '.join(map(repr, RELEASE_POINTS))}."
    )


def _pgbouncer(where: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in PGBOUNCER_MODES:
        return value.lower()
    raise ImproperlyConfigured(
        f"{where} is improperly configured to {value!r}. Use PgBouncer's pool_mode: "
        f"{', '.join(map(repr, PGBOUNCER_MODES))}, or None."
    )


_VALIDATORS = {
    "pool_class": _pool_class,
    "pool_size": _whole(1, unlimited=0),
    "max_overflow": _whole(0, unlimited=-1),
    "timeout": _seconds,
    "recycle": _recycle,
    "pre_ping": _flag,
    "pre_ping_idle": _idle_seconds,
    "recycle_jitter": _fraction,
    "reset_on_return": _reset_on_return,
    "reset_session": _reset_session,
    "leak_threshold": _optional_seconds,
    "release": _release,
    "pgbouncer": _pgbouncer,
}
