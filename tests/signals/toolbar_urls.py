"""URLs of the toolbar test: the query view and the toolbar's own views."""

from django.http import HttpResponse
from django.urls import include, path

from tests.signals.urls import query
from tests.testapp.models import Item


def always(request):
    """Show the toolbar on every request (the test client's address is no INTERNAL_IP)."""
    return True


async def count(request, alias):
    """An async view: the ORM runs through sync_to_async, with the request's context."""
    n = await Item.objects.using(alias).acount()
    return HttpResponse(f"<html><body><p>{n}</p></body></html>")


urlpatterns = [
    path("query/<str:alias>/", query),
    path("count/<str:alias>/", count),
    path("__debug__/", include("debug_toolbar.urls")),
]
