"""django-pool management commands."""
