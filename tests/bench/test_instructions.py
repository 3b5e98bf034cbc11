"""``bench --instructions``: instruction counts per request under callgrind, end to end.

Minutes of valgrind: these run in ``make test-slow`` (DJANGO_POOL_SLOW_TESTS=1),
except the check that a missing valgrind gets a clear message.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from tests.bench.test_bench_command import (
    scratch,  # noqa: F401 - a fixture
    url,  # noqa: F401 - the scratch fixture's URL
)

slow = pytest.mark.skipif(
    not os.environ.get("DJANGO_POOL_SLOW_TESTS"), reason="slow: make test-slow runs it"
)
# Minutes of valgrind per test: the subprocess's own timeout below bounds it.
pytestmark = pytest.mark.timeout(1900)


def instructions(*args, env=None):
    result = subprocess.run(
        [sys.executable, "-m", "django_pool", "bench", "--instructions", "--json", *args],
        capture_output=True,
        text=True,
        timeout=1800,
        env=env or {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    return result


def _require_valgrind():
    if shutil.which("valgrind") is None:
        if os.environ.get("CI"):
            pytest.fail("valgrind is missing (scripts/system-deps.sh installs it)")
        pytest.skip("valgrind is missing (scripts/system-deps.sh installs it)")


def _cg_dirs():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "django_pool_cg_*")))


def test_without_valgrind_it_says_what_to_install(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PATH"] = str(tmp_path)  # no valgrind there
    result = instructions("--sqlite", env=env)
    assert result.returncode == 1
    assert "--instructions needs valgrind: apt-get install valgrind" in result.stderr
    assert "Traceback" not in result.stderr


def check_counts(data, workloads):
    per = data["instructions_per_request"]
    assert set(per) >= {"persistent", "django_pool"}
    for name in workloads:
        floor = per["persistent"][name]
        assert 10_000 < floor < 50_000_000  # a request is thousands to millions of them
        assert data["ratio_to_persistent"]["persistent"][name] == 1.0
        # A pooled checkout does work a kept connection does not.
        assert per["django_pool"][name] > floor
    assert data["requests"] == [5, 15] and data["pythonhashseed"] == 0


@slow
def test_sqlite_counts_and_cleans_up():
    _require_valgrind()
    before = _cg_dirs()
    result = instructions("--sqlite", "--requests", "5,15", "--variants", "django_pool")
    assert result.returncode == 0, result.stderr
    check_counts(json.loads(result.stdout), ["connect", "query"])
    assert _cg_dirs() <= before


@slow
@pytest.mark.parametrize("scratch", ["postgresql", "mysql"], indirect=True)
def test_server_counts(scratch):  # noqa: F811 - the fixture
    _require_valgrind()
    alias, database = scratch
    result = instructions(
        "--database-url",
        url(alias, database),
        "--requests",
        "5,15",
        "--workloads",
        "query",
        "--variants",
        "django_pool",
    )
    assert result.returncode == 0, result.stderr
    check_counts(json.loads(result.stdout), ["query"])
