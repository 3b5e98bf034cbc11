"""A forked child that exits normally leaves its parent's sessions alive (every driver).

gunicorn workers after ``--max-requests`` and Celery children after
``--max-tasks-per-child`` leave through ``sys.exit()``, which frees every
object the child inherited. mysqlclient sends ``COM_QUIT`` when a connection
object is freed: without django_pool.forksafe the child ended the parent's
sessions (both the one checked out across the fork and the one idle in the
pool).
"""

import json
import subprocess
import sys

import pytest

from tests.deployment.processes import DRIVERS, ROOT, project_env

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.mark.parametrize("which", [0, 1], ids=["first-driver", "alt-driver"])
def test_child_exit_leaves_the_parents_sessions(server, which):
    driver = DRIVERS[server.alias][which]
    env = project_env(server.alias, driver, pool_size=2, max_overflow=0)
    parent = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.fork_exit_child"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = parent.stdout.readline()
        if not line:
            pytest.fail(f"{driver}: the parent process failed: {parent.stderr.read()[-2000:]}")
        report = json.loads(line)
        assert report["child_status"] == 0
        sessions = set(report["sessions"])
        assert len(sessions) == 2
        assert sessions <= server.session_ids(), f"{driver}: the child ended its parent's sessions"
    finally:
        parent.communicate("\n", timeout=30)
    assert parent.returncode == 0
