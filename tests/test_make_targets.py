"""The Makefile's promises: a lean ``make demo``, a ``make test`` that runs every part.

``make -n`` prints what a target would run without running it; ``make test``
runs here on parts that fail at once, so nothing slow happens.
"""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make(*args, check=False):
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def test_demo_installs_only_what_it_needs(tmp_path):
    # A fresh clone: no virtualenv yet.
    plan = make("-n", "demo", f"VENV={tmp_path / 'venv'}", check=True).stdout
    assert '-e ".[demo]"' in plan
    assert "system-deps.sh" not in plan  # no root, no system packages
    assert "[psycopg,psycopg2,mysqlclient" not in plan and ",test]" not in plan  # no toolchain
    assert "django_pool bench" in plan


def test_make_test_runs_every_part_and_lists_the_failures(tmp_path):
    # A stamp newer than what it depends on: make installs nothing.
    stamp = tmp_path / "installed"
    stamp.touch()
    os.utime(stamp, (2**31, 2**31))
    result = make("test", f"STAMP={stamp}", "TEST_PARTS=no-such-part-1 no-such-part-2")
    assert result.returncode != 0
    assert "=== make no-such-part-1" in result.stdout
    assert "=== make no-such-part-2" in result.stdout  # the first failure did not stop it
    assert "make test: FAILED: no-such-part-1 no-such-part-2" in result.stdout
