"""The project's Celery app, as the Celery "First steps with Django" guide writes it.

Nothing here returns connections: Celery's own Django fixup does, at
``task_prerun`` and ``task_postrun`` (docs/deployment.md). With
``DEPLOY_TOUCH_AT_IMPORT`` the worker's main process uses the database as it
imports this module, before it forks its children, and writes its session ids
to that file (as wsgi.py does for gunicorn --preload).
"""

import json
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.deployment.project.settings")

app = Celery("deploy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.imports = ["tests.deployment.project.tasks"]


@worker_ready.connect
def _ready(**kwargs) -> None:
    # Tells the test the worker consumes (its log level hides Celery's own "ready").
    if os.environ.get("DEPLOY_READY_FILE"):
        with open(os.environ["DEPLOY_READY_FILE"], "w") as ready:
            ready.write(str(os.getpid()))


if os.environ.get("DEPLOY_TOUCH_AT_IMPORT"):
    import django

    django.setup()
    from tests.deployment.project.views import session_id

    with open(os.environ["DEPLOY_TOUCH_AT_IMPORT"], "w") as report:
        # Checked out by the main thread, and kept across the fork.
        json.dump({"pid": os.getpid(), "sessions": [session_id()]}, report)
