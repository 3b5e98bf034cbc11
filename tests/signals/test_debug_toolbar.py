"""PoolPanel rendered by django-debug-toolbar in real requests (Django's test client)."""

from __future__ import annotations

import html
import re

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connections
from django.test import AsyncClient, Client, override_settings

from django_pool import registry

pytest.importorskip("debug_toolbar", reason="django-debug-toolbar is in the test extra")

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

PANEL = "django_pool.contrib.debug_toolbar.PoolPanel"


@pytest.fixture(params=[False, True], ids=["lazy", "rendered"])
def toolbar(request):
    """Settings for the toolbar; lazy: the panel is fetched as the browser would."""
    # Apps are loaded before the other settings change: STATIC_URL first.
    with (
        override_settings(STATIC_URL="/static/"),
        override_settings(
            DEBUG=True,
            INSTALLED_APPS=[
                *settings.INSTALLED_APPS,
                *(
                    app
                    for app in ("django.contrib.staticfiles", "debug_toolbar")
                    if app not in settings.INSTALLED_APPS
                ),
            ],
            MIDDLEWARE=["debug_toolbar.middleware.DebugToolbarMiddleware"],
            TEMPLATES=[
                {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
            ],
            ROOT_URLCONF="tests.signals.toolbar_urls",
            # The SQL panel wraps the backend's cursors too (pitfall 29): with release
            # "transaction", both count and close the same cursors.
            DEBUG_TOOLBAR_PANELS=[
                "debug_toolbar.panels.timer.TimerPanel",
                "debug_toolbar.panels.sql.SQLPanel",
                PANEL,
            ],
            DEBUG_TOOLBAR_CONFIG={
                "IS_RUNNING_TESTS": False,
                "SHOW_TOOLBAR_CALLBACK": "tests.signals.toolbar_urls.always",
                "RENDER_PANELS": request.param,
            },
        ),
    ):
        yield request.param


def panel_of(client: Client, page: str, rendered: bool) -> str:
    """Return the PoolPanel's HTML for the request that served *page*."""
    assert 'id="djDebug"' in page or "djDebug" in page, "no toolbar in the page"
    if rendered:
        match = re.search(r'id="PoolPanel".*?</div>\s*</div>\s*</div>', page, re.S)
        assert match, "PoolPanel not rendered in the page"
        return match.group(0)
    request_id = re.search(r'data-request-id="([^"]+)"', page).group(1)
    response = client.get(
        "/__debug__/render_panel/", {"request_id": request_id, "panel_id": "PoolPanel"}
    )
    assert response.status_code == 200
    return response.json()["content"]


def cells(panel: str) -> list[str]:
    return [html.unescape(c).strip() for c in re.findall(r"<td>(.*?)</td>", panel, re.S)]


def test_the_panel_shows_new_reused_and_discarded_checkouts(vendor, configure_pool, toolbar):
    client = Client()
    configure_pool(vendor, pool_size=2, max_overflow=0)
    first = client.get(f"/query/{vendor}/")
    assert first.status_code == 200
    panel = panel_of(client, first.content.decode(), toolbar)
    assert f"<h4>{vendor}</h4>" in panel
    assert "1 checkout, " in first.content.decode()  # the side bar's line ("1 checkouts" before)
    # checkouts, new, reused, ... then the one checkout's row.
    summary = cells(panel)
    assert summary[:3] == ["1", "1", "0"]
    assert "new" in summary and "at request end (still held at response)" in summary
    assert "<th>open</th>" in panel and "<th>in_use</th>" in panel  # the pool's gauges
    # The test client keeps connections across requests; a server's handler
    # would close them at request_finished.
    connections[vendor].close()

    second = client.get(f"/query/{vendor}/")
    summary = cells(panel_of(client, second.content.decode(), toolbar))
    assert summary[:3] == ["1", "0", "1"] and "reused" in summary
    connections[vendor].close()

    # As after a disconnect-class error: every connection opened before now
    # is replaced at its next checkout.
    [pool] = registry.pools(vendor)
    pool.mark_stale()
    third = client.get(f"/query/{vendor}/")
    panel = panel_of(client, third.content.decode(), toolbar)
    summary = cells(panel)
    assert summary[:3] == ["1", "1", "0"]  # the stale one was replaced by a new one
    assert "Discarded: opened before a disconnect" in panel
    assert pool.status()["invalidations_by_reason"] == {"opened before a disconnect": 1}


def test_connections_given_back_during_the_request_show_their_hold(
    server_vendor, configure_pool, toolbar
):
    # release="transaction": the view's connection goes back after its query,
    # inside the request, so the panel sees the checkin.
    configure_pool(server_vendor, pool_size=2, max_overflow=0, release="transaction")
    client = Client()
    page = client.get(f"/query/{server_vendor}/").content.decode()
    summary = cells(panel_of(client, page, toolbar))
    assert summary[:3] == ["1", "1", "0"]
    assert "to the pool" in summary and "at request end (still held at response)" not in summary
    [pool] = registry.pools(server_vendor)
    assert pool.status()["in_use"] == 0


def test_the_panel_records_an_async_view(vendor, configure_pool, toolbar):
    # An async view reaches the ORM through sync_to_async, in another thread
    # under a server; the panel follows the request's context there.
    configure_pool(vendor, pool_size=2, max_overflow=0)

    async def get():
        return await AsyncClient().get(f"/count/{vendor}/")

    response = async_to_sync(get)()
    assert response.status_code == 200
    summary = cells(panel_of(Client(), response.content.decode(), toolbar))
    assert summary[:3] == ["1", "1", "0"]
