"""Prometheus with several processes: what works (docs/observability.md#prometheus).

Each worker process has its own pools. prometheus_client's multiprocess mode
aggregates only the metric objects it writes to files, and runs no custom
collector, so DjangoPoolCollector's metrics are absent there. What works: each
process serves its own metrics (its own port), and Prometheus sums them.
"""

import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent(
    """
    import os, sys
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={"default": {"ENGINE": "django_pool.backends.sqlite3", "NAME": sys.argv[1]}},
        INSTALLED_APPS=[],
    )
    django.setup()
    from django.db import connection
    from prometheus_client import REGISTRY, start_http_server
    from django_pool.contrib.prometheus import register

    for _ in range(int(sys.argv[2])):
        connection.ensure_connection()
        connection.close()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # multiprocess mode: the exposition is built from the files alone
        from prometheus_client import CollectorRegistry, Counter, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        Counter("app_requests", "An ordinary metric, for comparison.").inc(int(sys.argv[2]))
        register()  # our collector, in this process's default registry
        aggregated = CollectorRegistry()
        MultiProcessCollector(aggregated)
        print(generate_latest(aggregated).decode(), flush=True)
        sys.exit(0)
    register()
    server, _ = start_http_server(0, addr="127.0.0.1", registry=REGISTRY)
    print(server.server_port, flush=True)
    sys.stdin.read()  # serve until the test closes stdin
    """
)


def _checkouts(text: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "django_pool_checkouts_total"
    )


def test_each_process_serves_its_own_metrics_and_they_add_up(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path / "db.sqlite3"), str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in (3, 5)
    ]
    try:
        ports = [int(w.stdout.readline()) for w in workers]
        scraped = [
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
            for port in ports
        ]
    finally:
        for w in workers:
            w.stdin.close()
            w.wait(timeout=30)
    assert [_checkouts(text) for text in scraped] == [3, 5]
    assert sum(_checkouts(text) for text in scraped) == 8  # what sum() in PromQL gives


def test_multiprocess_mode_leaves_our_collector_out(tmp_path):
    directory = tmp_path / "multiproc"
    directory.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(tmp_path / "db.sqlite3"), "4"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "app_requests_total 4.0" in result.stdout  # file-backed metrics are aggregated
    assert "django_pool_" not in result.stdout  # a custom collector is not
