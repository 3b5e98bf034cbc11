"""Activation on every kind of ENGINE (run by tests/activation/test_activation.py).

Stock GeoDjango ENGINEs, a project's own subclass of Django's PostgreSQL
backend, django-prometheus's and django-tenants' backends, and one ENGINE
that cannot be pooled. The databases are the outer test run's test
databases, passed in the environment.
"""

import json
import os

from tests.settings import MYSQL, PG, SQLITE  # noqa: F401 - also applies the driver choice

SECRET_KEY = "activation"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = [
    "django_pool",
    "django.contrib.contenttypes",
    "django.contrib.gis",
    "tests.testapp",
    "tests.gis",
]
NAMES = json.loads(os.environ["DJANGO_POOL_ACTIVATION_NAMES"])
POOL = {"pool_size": 1, "max_overflow": 0, "timeout": 10}


def server(base, engine, name):
    keys = ("USER", "PASSWORD", "HOST", "PORT")
    return {**{k: base[k] for k in keys}, "ENGINE": engine, "NAME": name, "POOL": POOL}


DATABASES = {
    "default": server(PG, "tests.activation.custom_pg", NAMES["postgresql"]),
    "prometheus": server(PG, "django_prometheus.db.backends.postgresql", NAMES["postgresql"]),
    "unpoolable": {"ENGINE": "tests.activation.unpoolable", "NAME": "x"},
    "opted_out": {**server(PG, "django.db.backends.postgresql", "x"), "POOL": False},
}
if "postgis" in NAMES:
    DATABASES["postgis"] = server(PG, "django.contrib.gis.db.backends.postgis", NAMES["postgis"])
if "mysqlgis" in NAMES:
    DATABASES["mysqlgis"] = server(MYSQL, "django.contrib.gis.db.backends.mysql", NAMES["mysqlgis"])
if "spatialite" in NAMES:
    DATABASES["spatialite"] = {
        "ENGINE": "django.contrib.gis.db.backends.spatialite",
        "NAME": NAMES["spatialite"],
        "POOL": POOL,
    }
