"""WSGI entry point; with ``DEPLOY_TOUCH_AT_IMPORT`` it uses the database as it is imported.

That is the ``gunicorn --preload`` case: the master imports this module, and so
opens connections, before it forks the workers. The master's session ids go to
the file ``DEPLOY_TOUCH_AT_IMPORT`` names, for the test to check that no worker
ever uses them. It leaves one connection checked out by the importing thread
and one idle in the pool: both must survive in the master, untouched.
"""

import json
import os
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.deployment.project.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

if os.environ.get("DEPLOY_TOUCH_AT_IMPORT"):
    from django.db import connection  # noqa: E402

    from tests.deployment.project.views import session_id  # noqa: E402

    held = session_id()  # checked out by this thread, kept across the fork
    idle: list[int] = []

    def _pooled() -> None:
        idle.append(session_id())
        connection.close()  # back to the master's pool, idle

    thread = threading.Thread(target=_pooled)
    thread.start()
    thread.join()
    with open(os.environ["DEPLOY_TOUCH_AT_IMPORT"], "w") as report:
        json.dump({"pid": os.getpid(), "sessions": [held, *idle]}, report)
