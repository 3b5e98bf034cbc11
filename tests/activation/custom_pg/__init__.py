"""A project's own ENGINE: Django's PostgreSQL backend with behaviour of its own."""
