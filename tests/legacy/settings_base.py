"""What every legacy-style settings file shares (the test server's coordinates)."""

from tests.settings import MYSQL, PG  # noqa: F401 - also applies the driver choice

SECRET_KEY = "legacy"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"


def server(base, engine, **extra):
    """Return a DATABASES entry for the test server with *engine*."""
    return {
        **{k: base[k] for k in ("USER", "PASSWORD", "HOST", "PORT")},
        "NAME": "test",
        "ENGINE": engine,
        **extra,
    }
