"""Run with DJANGO_POOL_PROJECT_DIRECT: "direct" is "default"'s database with "POOL": False."""

from django.db import connections
from django.test import TransactionTestCase

from tests.testapp.models import Item


class Direct(TransactionTestCase):
    databases = "__all__"

    def test_one_test_database_for_both_aliases(self):
        names = {connections[alias].settings_dict["NAME"] for alias in ("default", "direct")}
        self.assertEqual(len(names), 1)
        Item.objects.create(name="seen by both")
        self.assertEqual(Item.objects.using("direct").count(), 1)
