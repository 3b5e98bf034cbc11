"""uvicorn with 2 worker processes: a sync view and an async view, both on the ORM.

The in-process ASGI test (tests/asgi) stays; this one starts the real uvicorn
command. Django runs a sync view in a thread of its own per request
(``sync_to_async(thread_sensitive=True)`` inside a per-request context), and
an async view's ORM calls in that same per-request thread: either way, one
pooled connection at most per request in flight, returned when the request
ends. 200 requests, half of each kind, 50 at a time, on pools of 2 + 2
overflow: every one succeeds and the server never sees more than 2 x 4
sessions.
"""

from __future__ import annotations

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

WORKERS = 2
POOL = {"pool_size": 2, "max_overflow": 2, "timeout": 30}
PER_PROCESS = POOL["pool_size"] + POOL["max_overflow"]


@pytest.mark.parametrize("release", ["request", "transaction"])
def test_uvicorn_sync_and_async_views(server, tmp_path, release):
    env = project_env(server.alias, DRIVERS[server.alias][0], release=release, **POOL)
    port = free_port()
    process = Process(
        [
            str(BIN / "uvicorn"),
            "tests.deployment.project.asgi:application",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={WORKERS}",
            "--log-level=warning",
            "--lifespan=off",
        ],
        env,
        tmp_path / "uvicorn.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/sync/?hold=0", process)
        urls = [f"{url}/{kind}/" for kind in ("sync", "async") for _ in range(100)]
        with SessionWatch(server) as watch:
            responses = drive(urls, concurrency=50)
        failed = [r for r in responses if r.status_code != 200]
        if failed:
            process.fail(f"{len(failed)} of 200 requests failed: {failed[0].text[:300]}")
        served = [r.json() for r in responses]
        assert watch.peak <= WORKERS * PER_PROCESS, f"server saw {watch.peak} sessions at once"
        assert all(s["open"] <= PER_PROCESS for s in served)
        assert len({s["pid"] for s in served}) <= WORKERS
        assert max(s["items"] for s in served[:100]) >= 100  # the sync view's writes
        assert max(s["items"] for s in served[100:]) >= 100  # the async view's writes
    finally:
        process.stop()
        print(process.log())  # shown if the test failed
    wait_for(lambda: not server.session_ids(), "sessions to end with uvicorn", 15)
