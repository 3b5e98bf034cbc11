"""Run with DJANGO_POOL_PROJECT_DIRECT: "direct" is "default"'s database with "POOL": False."""

import os

from django.db import connections
from django.test import TransactionTestCase

from tests.testapp.models import Item


class Direct(TransactionTestCase):
    databases = "__all__"

    def test_one_test_database_for_both_aliases(self):
        pooled = "other" if os.environ["DJANGO_POOL_PROJECT_DIRECT"] == "first" else "default"
        names = {connections[alias].settings_dict["NAME"] for alias in (pooled, "direct")}
        self.assertEqual(len(names), 1)
        Item.objects.using(pooled).create(name="seen by both")
        self.assertEqual(Item.objects.using("direct").count(), 1)
