"""ENGINE django_pool.backends.postgresql: PostgreSQL through psycopg 3 or psycopg2, pooled."""
