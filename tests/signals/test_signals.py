"""django_pool.signals on every vendor, through real requests and real server faults."""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import DatabaseError, connections
from django.test import override_settings

from django_pool import registry, signals
from django_pool.bench.overhead import measure_signal_cost
from tests.helpers import Server, session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

SIGNALS = ("connection_opened", "connection_checked_out", "connection_checked_in")
SIGNALS += ("connection_discarded",)


@dataclass
class Event:
    name: str
    sender: Any
    connection: Any
    thread: int
    at: float
    extra: dict[str, Any]


class Recorder:
    """Every signal for one alias, in order, with the thread that sent it."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, signal, sender, alias, connection, **extra) -> None:
        if alias != self.alias:  # other aliases' pools, other tests' threads
            return
        name = next(n for n in SIGNALS if getattr(signals, n) is signal)
        event = Event(name, sender, connection, threading.get_ident(), time.monotonic(), extra)
        with self._lock:
            self.events.append(event)

    def named(self, name: str) -> list[Event]:
        return [e for e in list(self.events) if e.name == name]

    def wait_for(self, name: str, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.named(name)) < count:
            assert time.monotonic() < deadline, f"{count} {name} not seen: {self.events}"
            time.sleep(0.01)


@pytest.fixture
def recorder(request):
    name = "server_vendor" if "server_vendor" in request.fixturenames else "vendor"
    alias = request.getfixturevalue(name)
    recording = Recorder(alias)
    for name in SIGNALS:
        getattr(signals, name).connect(recording, weak=False)
    yield recording
    for name in SIGNALS:
        getattr(signals, name).disconnect(recording)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture
def wsgi_server():
    """Django's WSGI handler behind the stdlib's single-threaded server: one thread serves all."""
    with override_settings(ROOT_URLCONF="tests.signals.urls"):
        server: WSGIServer = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, name="wsgi", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", thread
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def test_three_requests_open_once_and_check_out_and_in_three_times(
    vendor, configure_pool, recorder, wsgi_server
):
    configure_pool(vendor, pool_size=2, max_overflow=0)
    url, thread = wsgi_server
    for _ in range(3):
        assert b"<p>1</p>" in get(f"{url}/query/{vendor}/")
    # Django returns the connection at request_finished, after the body is sent.
    recorder.wait_for("connection_checked_in", 3)

    names = [e.name for e in recorder.events]
    assert names == ["connection_opened"] + ["connection_checked_out", "connection_checked_in"] * 3
    assert {e.thread for e in recorder.events} == {thread.ident}
    [pool] = registry.pools(vendor)
    assert all(e.sender is pool for e in recorder.events)
    opened = recorder.named("connection_opened")[0].connection
    assert all(e.connection is opened for e in recorder.events)
    waits = [e.extra["waited"] for e in recorder.named("connection_checked_out")]
    holds = [e.extra["held"] for e in recorder.named("connection_checked_in")]
    assert all(w >= 0 for w in waits) and all(h > 0 for h in holds)
    stats = pool.status()
    assert stats["checkouts_num"] == 3 and stats["connections_num"] == 1


SETUP = {
    "postgresql": ("SET application_name = 'django-pool-setup'", "SHOW application_name"),
    "mysql": ("SET @django_pool_setup = 'django-pool-setup'", "SELECT @django_pool_setup"),
    "sqlite": ("PRAGMA cache_size = -4321", "PRAGMA cache_size"),
}
EXPECTED = {"postgresql": "django-pool-setup", "mysql": "django-pool-setup", "sqlite": -4321}


def test_connection_opened_is_the_place_for_per_connection_setup(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0)
    db_vendor = connections[vendor].vendor
    statement, read_back = SETUP[db_vendor]
    ran = []

    def set_up(sender, alias, connection, **kwargs):
        if alias != vendor:
            return
        cursor = connection.cursor()
        cursor.execute(statement)
        cursor.close()
        connection.commit()  # leave no transaction open for Django's own setup
        ran.append(connection)

    signals.connection_opened.connect(set_up, weak=False)
    try:
        seen = []
        for _ in range(3):
            with connections[vendor].cursor() as cursor:
                cursor.execute(read_back)
                seen.append(cursor.fetchone()[0])
            connections[vendor].close()
    finally:
        signals.connection_opened.disconnect(set_up)
    assert len(ran) == 1
    assert seen == [EXPECTED[db_vendor]] * 3


def test_a_recycled_connection_is_discarded_as_recycled(vendor, configure_pool, recorder):
    configure_pool(vendor, recycle=0.05, recycle_jitter=0)
    session_id(vendor)
    opened = recorder.named("connection_opened")[0]
    # Past its recycle time: a fact of the clock, not a race.
    while time.monotonic() < opened.at + 0.05:
        time.sleep(0.01)
    connections[vendor].close()

    names = [e.name for e in recorder.events]
    assert names == [
        "connection_opened",
        "connection_checked_out",
        "connection_discarded",
        "connection_checked_in",
    ]
    discarded = recorder.named("connection_discarded")[0]
    assert discarded.extra == {"reason": "recycled"}
    assert discarded.connection is opened.connection
    assert recorder.named("connection_checked_in")[0].connection is None  # gone, not pooled


def _kill(alias: str) -> None:
    """Kill the calling thread's connection to *alias* from outside Django."""
    if connections[alias].vendor == "sqlite":
        connections[alias].connection.close()  # no server: closing it is the kill
        return
    witness = Server(alias)
    try:
        witness.kill_all()
    finally:
        witness.close()


def test_a_killed_connection_is_discarded_as_disconnect(vendor, configure_pool, recorder):
    configure_pool(vendor, pre_ping=False)
    session_id(vendor)
    _kill(vendor)
    with pytest.raises(DatabaseError):
        session_id(vendor)
    connections[vendor].close()

    [discarded] = recorder.named("connection_discarded")
    assert discarded.extra == {"reason": "disconnect"}
    assert discarded.connection is recorder.named("connection_opened")[0].connection
    assert len(recorder.named("connection_checked_in")) == 1


def test_a_connection_killed_while_idle_fails_its_pre_ping(server_vendor, configure_pool, recorder):
    vendor = server_vendor  # SQLite has no server to kill an idle connection
    configure_pool(vendor, pool_size=1, max_overflow=0, pre_ping=True, pre_ping_idle=0)
    session_id(vendor)
    connections[vendor].close()
    _kill(vendor)
    session_id(vendor)  # succeeds, on a new connection
    connections[vendor].close()

    names = [e.name for e in recorder.events]
    assert names == [
        "connection_opened",
        "connection_checked_out",
        "connection_checked_in",
        "connection_discarded",  # at the second checkout, before it is lent
        "connection_opened",
        "connection_checked_out",
        "connection_checked_in",
    ]
    # The socket, readable while idle, said the server hung up; the ping confirmed.
    assert recorder.named("connection_discarded")[0].extra == {"reason": "dropped by the server"}


def test_a_failing_setup_fails_the_checkout_and_closes_the_connection(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0)
    made = []

    def broken(sender, alias, connection, **kwargs):
        if alias == vendor:
            made.append(connection)
            raise RuntimeError("setup failed")

    signals.connection_opened.connect(broken, weak=False)
    try:
        with pytest.raises(RuntimeError, match="setup failed"):
            session_id(vendor)
    finally:
        signals.connection_opened.disconnect(broken)
    connections[vendor].close()
    [raw] = made
    assert connections[vendor].pool_driver.is_closed(raw)
    # The pool's one place was given back: the next checkout gets a connection.
    session_id(vendor)
    [pool] = registry.pools(vendor)
    assert pool.status()["in_use"] == 1 and pool.status()["open"] == 1


def test_a_failing_tracer_is_logged_and_the_pool_carries_on(vendor, configure_pool, caplog):
    configure_pool(vendor, pool_size=1, max_overflow=0)

    def broken(sender, alias, **kwargs):
        if alias == vendor:
            raise ValueError("tracer bug")

    signals.connection_checked_out.connect(broken, weak=False)
    signals.connection_checked_in.connect(broken, weak=False)
    try:
        with caplog.at_level(logging.ERROR, logger="django_pool.signals"):
            for _ in range(3):
                session_id(vendor)
                connections[vendor].close()
    finally:
        signals.connection_checked_out.disconnect(broken)
        signals.connection_checked_in.disconnect(broken)
    assert len([r for r in caplog.records if "raised ValueError" in r.getMessage()]) == 6
    [pool] = registry.pools(vendor)
    assert pool.status()["checkins_num"] == 3 and pool.status()["in_use"] == 0


def test_no_receiver_means_no_send():
    # The pool tests ``<signal>.receivers`` before sending: nothing in
    # django-pool connects one, so by default every send is skipped.
    for name in SIGNALS:
        assert not getattr(signals, name).receivers, name


def test_with_no_receiver_the_pool_runs_a_handful_of_instructions_more():
    cost = measure_signal_cost(rounds=3, n=200)
    # Two guards of four instructions (load, two attributes, jump; Python
    # 3.13 adds a TO_BOOL) per cycle; a function call in their place would
    # show here.
    assert cost["guard_opcodes"] <= 10
    # A parked connection's checkout+checkin is about 490 (3.13) to 520 opcodes:
    # the guards are about 2 % of it.
    assert cost["guard_opcodes"] / cost["cycle_opcodes"] < 0.025
    assert cost["no_receiver_us"] > 0 and cost["noop_receiver_us"] > 0
