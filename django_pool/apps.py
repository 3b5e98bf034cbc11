"""The django_pool app: activation, system checks and the pool_status command.

With ``"django_pool"`` first in ``INSTALLED_APPS``, every database whose
ENGINE django-pool can pool is pooled (``"POOL": False`` opts one out): the
stock and GeoDjango ENGINEs, and any ENGINE derived from them (see
:mod:`django_pool.activation`); databases that already use a
``django_pool.backends`` ENGINE are unchanged.
"""

import logging

from django.apps import AppConfig

logger = logging.getLogger("django_pool.activation")


class DjangoPoolConfig(AppConfig):
    """Activates pooling for stock ENGINEs and registers the system checks."""

    name = "django_pool"
    verbose_name = "django-pool"
    # The aliases activate() switched (set when Django builds the config).
    _switched: list[str] = []  # noqa: RUF012 - replaced, never mutated

    def __init__(self, app_name, app_module) -> None:
        super().__init__(app_name, app_module)
        # Now, while Django instantiates app configs in INSTALLED_APPS order:
        # before models are imported and before any ready(), so before any
        # connection in a well-behaved project.
        from .activation import activate

        self._switched = activate()

    def ready(self) -> None:
        from . import checks
        from .activation import settle

        # Third-party ENGINEs can be imported now: those that cannot be
        # pooled get their own ENGINE back (and warning W004).
        restored = settle()
        pooling = [alias for alias in self._switched if alias not in restored]
        if pooling:
            logger.info("django_pool: pooling %s", ", ".join(map(repr, pooling)))
        checks.register()
