"""Settings for django-pool's own tests: one pooled alias per vendor.

``DJANGO_POOL_TEST_DRIVERS`` picks the drivers, since Django chooses them at
import time, once per process: ``default`` (psycopg 3, mysqlclient, SQLite)
or ``alt`` (psycopg2, PyMySQL, and pysqlite3 for SQLite when installed).
GeoDjango aliases (``postgis``, ``spatialite``, ``mysqlgis``) come with the
GDAL and GEOS libraries; SpatiaLite also needs a sqlite3 module that loads
extensions (pyenv's and some other builds cannot: pysqlite3 can).

Servers come from ``TEST_PG_*`` and
``TEST_MYSQL_*`` variables, defaulting to this machine's. An alias whose
server does not answer is left out and its tests skip loudly (fail under CI).
"""

import os
import sys
import tempfile

DRIVERS = os.environ.get("DJANGO_POOL_TEST_DRIVERS", "default")
if DRIVERS == "alt":
    sys.modules["psycopg"] = None  # Django falls back to psycopg2
    import pymysql

    pymysql.install_as_MySQLdb()
    try:
        import pysqlite3.dbapi2
    except ImportError:
        pass
    else:  # as pymysql.install_as_MySQLdb() does for MySQLdb
        sys.modules["sqlite3"] = pysqlite3
        sys.modules["sqlite3.dbapi2"] = pysqlite3.dbapi2
elif DRIVERS != "default":
    raise RuntimeError(f"DJANGO_POOL_TEST_DRIVERS must be 'default' or 'alt', not {DRIVERS!r}")

SECRET_KEY = "django-pool-tests"
USE_TZ = True
INSTALLED_APPS = [
    "django_pool",
    "django.contrib.staticfiles",
    "tests.testapp",
    "debug_toolbar",  # its SQL panel wraps cursors (tests/wrapper/test_cursor_wrappers.py)
]
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "tests.asgi.urls"
ALLOWED_HOSTS = ["*"]

PG = {
    "ENGINE": "django_pool.backends.postgresql",
    "NAME": "django_pool",
    "USER": os.environ.get("TEST_PG_USER", "postgres"),
    # Trust auth ignores it; the tests check it never leaks anywhere.
    "PASSWORD": os.environ.get("TEST_PG_PASSWORD", "pg-s3cret-never-logged"),
    "HOST": os.environ.get("TEST_PG_HOST", "127.0.0.1"),
    "PORT": os.environ.get("TEST_PG_PORT", "5432"),
    # Per run: two runs on one machine (a developer's and CI's) must not
    # drop each other's database or count each other's sessions.
    "TEST": {"NAME": f"test_django_pool_{os.getpid()}"},
    # These tests check what production sees: no session reset, which a test
    # database otherwise gets by default (creation.py).
    "POOL": {"reset_session": False},
}
MYSQL = {
    "ENGINE": "django_pool.backends.mysql",
    "NAME": "django_pool",
    "USER": os.environ.get("TEST_MYSQL_USER", "root"),
    "PASSWORD": os.environ.get("TEST_MYSQL_PASSWORD", ""),
    "HOST": os.environ.get("TEST_MYSQL_HOST", "127.0.0.1"),
    "PORT": os.environ.get("TEST_MYSQL_PORT", "3306"),
    "TEST": {"NAME": f"test_django_pool_{os.getpid()}", "CHARSET": "utf8mb4"},
    "POOL": {"reset_session": False},
}
SQLITE = {
    "ENGINE": "django_pool.backends.sqlite3",
    "NAME": os.path.join(tempfile.gettempdir(), f"django_pool_{os.getpid()}.sqlite3"),
    # A file test database: an in-memory one is never pooled (by design).
    "TEST": {
        "NAME": os.path.join(tempfile.gettempdir(), f"test_django_pool_{os.getpid()}.sqlite3")
    },
    "POOL": {"reset_session": False},
}


def _reachable(settings_dict):
    """Return None if the server answers, else why not."""
    try:
        if settings_dict is PG:
            from django.db.backends.postgresql.psycopg_any import is_psycopg3

            if is_psycopg3:
                import psycopg as driver
            else:
                import psycopg2 as driver
            conn = driver.connect(
                dbname="postgres",
                user=PG["USER"],
                password=PG["PASSWORD"],
                host=PG["HOST"],
                port=PG["PORT"],
                connect_timeout=3,
            )
        else:
            import MySQLdb as driver

            conn = driver.connect(
                user=MYSQL["USER"],
                password=MYSQL["PASSWORD"],
                host=MYSQL["HOST"],
                port=int(MYSQL["PORT"]),
                connect_timeout=3,
            )
        conn.close()
    except Exception as err:  # noqa: BLE001 - any failure means "not here"
        return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    return None


DATABASES = {"default": SQLITE}
UNAVAILABLE = {}
for alias, settings_dict in (("postgresql", PG), ("mysql", MYSQL)):
    reason = _reachable(settings_dict)
    if reason is None:
        DATABASES[alias] = settings_dict
    else:
        UNAVAILABLE[alias] = reason

# ##### GeoDjango #####


def _gis_libraries():
    """Return None if GeoDjango's GDAL and GEOS libraries are found, else why not."""
    from ctypes.util import find_library

    missing = [name for name in ("gdal", "geos_c") if find_library(name) is None]
    if missing:
        return f"library not found: {', '.join(missing)} (scripts/system-deps.sh installs them)"
    return None


def _spatialite():
    """Return None if this sqlite3 module can load mod_spatialite, else why not."""
    import sqlite3

    conn = sqlite3.connect(":memory:")
    try:
        if not hasattr(conn, "enable_load_extension"):
            return (
                f"this Python's sqlite3 cannot load extensions ({sys.executable}); "
                "the alt run uses pysqlite3"
            )
        conn.enable_load_extension(True)
        conn.load_extension("mod_spatialite")
    except Exception as err:  # noqa: BLE001 - any failure means "not here"
        return f"cannot load mod_spatialite: {err}"
    finally:
        conn.close()
    return None


def _spatialite_elsewhere():
    """Return why SpatiaLite is left to the alt run here, or None."""
    import sqlite3

    if DRIVERS == "default" and not hasattr(sqlite3.Connection, "enable_load_extension"):
        return "this Python's sqlite3 cannot load extensions: the alt run (pysqlite3) covers it"
    return None


def _postgis():
    """Return None if PostgreSQL offers the postgis extension, else why not."""
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    driver = __import__("psycopg" if is_psycopg3 else "psycopg2")
    conn = driver.connect(
        dbname="postgres",
        user=PG["USER"],
        password=PG["PASSWORD"],
        host=PG["HOST"],
        port=PG["PORT"],
    )
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
        if cursor.fetchone() is None:
            return "the postgis extension is not installed on the server (postgresql-15-postgis-3)"
    finally:
        conn.close()
    return None


def _gis_database(base, engine, name):
    return {
        **base,
        "ENGINE": engine,
        "NAME": name,
        "TEST": {**base["TEST"], "NAME": f"test_{name}"},
    }


GIS_ALIASES = ("postgis", "spatialite", "mysqlgis")
# Aliases this run cannot test but the other driver set does: skipped even under CI.
COVERED_ELSEWHERE = {}
_gis_reason = _gis_libraries()
for alias, server, check, settings_dict in (
    ("postgis", "postgresql", _postgis, PG),
    ("spatialite", None, _spatialite, SQLITE),
    ("mysqlgis", "mysql", None, MYSQL),
):
    reason = _gis_reason or UNAVAILABLE.get(server) or (check() if check else None)
    if alias == "spatialite" and _spatialite_elsewhere():
        COVERED_ELSEWHERE[alias] = _spatialite_elsewhere()
    elif reason is not None:
        UNAVAILABLE[alias] = reason
    elif server is None:
        DATABASES[alias] = {
            "ENGINE": "django_pool.backends.spatialite",
            "NAME": os.path.join(tempfile.gettempdir(), f"django_pool_gis_{os.getpid()}.sqlite3"),
            "TEST": {
                "NAME": os.path.join(
                    tempfile.gettempdir(), f"test_django_pool_gis_{os.getpid()}.sqlite3"
                )
            },
        }
    else:
        DATABASES[alias] = _gis_database(
            settings_dict, f"django_pool.backends.{alias}", f"django_pool_gis_{os.getpid()}"
        )
if any(alias in DATABASES for alias in GIS_ALIASES):
    INSTALLED_APPS += ["django.contrib.gis", "tests.gis"]
# The GIS app's tables only on the GIS databases.
DATABASE_ROUTERS = ["tests.gis.router.GisRouter"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
}
