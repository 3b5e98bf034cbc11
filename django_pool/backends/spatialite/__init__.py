"""ENGINE django_pool.backends.spatialite: GeoDjango on SQLite/SpatiaLite file databases, pooled."""
