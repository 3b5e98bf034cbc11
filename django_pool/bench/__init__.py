"""The benchmark behind ``python -m django_pool bench``."""
