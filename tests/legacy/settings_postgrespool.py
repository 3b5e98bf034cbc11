"""django-postgrespool(2)'s README: the ENGINE, and SQLAlchemy's arguments in DATABASE_POOL_ARGS.

Only the ENGINE changed: 'django_postgrespool2' -> 'django_pool.backends.postgresql'.
"""

from tests.legacy.settings_base import *  # noqa: F403

INSTALLED_APPS = ()
DATABASES = {"default": server(PG, "django_pool.backends.postgresql")}  # noqa: F405
DATABASE_POOL_ARGS = {"max_overflow": 1, "pool_size": 3, "recycle": 300, "timeout": 0.5}
DATABASE_POOL_CLASS = "sqlalchemy.pool.QueuePool"
