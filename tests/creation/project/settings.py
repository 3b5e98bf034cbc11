"""A small Django project run by ``manage.py test`` in a subprocess (tests/creation).

DJANGO_POOL_PROJECT_VENDOR picks the database: postgresql, mysql or sqlite.
Two aliases, the second a test mirror-free multi-db target, so creation,
cloning (--parallel) and destruction happen with pools alive on both.
"""

import json
import os

from tests.settings import DRIVERS, MYSQL, PG  # noqa: F401 - DRIVERS applies the driver choice

SECRET_KEY = "django-pool-project"
USE_TZ = True
INSTALLED_APPS = ["tests.testapp"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

VENDOR = os.environ["DJANGO_POOL_PROJECT_VENDOR"]
SUFFIX = os.environ.get("DJANGO_POOL_PROJECT_SUFFIX", "")  # one per outer test run
if VENDOR == "postgresql":
    base = PG
elif VENDOR == "mysql":
    base = MYSQL
else:
    base = {"ENGINE": "django_pool.backends.sqlite3", "NAME": "project.sqlite3"}


# The live-server test's URLs (live.py).
ROOT_URLCONF = "tests.creation.project.urls"
STATIC_URL = "/static/"
ALLOWED_HOSTS = ["*"]
# A test may ask for other pool options (JSON).
POOL = json.loads(os.environ.get("DJANGO_POOL_PROJECT_POOL", '{"pool_size": 2, "max_overflow": 2}'))


def database(name):
    settings = {**base, "NAME": name, "POOL": dict(POOL)}
    if VENDOR != "sqlite":
        settings["TEST"] = {**base.get("TEST", {}), "NAME": f"test_{name}"}
    else:
        settings["TEST"] = {}  # the test runner's shared-cache memory database
    return settings


DATABASES = {
    "default": database(f"dp_project{SUFFIX}"),
    "other": database(f"dp_project{SUFFIX}_other"),
}
if os.environ.get("DJANGO_POOL_PROJECT_DIRECT"):
    # A database through Django's own ENGINE as well, not pooled (direct.py):
    # default's, or ("first") other's, listed before other, so that Django's
    # ENGINE creates and drops it.
    stock = {"postgresql": "django.db.backends.postgresql", "mysql": "django.db.backends.mysql"}
    first = os.environ["DJANGO_POOL_PROJECT_DIRECT"] == "first"
    direct = {**DATABASES["other" if first else "default"], "ENGINE": stock[VENDOR], "POOL": False}
    DATABASES = {"default": DATABASES["default"], "direct": direct, "other": DATABASES["other"]}
