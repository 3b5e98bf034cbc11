"""ENGINE django_pool.backends.mysqlgis: GeoDjango on MySQL/MariaDB, pooled."""
