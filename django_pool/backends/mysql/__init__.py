"""ENGINE django_pool.backends.mysql: MySQL and MariaDB through mysqlclient or PyMySQL, pooled."""
