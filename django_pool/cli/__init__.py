"""django-pool's command line."""
