"""gunicorn (sync, gthread, gevent workers; --preload; --max-requests) in front of the pool.

Each case starts the real gunicorn on a free port with 2 workers, sends 240
requests 24 at a time to a view that writes and reads through the ORM and holds
its connection 10 ms, and watches the database server's own sessions on the
test's database. It checks:

* every request succeeds;
* the server never sees more than workers x (pool_size + max_overflow)
  sessions, plus the master's own with --preload;
* connections go back and are reused: the sessions that existed over the whole
  run are at most that bound per worker process that ever ran;
* with --preload the master's sessions (one checked out by the importing
  thread, one idle in its pool) are never used by a worker, and are still
  alive at the end: no worker closed them, not even a worker that exited
  after --max-requests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from .processes import (
    BIN,
    DRIVERS,
    Process,
    SessionWatch,
    drive,
    free_port,
    project_env,
    wait_for,
    wait_for_http,
)

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__")]

# No overflow: an overflow connection is closed when it comes back, so with
# one the reuse check below could not be exact (tests/deployment/test_uvicorn.py
# has overflow).
POOL = {"pool_size": 3, "max_overflow": 0, "timeout": 20}
PER_PROCESS = POOL["pool_size"] + POOL["max_overflow"]
WORKERS = 2
REQUESTS = 240
CONCURRENCY = 24


@dataclass(frozen=True)
class Case:
    worker_class: str = "sync"
    threads: int = 1
    preload: bool = False
    max_requests: int = 0
    alt_driver: bool = False  # psycopg2 / PyMySQL instead of psycopg 3 / mysqlclient


CASES = {
    "sync": Case(),
    "gthread-8": Case("gthread", threads=8),
    # gevent needs a driver that yields to the hub: psycopg 3 does, PyMySQL does
    # once sockets are patched; mysqlclient blocks the whole worker.
    "gevent": Case("gevent", alt_driver=True),
    "sync-preload": Case(preload=True, alt_driver=True),
    "gthread-preload-max-requests": Case("gthread", threads=8, preload=True, max_requests=40),
}


def driver_for(alias: str, case: Case) -> str:
    first, alt = DRIVERS[alias]
    if case.worker_class == "gevent" and alias == "postgresql":
        return first  # psycopg 3 cooperates with gevent by itself
    return alt if case.alt_driver else first


def start_gunicorn(case: Case, env: dict, tmp_path) -> tuple[Process, str]:
    port = free_port()
    args = [
        str(BIN / "gunicorn"),
        "tests.deployment.project.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={WORKERS}",
        f"--worker-class={case.worker_class}",
        "--log-level=warning",
        "--timeout=60",
        "--graceful-timeout=10",
    ]
    if case.worker_class == "gthread":
        args.append(f"--threads={case.threads}")
    if case.worker_class == "gevent":
        args.append("--worker-connections=100")
    if case.preload:
        args.append("--preload")
    if case.max_requests:
        args += [f"--max-requests={case.max_requests}", "--max-requests-jitter=0"]
    process = Process(args, env, tmp_path / "gunicorn.log")
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/sync/?hold=0", process)
    return process, url


@pytest.mark.parametrize("name", list(CASES))
def test_gunicorn(server, tmp_path, name):
    case = CASES[name]
    env = project_env(server.alias, driver_for(server.alias, case), **POOL)
    master_report = tmp_path / "master.json"
    if case.preload:
        env["DEPLOY_TOUCH_AT_IMPORT"] = str(master_report)

    process, url = start_gunicorn(case, env, tmp_path)
    try:
        master: set[int] = set()
        if case.preload:
            report = json.loads(master_report.read_text())
            assert report["pid"] == process.pid, "the app was not imported in the master"
            master = set(report["sessions"])
            assert len(master) == 2
            assert master <= server.session_ids()

        with SessionWatch(server) as watch:
            responses = drive([f"{url}/sync/"] * REQUESTS, CONCURRENCY)
        failed = [r for r in responses if r.status_code != 200]
        if failed:
            process.fail(f"{len(failed)} of {REQUESTS} requests failed: {failed[0].text[:300]}")
        served = [r.json() for r in responses]
        pids = {s["pid"] for s in served}
        used = {s["session"] for s in served}
        # No socket shared after the fork: every session served one worker only.
        shared = {u for u in used if len({s["pid"] for s in served if s["session"] == u}) > 1}
        assert not shared, f"sessions used by two workers: {shared}"

        assert watch.samples > 10
        assert watch.peak <= WORKERS * PER_PROCESS + len(master), (
            f"server saw {watch.peak} sessions at once"
        )
        assert all(s["open"] <= PER_PROCESS for s in served)
        assert max(s["items"] for s in served) >= REQUESTS  # every write landed
        # Reused, not opened per request: over the whole run, at most the bound
        # per worker process that ever served.
        assert len(used) <= len(pids) * PER_PROCESS
        assert len(watch.seen - master) <= len(pids) * PER_PROCESS
        assert process.pid not in pids
        if case.max_requests:
            assert len(pids) >= REQUESTS // case.max_requests - 1, "workers did not restart"
        else:
            assert len(pids) <= WORKERS
        # The master's sessions: never lent to a worker, still alive after all.
        assert not (used & master)
        assert master <= server.session_ids(), "a worker closed a session of the master"
    finally:
        process.stop()
        print(process.log())  # shown if the test failed
    wait_for(lambda: not server.session_ids(), "sessions to end with gunicorn", 15)
