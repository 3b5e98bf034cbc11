"""django-pool management commands: pool_status."""
