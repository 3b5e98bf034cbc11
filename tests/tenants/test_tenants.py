"""django-tenants, pooled by activation: no tenant's search_path reaches another's request.

tests/tenants/run.py (its own process: django-tenants' settings are global)
creates two tenants with a note each in their own schema, then serves
requests for both through Django's WSGI handler on a pool of ONE connection:
alternating, then from four threads, with POOL release "request" and
"transaction", with django-tenants' TENANT_LIMIT_SET_CALLS off and on. Every
request must read its own tenant's note, with its own schema first in the
search_path, while the server saw a single session.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import _require

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report():
    _require("postgresql")
    result = subprocess.run(
        [sys.executable, "tests/tenants/run.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.tenants.settings",
            "DJANGO_POOL_TENANTS_DB": f"dp_tenants_{os.getpid()}",
            "PYTHONPATH": str(ROOT),
        },
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_django_tenants_backend_is_pooled_by_activation(report):
    assert report["engine"] == "django_pool.backends.pooled.django_tenants.postgresql_backend"


@pytest.mark.parametrize("release", ["request", "transaction"])
@pytest.mark.parametrize("limit_set_calls", [False, True])
def test_no_search_path_crosses_tenants(report, release, limit_set_calls):
    scenario = report["scenarios"][f"{release}/limit={limit_set_calls}"]
    assert scenario["requests"] == 40
    assert scenario["wrong"] == []
    assert scenario["tenants"] == ["t1", "t2"]
    # One physical connection served both tenants, request after request
    # (a tenant switch must not retire the pool: django-tenants writes the
    # schema into settings_dict["SCHEMA"]).
    assert scenario["pids"] == 1
    assert scenario["stats"]["connections_num"] == 1
    assert scenario["stats"]["checkouts_num"] >= 40


def test_forked_child_sets_the_search_path_on_its_new_connection(report):
    # TENANT_LIMIT_SET_CALLS: django-tenants skips the SET while it believes it
    # already made it; after fork the child's wrapper holds a new connection.
    assert report["fork_child_ok"] is True
