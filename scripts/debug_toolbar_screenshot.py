"""Screenshot PoolPanel in django-debug-toolbar with headless Chromium (docs/debug-toolbar.png).

A small Django project on two pooled SQLite files, served by the stdlib's WSGI
server on 127.0.0.1; the page opens the panel with the toolbar's own button.
"reports" recycles its connections after 0.5 s, and the screenshot's request
comes later than that: it shows a discard ("recycled") and a new connection.

    .venv/bin/python scripts/debug_toolbar_screenshot.py [--out docs/debug-toolbar.png]

Needs Debian's ``chromium`` (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import django
from django.conf import settings
from django.urls import include, path

TMP = Path(tempfile.mkdtemp(prefix="django_pool_toolbar_"))

# The page opens the Connection pools panel once the toolbar has set itself up.
OPEN_PANEL = """
<script>
const open = () => {
  const link = document.querySelector("#djdt-PoolPanel a");
  const bar = document.getElementById("djDebugToolbar");
  if (link && bar && !bar.classList.contains("djdt-hidden")) { link.click(); }
  else { setTimeout(open, 50); }
};
window.addEventListener("load", () => setTimeout(open, 50));
</script>
"""


def view(request):
    """Run queries on both aliases, as a view would; close "reports" early (a report job)."""
    from django.db import connections
    from django.http import HttpResponse

    for alias in ("default", "reports"):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    connections["reports"].close()  # given back inside the request: its hold is known
    return HttpResponse(f"<html><body><h1>Orders</h1>{OPEN_PANEL}</body></html>")


def always(request):
    """Show the toolbar to the headless browser."""
    return True


urlpatterns: list = []  # filled once Django is set up (the toolbar's URLs need it)


def configure() -> None:
    """Configure Django: two pooled SQLite databases, the toolbar with PoolPanel."""

    def database(name: str, **pool) -> dict:
        return {
            "ENGINE": "django_pool.backends.sqlite3",
            "NAME": str(TMP / f"{name}.sqlite3"),
            "POOL": pool,
        }

    settings.configure(
        DEBUG=True,
        SECRET_KEY="screenshot",
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.staticfiles", "debug_toolbar"],
        MIDDLEWARE=["debug_toolbar.middleware.DebugToolbarMiddleware"],
        TEMPLATES=[
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
        ],
        STATIC_URL="/static/",
        DATABASES={
            "default": database("shop", pool_size=5, max_overflow=10),
            "reports": database(
                "reports", pool_size=2, max_overflow=0, recycle=0.5, recycle_jitter=0
            ),
        },
        DEBUG_TOOLBAR_PANELS=[
            "debug_toolbar.panels.timer.TimerPanel",
            "debug_toolbar.panels.sql.SQLPanel",
            "django_pool.contrib.debug_toolbar.PoolPanel",
        ],
        DEBUG_TOOLBAR_CONFIG={
            "SHOW_TOOLBAR_CALLBACK": f"{__name__}.always",
            "USE_SHADOW_DOM": False,
            "RENDER_PANELS": True,
            "IS_RUNNING_TESTS": False,
        },
    )
    django.setup()
    urlpatterns[:] = [path("", view), path("__debug__/", include("debug_toolbar.urls"))]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass


def main() -> int:
    """Serve the page, warm the pools, and screenshot the second request's panel."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/debug-toolbar.png")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not found: apt-get install chromium", file=sys.stderr)
        return 1
    configure()
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler

    server = make_server("127.0.0.1", 0, StaticFilesHandler(WSGIHandler()), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        import urllib.request

        urllib.request.urlopen(url, timeout=30).read()  # opens both pools' connections
        time.sleep(0.6)  # past "reports"' recycle time
        profile = tempfile.mkdtemp(prefix="django_pool_chromium_")
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--hide-scrollbars",
                "--window-size=1280,760",
                "--virtual-time-budget=5000",
                f"--screenshot={Path(args.out).resolve()}",
                url,
            ],
            check=True,
            timeout=120,
            capture_output=True,
        )
        shutil.rmtree(profile, ignore_errors=True)
    finally:
        server.shutdown()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
