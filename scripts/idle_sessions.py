"""Hold an idle session on the database ``test`` of each test server until killed.

``.ci/run`` starts it before ``make test``: a test that counted every session on
a shared database (rather than on its own) fails while these sit there. The
database is created when missing, and then dropped on exit. Prints ``ready``
once every session is open.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from tests.helpers import ForeignSessions  # noqa: E402


def main() -> int:
    """Open the sessions, say ``ready``, hold them until SIGTERM or SIGINT."""
    aliases = [a for a in ("postgresql", "mysql") if a not in settings.UNAVAILABLE]
    foreign = ForeignSessions(aliases)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"ready: idle sessions on 'test' of {', '.join(aliases) or 'no server'}", flush=True)
    stop.wait()
    foreign.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
