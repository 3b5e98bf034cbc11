"""``manage.py check`` reports each settings mistake by its id, never as a traceback.

Each case runs Django's own ``check`` command in a fresh process, on a project
whose models (django.contrib.auth) ask ``connection.ops`` while Django sets
up: a wrapper that raised then turned every mistake into a traceback from
``django.setup()``. The errors of docs/observability.md's table are this list.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.settings import MYSQL, PG

ROOT = Path(__file__).resolve().parents[2]
SERVERS = {"postgresql": PG, "mysql": MYSQL}

CASES = [
    ('"POOL": {"pool_sise": 3}', "django_pool.E003", "Did you mean 'pool_size'?"),
    ('"POOL": {"pool_size": 0}', "django_pool.E003", "['POOL']['pool_size'] is improperly"),
    ('"POOL": {"timeout": "soon"}', "django_pool.E003", "['POOL']['timeout']"),
    ('"POOL": 5', "django_pool.E003", "must be a dict of pool options"),
    ('"POOL": {"release": "transaction"}', "django_pool.E003", "which SQLite does not support"),
    ('"CONN_MAX_AGE": 60', "django_pool.E001", "but with django-pool the pool"),
    ('"OPTIONS": {"pool": True}', "django_pool.E002", "is Django's own connection pool"),
    ('"OPTIONS": {"pool_size": 5}', "django_pool.E003", "Move it up to settings.DATABASES['def"),
    # One level too deep, in any case: the first query failed in the driver.
    ('"OPTIONS": {"POOL_SIZE": 5}', "django_pool.E003", "['OPTIONS'] has 'POOL_SIZE', of the"),
    ('"OPTIONS": {"POOL": {"pool_size": 5}}', "django_pool.E003", "['OPTIONS'] has 'POOL', of"),
    ('"OPTIONS": {"POOL_OPTIONS": {}}', "django_pool.E003", "['OPTIONS'] has 'POOL_OPTIONS', "),
    ('"pool": {"pool_size": 3}', "django_pool.E003", "has the key 'pool', which nothing reads"),
    ('"POOL": {"pool_class": "nope.Pool"}', "django_pool.E003", "No module named 'nope'"),
]


def check(
    tmp_path,
    extra: str,
    engine: str = "django_pool.backends.sqlite3",
    *,
    server=None,
    command=(),
    apps=("django_pool", "django.contrib.auth", "django.contrib.contenttypes"),
):
    """Run ``django check`` (or *command*) on a project whose default database has *extra*.

    *server*: a server's settings (tests/settings.py), for its address.
    *apps*: INSTALLED_APPS.
    """
    where = f'"NAME": "{tmp_path / "db.sqlite3"}"'
    if server is not None:
        engine = server["ENGINE"]
        address = {k: server[k] for k in ("USER", "PASSWORD", "HOST", "PORT")}
        system_db = "postgres" if "postgresql" in engine else "mysql"
        where = f'"NAME": "{system_db}", **{address!r}'
    (tmp_path / "check_settings.py").write_text(
        textwrap.dedent(
            f"""
            SECRET_KEY = "x"
            INSTALLED_APPS = {list(apps)!r}
            DATABASES = {{"default": {{"ENGINE": "{engine}", {where}, {extra}}}}}
            """
        )
    )
    return subprocess.run(
        [sys.executable, "-m", "django", *(command or ["check"])],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "check_settings",
            "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
        },
    )


@pytest.mark.parametrize(("extra", "code", "text"), CASES)
def test_each_mistake_is_a_check_error(tmp_path, extra, code, text):
    result = check(tmp_path, extra)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert f"({code}) settings.DATABASES['default']" in result.stderr
    assert text in result.stderr


@pytest.mark.parametrize(
    "command", [["check", "--database", "default"], ["migrate"]], ids=["check-database", "migrate"]
)
@pytest.mark.parametrize(
    ("extra", "code", "text"),
    [CASES[0], CASES[5], CASES[6], CASES[7]],
    ids=["E003", "E001", "E002-options-pool", "E003-in-options"],
)
def test_checks_that_ask_the_server_wait(tmp_path, server_vendor, command, extra, code, text):
    # Django's checks of models and database ask the backend, and Django's
    # MySQL backend connects to read the server's version: that connection
    # raised the settings error as a traceback, before E001-E003 were shown;
    # and with a misplaced OPTIONS key, the driver's TypeError ("'pool' is an
    # invalid keyword argument") did.
    result = check(tmp_path, extra, server=SERVERS[server_vendor], command=command)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert f"({code}) settings.DATABASES['default']" in result.stderr
    assert text in result.stderr


@pytest.mark.parametrize("command", [["check", "--database", "default"], ["pool_status"]])
@pytest.mark.parametrize(("extra", "code", "text"), CASES[:3] + CASES[5:])  # not SQLite's
def test_a_project_without_models_gets_the_check_error_too(
    tmp_path, server_vendor, command, extra, code, text
):
    # Without models, Django's own database check is what builds the
    # connection; the wrapper raised the settings error there, as a traceback.
    result = check(
        tmp_path, extra, server=SERVERS[server_vendor], command=command, apps=["django_pool"]
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert f"({code}) settings.DATABASES['default']" in result.stderr
    assert text in result.stderr


def test_a_meaningless_legacy_key_is_a_check_warning(tmp_path):
    # It was only a Python warning, pointing inside django-pool: check said nothing.
    result = check(tmp_path, '"POOL_OPTIONS": {"echo": True, "POOL_SIZE": 2}')
    assert result.returncode == 0, result.stderr
    assert "(django_pool.W015) settings.DATABASES['default']['POOL_OPTIONS']['echo'] is " in (
        result.stderr
    )


def test_activation_through_installed_apps_reports_it_too(tmp_path):
    result = check(tmp_path, '"POOL": {"pool_sise": 3}', engine="django.db.backends.sqlite3")
    assert "Traceback" not in result.stderr, result.stderr
    assert "(django_pool.E003)" in result.stderr


@pytest.mark.parametrize("engine", ["mydb.pgx", "django.db.backends.postgresq"])
def test_activation_names_a_misspelled_engine_as_written(tmp_path, engine):
    # Activation had rewritten it to django_pool.backends.pooled.<ENGINE>,
    # and Django's error named that: a name the user never wrote.
    result = check(tmp_path, "", engine=engine)
    assert result.returncode == 1
    assert f"settings.DATABASES['default']['ENGINE'] is '{engine}', which cannot be imported" in (
        result.stderr
    )


def test_a_valid_pool_passes(tmp_path):
    result = check(tmp_path, '"POOL": {"pool_size": 3}')
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def first_connection(tmp_path):
    """Open the default database's first connection, with the settings check() wrote."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.db import connection; "
            "connection.ensure_connection()",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "check_settings",
            "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
        },
    )


def test_pool_false_follows_djangos_rules(tmp_path):
    # Not pooled: CONN_MAX_AGE (persistent connections) is Django's business.
    result = check(tmp_path, '"POOL": False, "CONN_MAX_AGE": 60')
    assert result.returncode == 0, result.stderr
    assert first_connection(tmp_path).returncode == 0


def test_the_first_connection_still_refuses_a_bad_pool(tmp_path):
    check(tmp_path, '"POOL": {"pool_sise": 3}')  # writes the settings
    result = first_connection(tmp_path)
    assert result.returncode == 1
    assert "ImproperlyConfigured: settings.DATABASES['default']['POOL'] has an unknown" in (
        result.stderr
    )


def test_pool_status_reports_a_bad_pool_like_check(tmp_path):
    result = check(tmp_path, '"POOL": {"pool_sise": 3}', command=["pool_status"])
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "(django_pool.E003) settings.DATABASES['default']['POOL'] has an unknown" in (
        result.stderr
    )


def test_pool_status_probe_is_the_processs_first_connection(tmp_path, server_vendor):
    # Django's checks (on Django 6, of every database) used to open a pooled
    # connection first: the probe then timed a checkout of it, and the report
    # showed the command's own process as an application's.
    result = check(
        tmp_path, '"POOL": {"pool_size": 2}', server=SERVERS[server_vendor], command=["pool_status"]
    )
    assert result.returncode == 0, result.stderr
    assert "probe     checkout and first query" in result.stdout
    assert "this process" not in result.stdout


def test_pool_status_watch_says_which_sessions_are_its_own(tmp_path, server_vendor):
    # From the second pass on, the first pass's probe connection (idle in
    # this process's pool) was listed as another application's session.
    result = check(
        tmp_path,
        '"POOL": {"pool_size": 2}',
        server=SERVERS[server_vendor],
        command=["pool_status", "--watch", "0.01", "--count", "2"],
    )
    assert result.returncode == 0, result.stderr
    first, second = [line for line in result.stdout.splitlines() if "  server  " in line]
    assert "this process's pool" not in first
    assert "1 of them this process's pool" in second


def test_pool_status_takes_skip_checks_as_before(tmp_path):
    # Django gives --skip-checks to commands that run the checks: scripts pass it.
    result = check(tmp_path, '"POOL": {"pool_size": 2}', command=["pool_status", "--skip-checks"])
    assert result.returncode == 0, result.stderr
    assert "probe     checkout and first query" in result.stdout


def test_pool_status_with_skip_checks_still_names_a_bad_pool(tmp_path):
    result = check(tmp_path, '"POOL": {"pool_sise": 3}', command=["pool_status", "--skip-checks"])
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "['POOL'] has an unknown option 'pool_sise'" in result.stderr


@pytest.mark.parametrize("server_vendor", ["postgresql"], indirect=True)
def test_check_database_reports_an_unreachable_server_after_one_attempt(tmp_path, server_vendor):
    # The server check connected through the pool, which tries again until
    # its timeout (30 s by default), then said nothing: "no issues" for a
    # server it never reached, and migrate waited twice as long.
    result = check(
        tmp_path,
        f'"PORT": "{unused_port()}"',
        server=SERVERS[server_vendor],
        command=["check", "--database", "default"],
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "(django_pool.W005) Database 'default': could not connect" in result.stderr
    assert "trying again" not in result.stderr  # one attempt, not the pool's retries
    assert "System check identified no issues" not in result.stdout


def unused_port() -> int:
    """Return a local TCP port nobody listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_pool_status_reports_an_unreachable_server_after_one_attempt(tmp_path, server_vendor):
    # Its probe went through the pool, which tries again for its timeout:
    # the report waited 30 s (each --watch refresh too) to say "down".
    result = check(
        tmp_path,
        f'"PORT": "{unused_port()}", "POOL": {{"timeout": 60}}',
        server=SERVERS[server_vendor],
        command=["pool_status"],
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "cannot connect to 'default'" in result.stderr
    assert "trying again" not in result.stdout + result.stderr  # not the pool's retries


@pytest.mark.parametrize("server_vendor", ["postgresql", "mysql"], indirect=True)
def test_the_test_runner_refuses_the_settings_before_creating_a_database(
    tmp_path, server_vendor, server
):
    # The most likely mistake when a team switches: CONN_MAX_AGE left at 60.
    # The test database was created, the first connection to it raised, and
    # it was left behind (the next run stopped at "Type 'yes' ...").
    name = f"dp_runner_{os.getpid()}"
    (tmp_path / "test_one.py").write_text(
        "from django.test import TestCase\n\n\n"
        "class One(TestCase):\n"
        "    def test_nothing(self):\n"
        "        pass\n"
    )
    try:
        result = check(
            tmp_path,
            f'"NAME": "{name}", "CONN_MAX_AGE": 60',
            server=SERVERS[server_vendor],
            command=["test", "test_one", "--noinput"],
        )
        assert result.returncode != 0
        assert "settings.DATABASES['default']['CONN_MAX_AGE'] is 60" in result.stderr
        # What check prints, not a traceback through the test runner.
        assert "Traceback" not in result.stderr, result.stderr
        assert "(django_pool.E001) settings.DATABASES['default']" in result.stderr
        assert server.database_exists(f"test_{name}") is False
    finally:
        server.drop_database(f"test_{name}")
