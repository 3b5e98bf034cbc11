"""The django_pool app: system checks and the pool_status command.

Add ``"django_pool"`` to ``INSTALLED_APPS`` for them; pooling itself needs
only the ENGINE.
"""

from django.apps import AppConfig


class DjangoPoolConfig(AppConfig):
    """Registers django-pool's system checks."""

    name = "django_pool"
    verbose_name = "django-pool"

    def ready(self) -> None:
        from . import checks

        checks.register()
