"""Run by test_gevent.py in its own process: Django's ORM under ``gevent.monkey.patch_all()``.

Patching is process-wide, hence a process of its own. ``python -m
tests.deployment.gevent_probe SCENARIO`` prints one JSON line:

* ``load``: 40 greenlets, 5 rounds each, of ORM work holding the connection
  20 ms; the pool's settings come from the environment (DEPLOY_DATABASE);
* ``kill``: a greenlet killed while it holds the only connection, kept
  referenced as a job list would; then another greenlet asks for one;
* ``leak``: a greenlet holds the only connection past ``leak_threshold`` while
  another times out waiting: the reports must name the greenlet;
* ``finalize``: an exit with a greenlet left, with ``release="transaction"``:
  nothing may be printed as ignored (the test reads the process's stderr).
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

if os.environ.get("DEPLOY_DRIVER") == "psycopg2":
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()

import django  # noqa: E402

django.setup()

from django.db import OperationalError  # noqa: E402

import django_pool  # noqa: E402
from tests.deployment.project.views import hold, session_id  # noqa: E402
from tests.testapp.models import Item  # noqa: E402


class Collect(logging.Handler):
    """Keep django_pool's log messages, for the report."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


log = Collect()
logging.getLogger("django_pool").addHandler(log)


def stats() -> dict:
    return django_pool.get_stats("default").get("default", {})


def load() -> dict:
    greenlets, rounds, seconds = 40, 5, 0.02

    def work(i: int) -> list[int]:
        sessions = []
        for _ in range(rounds):
            with django_pool.release_connections():
                Item.objects.create(name=f"greenlet-{i}")
                hold(seconds)
                sessions.append(session_id())
        return sessions

    started = time.monotonic()
    jobs = [gevent.spawn(work, i) for i in range(greenlets)]
    finished = gevent.joinall(jobs, timeout=60)
    elapsed = time.monotonic() - started
    with django_pool.release_connections():
        items = Item.objects.filter(name__startswith="greenlet-").count()
    return {
        "finished": len(finished),
        "greenlets": greenlets,
        "errors": [repr(job.exception) for job in jobs if job.exception is not None],
        "sessions": sorted({s for job in jobs if job.successful() for s in job.value}),
        "items": items,
        "elapsed": elapsed,
        "serial": greenlets * rounds * seconds,
        "stats": {k: stats().get(k) for k in ("in_use", "open", "connections_num")},
    }


def kill() -> dict:
    holding = gevent.event.Event()

    def holder() -> None:
        session_id()
        holding.set()
        gevent.sleep(60)  # never returns the connection by itself

    jobs = [gevent.spawn(holder)]
    jobs[0].name = "holder"
    if not holding.wait(10):
        return {"error": "the holder never got a connection"}
    gevent.kill(jobs[0])  # GreenletExit where it sleeps; `jobs` keeps it referenced

    def other() -> int:
        with django_pool.release_connections():
            return session_id()

    started = time.monotonic()
    waiter = gevent.spawn(other)
    waiter.join(30)
    return {
        "holder_dead": jobs[0].dead,
        "served": waiter.successful(),
        "error": repr(waiter.exception) if waiter.exception else None,
        "waited": time.monotonic() - started,
        "reasons": stats().get("invalidations_by_reason", {}),
        "log": log.messages,
    }


def leak() -> dict:
    holding = gevent.event.Event()

    def holder() -> None:
        with django_pool.release_connections():
            session_id()
            holding.set()
            gevent.sleep(0.8)

    job = gevent.Greenlet(holder)
    job.name = "slow-holder"
    job.start()
    if not holding.wait(10):
        return {"error": "the holder never got a connection"}

    def waiter() -> str:
        try:
            with django_pool.release_connections():
                session_id()
        except OperationalError as err:
            return str(err)
        return "served"

    other = gevent.spawn(waiter)
    gevent.joinall([job, other], timeout=30)
    return {"timeout": other.value, "log": log.messages, "leaks": stats().get("leaks_num")}


def finalize() -> dict:
    # With release="transaction" the first checkout installs a garbage
    # collector callback. The process then exits with a greenlet still
    # sleeping, as a worker does: the collections of the interpreter's
    # shutdown run where gevent's getcurrent() raises.
    import gc

    session_id()
    gevent.spawn(gevent.sleep, 60)
    gevent.sleep(0)
    return {
        "callback_installed": any(
            getattr(c, "__module__", "") == "django_pool.release" for c in gc.callbacks
        )
    }


if __name__ == "__main__":
    report = {"load": load, "kill": kill, "leak": leak, "finalize": finalize}[sys.argv[1]]()
    print(json.dumps(report), flush=True)
