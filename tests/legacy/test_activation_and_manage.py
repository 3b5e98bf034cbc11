"""INSTALLED_APPS activation, manage() for plain DB-API use, and the URL helpers."""

import sqlite3
import threading

import dj_database_url
import environ
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

import django_pool
from django_pool.activation import activate
from django_pool.contrib.database_url import register_schemes
from tests.conftest import _require

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_activation_rewrites_stock_engines_and_respects_opt_out():
    databases = {
        "app": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/a.sqlite3"},
        "opted_out": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/b", "POOL": False},
        "oracle": {"ENGINE": "django.db.backends.oracle", "NAME": "x"},
    }
    assert activate(databases) == ["app"]
    assert databases["app"]["ENGINE"] == "django_pool.backends.sqlite3"
    assert databases["opted_out"]["ENGINE"] == "django.db.backends.sqlite3"
    assert databases["oracle"]["ENGINE"] == "django.db.backends.oracle"


def test_activation_says_when_it_is_too_late(monkeypatch):
    connections["default"].ensure_connection()
    monkeypatch.setitem(connections.settings["default"], "ENGINE", "django.db.backends.sqlite3")
    with pytest.raises(ImproperlyConfigured, match="Put 'django_pool' first in INSTALLED_APPS"):
        activate()


# ##### manage() #####


class Opened:
    """The DB-API module, counting the connections it opened that are still open.

    The witness of the pool's bound. The server's own count lags: it lists a
    session for a while after its client closed it.
    """

    def __init__(self, module, is_open):
        self.__name__ = module.__name__
        self._module, self._is_open, self._made = module, is_open, []

    def __getattr__(self, name):
        return getattr(self._module, name)

    def connect(self, *args, **kwargs):
        connection = self._module.connect(*args, **kwargs)
        self._made.append(connection)
        return connection

    def now(self) -> int:
        return sum(self._is_open(c) for c in list(self._made))


def sqlite_is_open(connection):
    try:
        connection.total_changes  # noqa: B018 - raises once closed
    except sqlite3.ProgrammingError:
        return False
    return True


def dbapi(name):
    """Return (counted module, connect kwargs, extra kwargs making another pool)."""
    if name == "sqlite3":
        # Pooled connections move between threads: sqlite3 must allow it.
        kwargs = {"database": "/tmp/django_pool_manage.sqlite3", "check_same_thread": False}
        return Opened(sqlite3, sqlite_is_open), kwargs, {"timeout": 5}
    alias = "postgresql" if name == "psycopg" else "mysql"
    _require(alias)
    s = connections.settings[alias]
    if name == "psycopg":
        import psycopg

        kwargs = {"dbname": s["NAME"], "user": s["USER"], "host": s["HOST"], "port": s["PORT"]}
        return Opened(psycopg, lambda c: not c.closed), kwargs, {"connect_timeout": 5}
    import MySQLdb

    kwargs = {"database": s["NAME"], "user": s["USER"], "host": s["HOST"], "port": int(s["PORT"])}
    return Opened(MySQLdb, lambda c: bool(c.open)), kwargs, {"connect_timeout": 5}


@pytest.mark.parametrize("name", ["sqlite3", "psycopg", "MySQLdb"])
def test_manage_reuses_bounds_and_separates(name):
    if name == "psycopg":
        pytest.importorskip("psycopg")
    module, kwargs, other_kwargs = dbapi(name)
    pooled = django_pool.manage(module, pool_size=2, max_overflow=1, timeout=10)
    try:
        first = pooled.connect(**kwargs)
        raw = first._connection
        first.close()
        again = pooled.connect(**kwargs)
        assert again._connection is raw  # the same physical connection
        again.close()
        with pytest.raises(module.InterfaceError, match="was closed"):
            again.cursor()

        other = pooled.connect(**kwargs, **other_kwargs)
        assert other._connection is not raw  # other arguments, other pool
        other.close()
        assert len(pooled.get_stats()) == 2

        seen, errors = [], []
        barrier = threading.Barrier(16)

        def work():
            try:
                barrier.wait()
                for _ in range(10):
                    connection = pooled.connect(**kwargs)
                    cursor = connection.cursor()
                    cursor.execute("SELECT 1")
                    cursor.fetchall()
                    cursor.close()
                    seen.append(module.now())
                    connection.close()
            except Exception as err:  # noqa: BLE001
                errors.append(err)

        threads = [threading.Thread(target=work) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        stats = next(s for s in pooled.get_stats().values() if s["checkouts_num"] > 100)
        # Never more than pool_size + max_overflow open at once (a returned
        # overflow connection is closed, so more may be opened over time).
        assert stats["checkouts_num"] == 162 and stats["open"] <= 3
        assert stats["wait_seconds"]["count"] == 162
        assert max(seen) <= 3 + 1  # the pool's bound, plus the other pool's one
    finally:
        pooled.dispose()
    assert module.now() == 0


def test_manage_attribute_writes_reach_the_driver():
    pooled = django_pool.manage(sqlite3, pool_size=1)
    connection = pooled.connect("/tmp/django_pool_manage.sqlite3")
    connection.isolation_level = None  # a write on a proxy that kept it would be lost
    assert connection._connection.isolation_level is None
    assert pooled.Error is sqlite3.Error  # the module's own names pass through
    connection.close()
    pooled.dispose()


def test_manage_rejects_bad_options():
    with pytest.raises(ImproperlyConfigured, match=r"manage\(\)\['pool_size'\]"):
        django_pool.manage(sqlite3, pool_size=0)
    # Checked against the pool class too, at the call, as POOL is.
    with pytest.raises(ImproperlyConfigured, match=r"manage\(\)\['pool_size'\] has no effect"):
        django_pool.manage(sqlite3, pool_class="null", pool_size=3)
    with pytest.raises(ImproperlyConfigured, match=r"manage\(\)\['pool_class'\] is improperly"):
        django_pool.manage(sqlite3, pool_class="nope.Pool")


def test_manage_timeout_names_the_manage_call():
    pooled = django_pool.manage(sqlite3, pool_size=1, max_overflow=0, timeout=0.05)
    held = pooled.unique_connection("/tmp/django_pool_manage.sqlite3")
    try:
        with pytest.raises(django_pool.PoolTimeout) as info:
            pooled.unique_connection("/tmp/django_pool_manage.sqlite3")
        assert "Raise manage()['pool_size']" in str(info.value)
        assert "settings.DATABASES" not in str(info.value)  # no such setting
    finally:
        held.close()
        pooled.dispose()


# ##### dj-database-url and django-environ #####

URL = "postgres://app:s3cret@db.example:5432/shop"


def test_dj_database_url_engine_argument_and_schemes():
    config = dj_database_url.parse(URL, engine="django_pool.backends.postgresql")
    assert config["ENGINE"] == "django_pool.backends.postgresql" and config["NAME"] == "shop"
    register_schemes()
    assert dj_database_url.parse(URL.replace("postgres:", "postgres+pool:"))["ENGINE"] == (
        "django_pool.backends.postgresql"
    )
    mysql = dj_database_url.parse("mysql+pool://root@127.0.0.1:3306/test")
    assert mysql["ENGINE"] == "django_pool.backends.mysql" and mysql["PORT"] == 3306
    sqlite = dj_database_url.parse("sqlite+pool:////srv/app/db.sqlite3")
    assert sqlite["ENGINE"] == "django_pool.backends.sqlite3"
    assert sqlite["NAME"] == "/srv/app/db.sqlite3"
    # As sqlite:// does: no path is an in-memory database (which is never pooled).
    assert dj_database_url.parse("sqlite+pool://")["NAME"] == ":memory:"


def test_django_environ_engine_argument():
    config = environ.Env.db_url_config(URL, engine="django_pool.backends.postgresql")
    assert config["ENGINE"] == "django_pool.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["USER"]) == ("db.example", 5432, "app")


@pytest.mark.parametrize(
    ("url", "engine", "name"),
    [
        ("postgis+pool://app@db:5432/geo?currentSchema=gis", "postgis", "geo"),
        ("spatialite+pool:////var/data/geo.sqlite3", "spatialite", "/var/data/geo.sqlite3"),
        ("mysqlgis+pool://root@127.0.0.1:3306/geo", "mysqlgis", "geo"),
    ],
)
def test_dj_database_url_gis_schemes(url, engine, name):
    register_schemes()
    config = dj_database_url.parse(url)
    assert config["ENGINE"] == f"django_pool.backends.{engine}" and config["NAME"] == name
    if engine == "postgis":  # the postgres schemes' handling of the schema applies
        assert config["OPTIONS"] == {"options": "-c search_path=gis"}


def test_manage_stats_name_the_database_given_by_keyword():
    # They said 'database': '' whatever the connect() call named.
    pooled = django_pool.manage(sqlite3, pool_size=1)
    pooled.connect(database="/tmp/django_pool_manage.sqlite3").close()
    pooled.connect("/tmp/django_pool_manage_positional.sqlite3").close()
    try:
        names = sorted(stats["database"] for stats in pooled.get_stats().values())
        assert names == ["", "/tmp/django_pool_manage.sqlite3"]  # positional: maybe a DSN
    finally:
        pooled.dispose()
    # The other drivers' spellings: MySQLdb's db, libpq's dbname.
    from django_pool.dbapi import _database_named

    assert _database_named({"db": "shop"}) == _database_named({"dbname": "shop"}) == "shop"
