"""Settings for django-pool's own tests: one pooled alias per vendor.

``DJANGO_POOL_TEST_DRIVERS`` picks the drivers, since Django chooses them at
import time, once per process: ``default`` (psycopg 3, mysqlclient, SQLite)
or ``alt`` (psycopg2, PyMySQL). Servers come from ``TEST_PG_*`` and
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
}
MYSQL = {
    "ENGINE": "django_pool.backends.mysql",
    "NAME": "django_pool",
    "USER": os.environ.get("TEST_MYSQL_USER", "root"),
    "PASSWORD": os.environ.get("TEST_MYSQL_PASSWORD", ""),
    "HOST": os.environ.get("TEST_MYSQL_HOST", "127.0.0.1"),
    "PORT": os.environ.get("TEST_MYSQL_PORT", "3306"),
    "TEST": {"NAME": f"test_django_pool_{os.getpid()}", "CHARSET": "utf8mb4"},
}
SQLITE = {
    "ENGINE": "django_pool.backends.sqlite3",
    "NAME": os.path.join(tempfile.gettempdir(), f"django_pool_{os.getpid()}.sqlite3"),
    # A file test database: an in-memory one is never pooled (by design).
    "TEST": {
        "NAME": os.path.join(tempfile.gettempdir(), f"test_django_pool_{os.getpid()}.sqlite3")
    },
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
}
