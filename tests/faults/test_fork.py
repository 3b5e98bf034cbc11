"""After fork, the child never touches the parent's connections; both keep working."""

import gc
import json
import os
import threading

import pytest
from django.db import connections

import django_pool
from tests.helpers import hold_at_once, join, run_threads, session_id

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    # Forking a threaded process is the very case under test (gunicorn --preload).
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]


def in_child(work):
    """Run *work()* in a forked child; return what it returned (JSON), or fail with its error."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and leave without running the parent's atexit/finalizers
        try:
            result = {"value": work()}
        except BaseException as err:  # noqa: BLE001 - reported to the parent
            result = {"error": repr(err)}
        os.write(write_fd, json.dumps(result).encode())
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        result = json.loads(pipe.read() or '{"error": "child wrote nothing"}')
    os.waitpid(pid, 0)
    if "error" in result:
        pytest.fail(f"child failed: {result['error']}")
    return result["value"]


def test_child_builds_its_own_pool_and_the_parent_keeps_its_sessions(server, configure_pool):
    alias = server.alias
    configure_pool(alias, pool_size=2, max_overflow=0)
    pooled = hold_at_once(alias, 2)  # two idle in the pool
    held = session_id(alias)  # and this thread holds one of them across the fork

    def child():
        # Everything that could close an inherited socket, on purpose:
        gc.collect()
        django_pool.dispose()
        mine = session_id(alias)
        connections[alias].close()
        django_pool.dispose()
        gc.collect()
        return mine

    child_session = in_child(child)
    assert child_session not in pooled

    # The parent's sessions are alive and still serve it, without errors.
    assert pooled <= server.session_ids()
    assert session_id(alias) == held
    other = run_threads(1, lambda i: session_id(alias))[0]
    assert other in pooled - {held}
    stats = django_pool.get_stats(alias)[alias]
    assert stats["connections_num"] == 2 and stats.get("invalidations_num", 0) == 0


def test_sqlite_child_after_fork(configure_pool):
    configure_pool("default", pool_size=2)
    session_id("default")
    assert in_child(lambda: session_id("default") != 0)
    assert django_pool.get_stats("default")["default"]["connections_num"] == 1


@pytest.mark.parametrize("server_vendor", ["mysql"], indirect=True)
def test_a_child_closing_inherited_pymysql_connections_ends_no_parent_session(server):
    # PyMySQL's connections have no fileno(): forksafe.py cannot point the
    # child's copy of their socket at /dev/null, and whatever the child sends
    # (a ROLLBACK, a QUIT) reaches the parent's session. So a child that
    # closes an inherited manage() connection (the end of a `with` block)
    # gives it to a forgotten pool, which neither cleans nor closes it, nor
    # closes the connections of the parent's other threads, which it sees
    # as ended in the child (it did, once thread ends were counted).
    pymysql = pytest.importorskip("pymysql")
    s = connections[server.alias].settings_dict
    kwargs = {
        "host": s["HOST"],
        "port": int(s["PORT"]),
        "user": s["USER"],
        "password": s["PASSWORD"],
        "database": s["NAME"],
    }
    pooled = django_pool.manage(pymysql, pool_size=2, max_overflow=0, timeout=5)
    holding, forked, answers = threading.Event(), threading.Event(), []

    def other_thread():
        connection = pooled.connect(**kwargs)
        holding.set()
        forked.wait(30)
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        answers.append(cursor.fetchone()[0])
        connection.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    try:
        assert holding.wait(30)
        mine = pooled.connect(**kwargs)

        def child():
            mine.close()
            gc.collect()

        in_child(child)
        cursor = mine.cursor()  # a QUIT from the child would have ended this session
        cursor.execute("SELECT 2")
        assert cursor.fetchone()[0] == 2
        mine.close()
    finally:
        forked.set()
        join(thread)
        pooled.dispose()
    assert answers == [1]
