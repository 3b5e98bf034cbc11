"""Settings of the small Django project the deployment tests run under real servers.

The test (tests/deployment) passes everything through the environment, since the
project runs in other processes (gunicorn, uvicorn, a Celery worker):

* ``DEPLOY_DATABASE``: the ``default`` DATABASES entry as JSON (the test's own
  per-pid test database, with its ``POOL``);
* ``DEPLOY_DRIVER``: ``psycopg`` (3), ``psycopg2``, ``mysqlclient`` or ``pymysql``.
  Django picks its driver at import time, so this runs first.
"""

import json
import os
import sys

DRIVER = os.environ.get("DEPLOY_DRIVER", "psycopg")
if DRIVER == "psycopg2":
    sys.modules["psycopg"] = None  # Django falls back to psycopg2
elif DRIVER == "pymysql":
    import pymysql

    pymysql.install_as_MySQLdb()
elif DRIVER not in ("psycopg", "mysqlclient"):
    raise RuntimeError(f"DEPLOY_DRIVER must be psycopg, psycopg2, mysqlclient or pymysql: {DRIVER}")

SECRET_KEY = "django-pool-deployment-tests"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django_pool", "tests.testapp"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "tests.deployment.project.urls"
MIDDLEWARE: list[str] = []
DATABASES = {"default": json.loads(os.environ["DEPLOY_DATABASE"])}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django_pool": {"handlers": ["stderr"], "level": "WARNING"}},
}

# Celery (tests/deployment/project/celery_app.py): the broker the test found.
CELERY_BROKER_URL = os.environ.get("DEPLOY_BROKER", "redis://127.0.0.1:6379/0")
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
