"""A real Celery worker (prefork, threads, gevent) running 1,000 ORM tasks on the pool.

The worker runs the project's app (project/celery_app.py) against the
machine's Redis, or RabbitMQ if Redis is absent, on a queue of its own. Each
task writes, updates, then records its process, its server session and its
pool's checkout count (project/tasks.py). The test checks:

* no task fails: 1,000 records, and no error in the worker's log;
* the server never sees more than processes x (pool_size + max_overflow)
  sessions at once, plus the main process's own;
* connections go back between tasks: in each process, the pool counted
  exactly one checkout per task it ran (a connection kept from one task to
  the next would need none), and the sessions used are at most the bound per
  process that ever ran;
* prefork: no socket is shared after the fork. The main process uses the
  database before it forks (one session, held across the fork); no task ever
  runs on it, and it is still alive at the end, although children exited
  (``--max-tasks-per-child 100``).

Nothing in the project returns connections: Celery's Django fixup does.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass

import pytest
from django.db import connections

import django_pool
from tests.helpers import session_id
from tests.testapp.models import Item

from .processes import BIN, DRIVERS, Process, SessionWatch, project_env, wait_for

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__")]

TASKS = 1000
POOL = {"pool_size": 2, "max_overflow": 0, "timeout": 30}
PER_PROCESS = POOL["pool_size"] + POOL["max_overflow"]


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    processes: int  # processes running tasks at once
    touch: bool = False  # the main process uses the database before forking


CASES = {
    "prefork": Case(("-P", "prefork", "-c", "4", "--max-tasks-per-child", "100"), 4, touch=True),
    "threads": Case(("-P", "threads", "-c", "4"), 1),
    "gevent": Case(("-P", "gevent", "-c", "20"), 1),
}


def find_broker() -> str:
    """Return the URL of the machine's Redis, else RabbitMQ; skip (fail under CI) if neither."""
    from kombu import Connection

    reasons = []
    for url in ("redis://127.0.0.1:6379/0", "amqp://guest:guest@127.0.0.1:5672//"):
        try:
            with Connection(url, connect_timeout=3) as connection:
                connection.ensure_connection(max_retries=1)
            return url
        except Exception as err:  # noqa: BLE001 - any failure means "not here"
            reasons.append(f"{url.split(':')[0]}: {type(err).__name__}")
    message = f"no Celery broker on this machine ({'; '.join(reasons)})"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: servers are required)")
    pytest.skip(message)


def reports(alias: str) -> list[dict]:
    names = Item.objects.using(alias).filter(name__startswith="report:").values_list("name")
    return [json.loads(name[len("report:") :]) for (name,) in names]


@pytest.mark.parametrize("name", list(CASES))
def test_celery_worker(server, tmp_path, name):
    from celery import Celery

    case = CASES[name]
    alias = server.alias
    broker = find_broker()
    queue = f"django-pool-deploy-{os.getpid()}-{alias}-{name}"
    first, alt = DRIVERS[alias]
    driver = alt if name == "gevent" and alias == "mysql" else first  # PyMySQL yields to gevent
    env = project_env(alias, driver, **POOL)
    env["DEPLOY_BROKER"] = broker
    ready = tmp_path / "ready"
    env["DEPLOY_READY_FILE"] = str(ready)
    master_report = tmp_path / "master.json"
    if case.touch:
        env["DEPLOY_TOUCH_AT_IMPORT"] = str(master_report)
    worker = Process(
        [
            str(BIN / "celery"),
            "-A",
            "tests.deployment.project.celery_app",
            "worker",
            *case.args,
            "-Q",
            queue,
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}@%h",
        ],
        env,
        tmp_path / "celery.log",
    )
    client = Celery("deploy-client", broker=broker)
    own = session_id(alias)  # this process's one connection, to read the results
    try:
        wait_for(ready.exists, "the worker to be ready", 60, worker)
        master: set[int] = set()
        if case.touch:
            report = json.loads(master_report.read_text())
            assert report["pid"] == worker.pid
            master = set(report["sessions"])
        with SessionWatch(server) as watch:
            with client.producer_or_acquire() as producer:
                for n in range(TASKS):
                    client.send_task("deploy.work", args=[n], queue=queue, producer=producer)
            wait_for(
                lambda: (
                    Item.objects.using(alias).filter(name__startswith="report:").count() >= TASKS
                ),
                f"{TASKS} tasks to be done",
                120,
                worker,
            )
        done = reports(alias)
        log = worker.log(tail=200_000)
        assert "ERROR" not in log and "Traceback" not in log, log[-3000:]
        assert sorted(r["n"] for r in done) == list(range(TASKS))

        peak = watch.peak - 1  # less this process's own connection
        assert peak <= case.processes * PER_PROCESS + len(master), f"server saw {peak} sessions"
        tasks_by_pid = Counter(r["pid"] for r in done)
        for pid, count in tasks_by_pid.items():
            assert max(r["checkouts"] for r in done if r["pid"] == pid) == count, (
                f"process {pid}: checkouts differ from its {count} tasks"
            )
        used = {r["session"] for r in done}
        # No socket shared after the fork: every session served one process only.
        shared = {s for s in used if len({r["pid"] for r in done if r["session"] == s}) > 1}
        assert not shared, f"sessions used by two processes: {shared}"
        assert all(r["open"] <= PER_PROCESS for r in done)
        assert len(used) <= len(tasks_by_pid) * PER_PROCESS
        assert len(watch.seen - master - {own}) <= len(tasks_by_pid) * PER_PROCESS
        if case.touch:
            assert worker.pid not in tasks_by_pid
            assert len(tasks_by_pid) >= TASKS // 100, "children did not restart"
            assert not (used & master), "a task ran on the main process's session"
            assert master <= server.session_ids(), "a child ended the main process's session"
    finally:
        worker.stop(timeout=30)
        print(worker.log())  # shown if the test failed
        with client.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
        if broker.startswith("redis:"):  # kombu's binding sets outlive the queue
            import redis

            redis.Redis.from_url(broker).delete(
                f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
            )
        connections[alias].close()
        django_pool.dispose(alias)
    wait_for(lambda: not server.session_ids(), "sessions to end with the worker", 15)
