"""The task the Celery deployment test sends 1,000 times."""

import json
import os

import django_pool
from tests.deployment.project.celery_app import app
from tests.deployment.project.views import session_id
from tests.testapp.models import Item


@app.task(name="deploy.work")
def work(n: int) -> None:
    """Do some ORM work, then record who did it, on which session, after how many checkouts.

    The record is the task's last write: a task that failed leaves none.
    """
    Item.objects.create(name=f"task-{n}")
    Item.objects.filter(name=f"task-{n}").update(name=f"done-{n}")
    stats = django_pool.get_stats("default")["default"]
    report = {
        "n": n,
        "pid": os.getpid(),
        "session": session_id(),
        "checkouts": stats["checkouts_num"],
        "open": stats["open"],
    }
    Item.objects.create(name="report:" + json.dumps(report, separators=(",", ":")))
