"""An async Django view under uvicorn: 200 concurrent requests on a pool of 8."""

import asyncio
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from django.core.asgi import get_asgi_application

import django_pool

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def asgi_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        get_asgi_application(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


async def hammer(url, count):
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        return await asyncio.gather(*(client.get(url) for _ in range(count)))


@pytest.mark.parametrize("release", ["request", "transaction"])
def test_200_concurrent_requests_on_a_pool_of_8(server, configure_pool, asgi_server, release):
    alias = server.alias
    configure_pool(alias, pool_size=8, max_overflow=0, timeout=30, release=release)
    seen = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen.append(server.count())
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        responses = asyncio.run(hammer(f"{asgi_server}/count/{alias}/", 200))
    finally:
        stop.set()
        watcher.join()

    assert [r.status_code for r in responses] == [200] * 200
    assert max(seen) <= 8
    stats = django_pool.get_stats(alias)[alias]
    assert stats["connections_num"] <= 8
    assert stats["checkouts_num"] >= 200
    # Nothing leaked once the load stopped: every connection is back.
    assert stats["in_use"] == 0
    assert server.count() <= 8
