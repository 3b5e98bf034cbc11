"""What every legacy-style settings file shares (the test server's coordinates).

The database is the one the test created for this run (``DJANGO_POOL_LEGACY_DB``):
the check counts every session on it, so it must be nobody else's.
"""

import os

from tests.settings import MYSQL, PG  # noqa: F401 - also applies the driver choice

SECRET_KEY = "legacy"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"


def server(base, engine, **extra):
    """Return a DATABASES entry for the test server with *engine*."""
    return {
        **{k: base[k] for k in ("USER", "PASSWORD", "HOST", "PORT")},
        "NAME": os.environ["DJANGO_POOL_LEGACY_DB"],
        "ENGINE": engine,
        **extra,
    }
