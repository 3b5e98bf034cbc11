"""URLs of the ASGI test: one async view that uses the ORM."""

from django.http import HttpResponse
from django.urls import path

from tests.testapp.models import Item


async def count_items(request, alias):
    # The async ORM runs in the request's own thread (asgiref's
    # ThreadSensitiveContext): up to one pooled connection per request.
    return HttpResponse(str(await Item.objects.using(alias).acount()))


urlpatterns = [path("count/<str:alias>/", count_items)]
