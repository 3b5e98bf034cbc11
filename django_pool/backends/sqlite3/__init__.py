"""ENGINE django_pool.backends.sqlite3: SQLite file databases, pooled."""
