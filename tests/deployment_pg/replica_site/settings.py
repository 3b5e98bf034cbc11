"""A site with a primary (``default``) and a read replica (``replica``), one pool each.

The ports come from the environment: the test starts the servers first.
"""

import os
import sys

# The suite's driver choice (tests/settings.py): psycopg2 with "alt".
if os.environ.get("DJANGO_POOL_TEST_DRIVERS") == "alt":
    sys.modules["psycopg"] = None

SECRET_KEY = "django-pool-replica-site"
USE_TZ = True
INSTALLED_APPS = ["django_pool", "tests.testapp"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASE_ROUTERS = ["tests.deployment_pg.replica_site.routers.PrimaryReplicaRouter"]


def _database(port_variable: str) -> dict:
    return {
        "ENGINE": "django_pool.backends.postgresql",
        "NAME": os.environ.get("REPLICA_SITE_DATABASE", "app"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": os.environ[port_variable],
        "OPTIONS": {"application_name": "replica_site"},
        "POOL": {"pool_size": 2, "max_overflow": 2, "timeout": 10},
    }


DATABASES = {
    "default": _database("REPLICA_SITE_PRIMARY_PORT"),
    "replica": {**_database("REPLICA_SITE_REPLICA_PORT"), "TEST": {"MIRROR": "default"}},
}
