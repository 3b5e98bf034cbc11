"""djorm-ext-pool's README: the app in INSTALLED_APPS, options in DJORM_POOL_OPTIONS.

Only the app name changed: 'djorm_pool' -> 'django_pool'.
"""

from tests.legacy.settings_base import *  # noqa: F403

INSTALLED_APPS = ("django_pool",)
DATABASES = {"default": server(PG, "django.db.backends.postgresql")}  # noqa: F405
DJORM_POOL_OPTIONS = {"pool_size": 3, "max_overflow": 1, "recycle": 3600, "timeout": 0.5}
DJORM_POOL_PESSIMISTIC = True
