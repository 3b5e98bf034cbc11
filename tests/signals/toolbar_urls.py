"""URLs of the toolbar test: the query view and the toolbar's own views."""

from django.urls import include, path

from tests.signals.urls import query


def always(request):
    """Show the toolbar on every request (the test client's address is no INTERNAL_IP)."""
    return True


urlpatterns = [
    path("query/<str:alias>/", query),
    path("__debug__/", include("debug_toolbar.urls")),
]
