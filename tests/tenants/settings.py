"""A django-tenants project with activation (run by tests/tenants/test_tenants.py).

``DJANGO_POOL_TENANTS_DB`` names its database (created and dropped by the
run). The ENGINE is django-tenants' own; ``"django_pool"`` first in
INSTALLED_APPS pools it.
"""

import os

from tests.settings import PG

SECRET_KEY = "tenants"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.tenants.urls"
SHARED_APPS = ["django_tenants", "django.contrib.contenttypes", "tests.tenants.customers"]
TENANT_APPS = ["django.contrib.contenttypes", "tests.tenants.notes"]
INSTALLED_APPS = ["django_pool", *SHARED_APPS, "tests.tenants.notes"]
TENANT_MODEL = "customers.Client"
TENANT_DOMAIN_MODEL = "customers.Domain"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
MIDDLEWARE = ["django_tenants.middleware.main.TenantMainMiddleware"]
DATABASES = {
    "default": {
        **{k: PG[k] for k in ("USER", "PASSWORD", "HOST", "PORT")},
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": os.environ.get("DJANGO_POOL_TENANTS_DB", "dp_tenants"),
        "POOL": {"pool_size": 1, "max_overflow": 0, "timeout": 10},
    }
}
