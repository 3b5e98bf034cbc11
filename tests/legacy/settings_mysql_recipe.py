"""The SQLAlchemy MySQL recipe: DATABASE_WAIT_TIMEOUT, recycled just under it.

The recipe's monkeypatch of MySQLdb is replaced by the ENGINE.
"""

from tests.legacy.settings_base import *  # noqa: F403
from tests.legacy.settings_base import MYSQL, server

INSTALLED_APPS = ()
DATABASES = {
    "default": server(
        MYSQL,
        "django_pool.backends.mysql",
        POOL={"pool_size": 3, "max_overflow": 1, "timeout": 0.5},
    )
}
DATABASE_WAIT_TIMEOUT = 28800
