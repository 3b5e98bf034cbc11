"""What to benchmark against: a database URL, and the variants a user would compare."""

from __future__ import annotations

import importlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "OPT_IN",
    "Variant",
    "database_settings",
    "describe_url",
    "require_driver",
    "variants",
]

#: Variants run only when ``--variants`` names them.
OPT_IN = frozenset({"fair_gate"})

_SCHEMES = {
    "sqlite": "sqlite3",
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "pgsql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    # A GeoDjango project's URL: the bench's requests need no spatial
    # functions, so the plain backend of the same server measures the same.
    "postgis": "postgresql",
    "mysqlgis": "mysql",
    "spatialite": "sqlite3",
}


def database_settings(url: str | None, directory: str | None = None) -> dict[str, Any]:
    """Return a Django DATABASES entry (without ENGINE package) for *url*.

    No URL: a fresh SQLite file in *directory* (the caller removes it).
    """
    if not url:
        path = Path(directory or tempfile.gettempdir()) / "bench.sqlite3"
        return {"vendor": "sqlite3", "NAME": str(path)}
    parts = urlsplit(url)
    vendor = _SCHEMES.get(parts.scheme.split("+")[0])  # sqlite+pool:// too
    if vendor is None:
        raise SystemExit(
            f"--database-url: unknown scheme {parts.scheme!r}; use one of "
            f"{', '.join(sorted(_SCHEMES))}, e.g. postgres://user:password@host:5432/name"
        )
    if vendor == "sqlite3":
        return {"vendor": vendor, "NAME": unquote(parts.path) or ":memory:"}
    try:
        port = parts.port
    except ValueError:  # its message would not say which argument
        raise SystemExit("--database-url: the port must be a number from 0 to 65535") from None
    # ?sslmode=require&...: libpq's connection parameters, all strings. MySQL
    # drivers want typed ones, which a URL cannot say: refused, not dropped.
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    if options and vendor != "postgresql":
        raise SystemExit(
            f"--database-url: query parameters ({', '.join(options)}) are read for "
            "PostgreSQL only (libpq's connection parameters)"
        )
    return {
        "vendor": vendor,
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port or ""),
        "OPTIONS": options,
    }


def require_driver(vendor: str) -> None:
    """Make sure Django's backend for *vendor* finds a driver, or exit saying which to install.

    Django's MySQL backend imports ``MySQLdb``: mysqlclient, or PyMySQL
    installed under that name, as a project with only PyMySQL does.
    """
    if vendor == "mysql":
        try:
            importlib.import_module("MySQLdb")
        except ImportError:
            try:
                pymysql = importlib.import_module("pymysql")
            except ImportError:
                raise SystemExit(
                    "--database-url mysql://...: no MySQL driver is installed; "
                    "pip install mysqlclient (or PyMySQL)"
                ) from None
            pymysql.install_as_MySQLdb()
    elif vendor == "postgresql":
        for driver in ("psycopg", "psycopg2"):
            try:
                importlib.import_module(driver)
                return
            except ImportError:
                continue
        raise SystemExit(
            "--database-url postgres://...: no PostgreSQL driver is installed; "
            "pip install 'psycopg[binary]' (or psycopg2)"
        )


def describe_url(target: dict[str, Any]) -> str:
    """Return the target without credentials, for printing."""
    if target["vendor"] == "sqlite3":
        return f"SQLite file {target['NAME']}"
    port = target.get("PORT")
    where = (target.get("HOST") or "localhost") + (f":{port}" if port else "")
    return f"{target['vendor']} {target.get('USER') or ''}@{where}/{target['NAME']}"


@dataclass(frozen=True)
class Variant:
    """One way of handling connections, as a DATABASES alias."""

    alias: str
    label: str
    settings: dict[str, Any]
    pooled: bool  # bounded by pool_size (matters for the threads workload)
    #: Each request first waits its turn at a first-come-first-served gate of
    #: this many permits (0: no gate).
    gate: int = 0


def variants(target: dict[str, Any], pool_size: int) -> list[Variant]:
    """Return the variants to compare on *target*."""
    vendor = target["vendor"]
    base = {k: v for k, v in target.items() if k != "vendor"}
    stock = f"django.db.backends.{vendor}"
    ours = f"django_pool.backends.{vendor}"
    pool = {"pool_size": pool_size, "max_overflow": 0, "timeout": 30}
    found = [
        Variant(
            "no_pool",
            "Django, no pooling (CONN_MAX_AGE=0)",
            {**base, "ENGINE": stock, "CONN_MAX_AGE": 0},
            False,
        ),
        Variant(
            "persistent",
            "Django persistent (CONN_MAX_AGE=None)",
            {**base, "ENGINE": stock, "CONN_MAX_AGE": None},
            False,
        ),
    ]
    if vendor == "postgresql" and _has_native_pool():
        native = {"min_size": pool_size, "max_size": pool_size, "timeout": 30}
        found.append(
            Variant(
                "native",
                "Django native pool (psycopg_pool)",
                {**base, "ENGINE": stock, "OPTIONS": {**base.get("OPTIONS", {}), "pool": native}},
                True,
            )
        )
    found += [
        Variant(
            "django_pool",
            "django-pool",
            {**base, "ENGINE": ours, "POOL": {**pool, "pre_ping": False}},
            True,
        ),
        Variant(
            "django_pool_ping",
            # pre_ping_idle 0: a ping at every checkout, the most pre-ping can cost.
            # (With the default 0.5 s a busy pool, as in this bench, skips it.)
            "django-pool, pre_ping every checkout",
            {**base, "ENGINE": ours, "POOL": {**pool, "pre_ping": True, "pre_ping_idle": 0}},
            True,
        ),
    ]
    if vendor != "sqlite3":  # SQLite has no server connection to free
        found.append(
            Variant(
                "django_pool_transaction",
                "django-pool, release per transaction",
                {**base, "ENGINE": ours, "POOL": {**pool, "release": "transaction"}},
                True,
            )
        )
    # A yardstick, not a way to run Django: under threads, what a fair pool of
    # pool_size would reach if its checkout and checkin cost nothing. Each
    # thread keeps its own connection; only the wait in line is a pool's.
    found.append(
        Variant(
            "fair_gate",
            f"bound: persistent + fair gate of {pool_size}",
            {**base, "ENGINE": stock, "CONN_MAX_AGE": None},
            False,
            gate=pool_size,
        )
    )
    return found


def _has_native_pool() -> bool:
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        return False
    return True
