"""SQLite keeps Django's semantics: memory databases are never pooled or split."""

import pytest

from django_pool import registry
from tests.helpers import sqlite_wrapper


def wrapper(name, alias):
    return sqlite_wrapper(name, alias)


@pytest.mark.parametrize("name", [":memory:", "file:memorydb_pooltest?mode=memory&cache=shared"])
def test_memory_databases_are_not_pooled_and_survive_close(name, django_db_blocker):
    connection = wrapper(name, "memory")
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE t (x INTEGER)")
            cursor.execute("INSERT INTO t VALUES (1)")
        connection.close()  # Django ignores close() on a memory database...
        with connection.cursor() as cursor:
            cursor.execute("SELECT x FROM t")  # ...so the data is still there
            assert cursor.fetchall() == [(1,)]
        assert not connection.is_pooled()
        assert registry.pools("memory") == []
        connection.connection.close()


def test_file_databases_are_pooled(tmp_path, django_db_blocker):
    connection = wrapper(str(tmp_path / "file.sqlite3"), "file")
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        connection.close()
    assert connection.is_pooled()
    [pool] = registry.pools("file")
    assert pool.status()["idle"] == 1
    registry.retire(alias="file")


def test_settings_that_cannot_be_deep_copied_still_pool(tmp_path, django_db_blocker):
    class Uncopyable:
        """Like an ssl.SSLContext in the settings: deepcopy fails."""

        def __deepcopy__(self, memo):
            raise TypeError("cannot copy")

    # Every settings key takes part in the pool's digest (this one is ignored
    # by Django itself).
    connection = sqlite_wrapper(str(tmp_path / "f.sqlite3"), "uncopyable", EXTRA=Uncopyable())
    with django_db_blocker.unblock():
        for _ in range(2):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            connection.close()
    [pool] = registry.pools("uncopyable")
    assert pool.status()["connections_num"] == 1
    registry.retire(alias="uncopyable")
