"""The database goes down under 16 threads of traffic and comes back.

Down: a request that needs a new connection tries again until the pool's
``timeout`` (1 s here), then fails with OperationalError naming the last
connection error; never later. Back: requests succeed again without
restarting the process, and no dead connection is served twice.
"""

import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
from django.db import OperationalError, connections

import django_pool
from tests.conftest import _require

from .disposable import DisposablePostgres

ALIAS = "disposable"
THREADS = 16


@pytest.fixture
def server(django_db_blocker):
    _require("postgresql")  # the tools come with the server this suite uses
    # Not pytest's tmp_path: the server runs as the postgres user, who
    # cannot enter root's private pytest directory.
    directory = Path(tempfile.mkdtemp(prefix="django_pool_pg_"))
    try:
        pg = DisposablePostgres(directory)
    except RuntimeError as err:
        pytest.skip(str(err))
    pg.start()
    # configure_settings() fills in Django's defaults; it insists on a default alias.
    configured = connections.configure_settings({"default": {}, ALIAS: pg.settings()})
    connections.settings[ALIAS] = configured[ALIAS]
    with django_db_blocker.unblock():
        yield pg
    for connection in connections.all(initialized_only=True):
        if connection.alias == ALIAS:
            connection.close()
    del connections.settings[ALIAS]
    django_pool.dispose(ALIAS)
    pg.stop()
    shutil.rmtree(directory, ignore_errors=True)


class Traffic:
    """THREADS threads sending one-query requests until stopped; every outcome recorded."""

    def __init__(self):
        self.outcomes = []  # (finished at, ok, backend pid or error, seconds taken)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _ in range(THREADS)]

    def run(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                with connections[ALIAS].cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    outcome = (True, cursor.fetchone()[0])
            except OperationalError as err:
                outcome = (False, str(err))
            finally:
                connections[ALIAS].close()  # the end of the request
            now = time.monotonic()
            with self.lock:
                self.outcomes.append((now, *outcome, now - started))

    def since(self, moment):
        with self.lock:
            return [o for o in self.outcomes if o[0] > moment]

    def wait_for(self, condition, what, timeout=30):
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.01)


@pytest.mark.parametrize("pre_ping", [False, True])
def test_database_down_and_back(server, pre_ping):
    settings_dict = connections.settings[ALIAS]
    settings_dict["POOL"] = {
        "pool_size": 4,
        "max_overflow": 4,
        "timeout": 1,
        "pre_ping": pre_ping,
        "pre_ping_idle": 0,
    }
    traffic = Traffic()
    for thread in traffic.threads:
        thread.start()
    try:
        begin = time.monotonic()
        traffic.wait_for(lambda: sum(o[1] for o in traffic.since(begin)) >= 200, "traffic")
        before = {o[2] for o in traffic.since(begin) if o[1]}

        server.stop()
        down = time.monotonic()
        traffic.wait_for(
            lambda: len([o for o in traffic.since(down) if not o[1]]) >= 2 * THREADS,
            "failures while down",
        )
        server.start()
        up = time.monotonic()
        traffic.wait_for(lambda: sum(o[1] for o in traffic.since(up)) >= 300, "recovery")
    finally:
        traffic.stopping.set()
        for thread in traffic.threads:
            thread.join()

    while_down = [o for o in traffic.outcomes if down < o[0] <= up]
    # Requests that started once the server was back (o = end, ok, pid, duration):
    # one in flight across the restart may fail, as with any pool or none.
    after = [o for o in traffic.outcomes if o[0] - o[3] > up]
    # Down: a request waits for the server up to the timeout (1 s), never longer;
    # one that began after the stop gave up trying, naming the last error.
    assert max(o[3] for o in while_down if not o[1]) < 1.0 + 1.0
    refused = [o for o in while_down if not o[1] and "cannot open a connection" in o[2]]
    assert refused
    assert all("gave up after" in o[2] for o in refused)
    # Back: each dead connection fails at most one request (4 + 4 at most),
    # with pre-ping none does; then every request succeeds.
    failures_after = [o for o in after if not o[1]]
    assert len(failures_after) <= (0 if pre_ping else 8)
    last_failure = max((o[0] for o in failures_after), default=up)
    assert all(o[1] for o in after if o[0] > last_failure)
    # No session from before the restart served anything after it.
    assert not {o[2] for o in after if o[1]} & before
    stats = django_pool.get_stats(ALIAS)[ALIAS]
    assert stats["open"] <= 8
