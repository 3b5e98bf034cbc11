"""ENGINE django_pool.backends.postgis: GeoDjango on PostgreSQL/PostGIS, pooled."""
