"""Run by test_fork_exit.py: open two pooled sessions, fork, let the child exit normally.

The child leaves as a gunicorn worker after ``--max-requests`` or a Celery
child does: ``sys.exit()``, so the interpreter frees every object, the
inherited connections included. Then this process prints its two session ids
as JSON and waits for a line on stdin before it exits, so that the test can
check on the server that both sessions outlived the child.
"""

import json
import os
import sys
import threading

import django

django.setup()

from django.db import connection  # noqa: E402

from tests.deployment.project.views import session_id  # noqa: E402
from tests.helpers import join  # noqa: E402

held = session_id()  # checked out by this thread across the fork
idle: list[int] = []


def pooled() -> None:
    idle.append(session_id())
    connection.close()  # back to the pool, idle across the fork


thread = threading.Thread(target=pooled)
thread.start()
join(thread)  # its OS thread gone too: see join()

pid = os.fork()
if pid == 0:
    import gc

    gc.collect()
    sys.exit(0)  # normal interpreter exit: finalizers run
_, status = os.waitpid(pid, 0)
print(json.dumps({"sessions": [held, *idle], "child_status": status}), flush=True)
sys.stdin.readline()
