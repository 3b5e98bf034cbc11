"""A server that accepts the connection and never answers: ``timeout`` still bounds the checkout.

A hung server, a half-open network path, a load balancer whose backend is
gone: the TCP connection is accepted, the driver waits for the server's first
bytes, and without a connect timeout of its own it waits for ever (libpq's
keepalives start after two hours of silence). The pool passes each attempt
the time left before the checkout's deadline, unless the project set its own.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
from django.db import OperationalError, connections
from django.db.utils import load_backend

import django_pool
from tests.helpers import run_threads

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def silent_port():
    """Return the port of a listener that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])  # never read, never answered
            except OSError:  # closed: the test is over
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for peer in accepted:  # lets a client still stuck (the bug) go
        peer.close()


def test_the_pool_timeout_bounds_a_connect_to_a_silent_server(server_vendor, silent_port):
    if connections[server_vendor].pool_driver.name == "pymysql":
        pytest.skip(
            "PyMySQL's connect_timeout bounds the TCP connect only; its wait for the "
            "server's greeting is read_timeout's, which would bound every query too (docs)"
        )
    settings = {
        **connections.settings[server_vendor],
        "HOST": "127.0.0.1",
        "PORT": str(silent_port),
        "OPTIONS": {},
        "POOL": {"timeout": 1},
    }
    outcome: dict[str, object] = {}

    def checkout() -> None:
        wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias="silent")
        try:
            wrapper.ensure_connection()
        except OperationalError as err:
            outcome["error"] = str(err)

    thread = threading.Thread(target=checkout, daemon=True)
    started = time.monotonic()
    thread.start()
    # One attempt of at least 2 s (libpq's shortest connect_timeout), then the
    # deadline has passed: a generous bound, and it was never reached before.
    thread.join(15)
    try:
        assert not thread.is_alive(), (
            f"a checkout with timeout 1 s still waits after {time.monotonic() - started:.0f} s"
        )
        assert "gave up after 1 attempt within" in str(outcome["error"]), outcome
        assert "['POOL']['timeout'] = 1 s" in str(outcome["error"])
    finally:
        django_pool.dispose("silent")


def test_a_connect_timeout_the_project_set_is_kept(server_vendor):
    driver = connections[server_vendor].pool_driver
    own = {"host": "db", "connect_timeout": 30}
    assert driver.with_connect_timeout(own, 1.2) is own
    bounded = driver.with_connect_timeout({"host": "db"}, 2.5)
    assert bounded == {"host": "db", "connect_timeout": 3}
    # libpq reads 1 as 2; MySQL clients take 1.
    shortest = 2 if connections[server_vendor].vendor == "postgresql" else 1
    assert driver.with_connect_timeout({"host": "db"}, 0.01)["connect_timeout"] == shortest


@pytest.mark.parametrize("vendor", ["postgresql"], indirect=True)
def test_libpq_timeouts_the_project_set_and_several_hosts(vendor, monkeypatch, tmp_path):
    driver = connections[vendor].pool_driver
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    monkeypatch.delenv("PGSERVICE", raising=False)
    # A service's section in a service file may set it: kept; else it is set.
    services = tmp_path / "pg_service.conf"
    services.write_text("[slow]\nconnect_timeout=60\n[plain]\nhost=db\n")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    slow = {"service": "slow"}
    assert driver.with_connect_timeout(slow, 9) is slow
    assert driver.with_connect_timeout({"service": "plain"}, 9)["connect_timeout"] == 9
    monkeypatch.setenv("PGSERVICE", "slow")  # the environment names the service
    params = {"host": "db"}
    assert driver.with_connect_timeout(params, 9) is params
    monkeypatch.setenv("PGSERVICE", "plain")
    assert driver.with_connect_timeout({"host": "db"}, 9)["connect_timeout"] == 9
    with monkeypatch.context() as patched:
        patched.setenv("PGCONNECT_TIMEOUT", "5")
        assert driver.with_connect_timeout(params, 9) is params
    monkeypatch.delenv("PGSERVICE")
    # libpq gives each host the whole connect_timeout, in turn: three hosts
    # share the time left (each 2 s at least).
    assert driver.with_connect_timeout({"host": "a,b,c"}, 9)["connect_timeout"] == 3
    assert driver.with_connect_timeout({"host": "a,b,c"}, 3)["connect_timeout"] == 2


@pytest.mark.parametrize("vendor", ["mysql"], indirect=True)
def test_mysql_timeouts_the_project_set(vendor, tmp_path):
    driver = connections[vendor].pool_driver
    option_file = tmp_path / "my.cnf"
    option_file.write_text("[client]\nconnect-timeout = 4\n")
    params = {"host": "db", "read_default_file": str(option_file)}
    assert driver.with_connect_timeout(params, 30) is params
    # PyMySQL keeps its own 10 s at most: a long timeout is several attempts.
    longest = 10 if driver.name == "pymysql" else 30
    assert driver.with_connect_timeout({"host": "db"}, 30)["connect_timeout"] == longest


def test_the_exhausted_warning_tells_connections_being_opened(server_vendor, silent_port, caplog):
    # "pool exhausted: 1 in use" during an outage read as a pool too small,
    # when the one place was a connect waiting on the server.
    if connections[server_vendor].pool_driver.name == "pymysql":
        pytest.skip("PyMySQL waits for a silent server's greeting without a bound (above)")
    settings = {
        **connections.settings[server_vendor],
        "HOST": "127.0.0.1",
        "PORT": str(silent_port),
        "OPTIONS": {},
        "POOL": {"pool_size": 1, "max_overflow": 0, "timeout": 2},
    }
    caplog.set_level(logging.WARNING, logger="django_pool.pool")

    def checkout(i: int) -> None:
        wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias="opening")
        with pytest.raises(OperationalError):  # (the waiter's is a PoolTimeout)
            wrapper.ensure_connection()

    try:
        run_threads(2, checkout)
    finally:
        django_pool.dispose("opening")
    said = [r.getMessage() for r in caplog.records if "pool exhausted" in r.getMessage()]
    assert said and "1 in use (1 of them being opened), 1 waiting" in said[0], said
