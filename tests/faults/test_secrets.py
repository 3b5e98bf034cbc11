"""No password reaches a log line, an exception message, the stats or a repr."""

import logging

import pytest
from django.db import OperationalError, connections
from django.db.utils import load_backend

import django_pool
from tests.conftest import _require
from tests.helpers import Server, run_threads, session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

PASSWORD = "pg-s3cret-never-logged"


class Everything(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture
def every_log_line():
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    names = ("sqlalchemy", "sqlalchemy.pool", "django_pool", "django.db")
    old_levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(old_level)
    for name, level in old_levels.items():  # DEBUG left on would log every later checkout
        logging.getLogger(name).setLevel(level)


def test_password_never_appears(configure_pool, every_log_line):
    # On PostgreSQL: its settings carry a password (trust auth ignores it).
    _require("postgresql")
    alias = "postgresql"
    server = Server(alias)
    assert connections.settings[alias]["PASSWORD"] == PASSWORD
    configure_pool(alias, pool_size=1, max_overflow=0, timeout=0.1, pre_ping=True, pre_ping_idle=0)
    seen = []

    session_id(alias)
    seen.append(run_threads(1, lambda i: _timeout_message(alias))[0])  # PoolTimeout
    connections[alias].close()
    server.kill_all()
    session_id(alias)  # pre-ping replaces the dead one
    seen += [repr(django_pool.get_stats()), repr(connections[alias])]
    seen += [repr(pool.__dict__) for pool in django_pool.registry.pools()]

    unreachable = {**connections.settings[alias], "PORT": "1", "POOL": {"timeout": 0.2}}
    wrapper = load_backend(unreachable["ENGINE"]).DatabaseWrapper(unreachable, alias="down")
    with pytest.raises(OperationalError) as info:
        wrapper.ensure_connection()
    seen.append(str(info.value))

    server.close()
    assert every_log_line, "DEBUG logging produced nothing: the test would prove nothing"
    for text in [*every_log_line, *seen]:
        assert PASSWORD not in text


def _timeout_message(alias):
    try:
        session_id(alias)
    except django_pool.PoolTimeout as err:
        return str(err)
    raise AssertionError("expected PoolTimeout")


def test_an_error_report_of_a_failed_connect_shows_no_password(configure_pool):
    # What ADMINS' emails and a production 500 page show (Django's
    # ExceptionReporter with DEBUG off): every frame's local variables. The
    # stock backend's get_new_connection(conn_params) and the driver's frames
    # hold the password; opened by the pool, they are filtered.
    import sys

    from django.views.debug import ExceptionReporter

    _require("postgresql")
    assert connections.settings["postgresql"]["PASSWORD"] == PASSWORD
    try:
        _connect_to_a_closed_port()
    except OperationalError:
        report = ExceptionReporter(None, *sys.exc_info()).get_traceback_html()
    else:
        raise AssertionError("expected OperationalError")
    assert "get_new_connection" in report  # the frames that held it are in the report
    assert PASSWORD not in report


def _connect_to_a_closed_port():
    # The settings stay out of this frame: a report shows every frame's locals.
    wrapper = load_backend(connections.settings["postgresql"]["ENGINE"]).DatabaseWrapper(
        {**connections.settings["postgresql"], "POOL": {"timeout": 0.1}}, alias="down"
    )
    wrapper.ensure_connection()  # a pool is built, and the wrapper keeps it at hand
    wrapper.close()
    wrapper.settings_dict["PORT"] = "1"  # the server moved: a new pool for the new address
    try:
        wrapper.ensure_connection()
    finally:
        django_pool.dispose("down")
