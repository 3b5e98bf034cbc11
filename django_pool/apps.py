"""The django_pool app: activation, system checks and the pool_status command.

With ``"django_pool"`` first in ``INSTALLED_APPS``, every database with a
stock Django ENGINE is pooled (``"POOL": False`` opts one out); databases
that already use a ``django_pool.backends`` ENGINE are unchanged.
"""

from django.apps import AppConfig


class DjangoPoolConfig(AppConfig):
    """Activates pooling for stock ENGINEs and registers the system checks."""

    name = "django_pool"
    verbose_name = "django-pool"

    def __init__(self, app_name, app_module) -> None:
        super().__init__(app_name, app_module)
        # Now, while Django instantiates app configs in INSTALLED_APPS order:
        # before models are imported and before any ready(), so before any
        # connection in a well-behaved project.
        from .activation import activate

        activate()

    def ready(self) -> None:
        from . import checks

        checks.register()
