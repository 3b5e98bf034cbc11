"""django-db-connection-pool's README: the ENGINE, and POOL_OPTIONS with upper-case keys.

Only the ENGINE changed: 'dj_db_conn_pool.backends.mysql' -> 'django_pool.backends.mysql'.
"""

from tests.legacy.settings_base import *  # noqa: F403

INSTALLED_APPS = ()
DATABASES = {
    "default": server(  # noqa: F405
        MYSQL,  # noqa: F405
        "django_pool.backends.mysql",
        POOL_OPTIONS={"POOL_SIZE": 3, "MAX_OVERFLOW": 1, "RECYCLE": 24 * 60 * 60, "TIMEOUT": 0.5},
    )
}
