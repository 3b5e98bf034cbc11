"""Tests the project runs: TestCase, TransactionTestCase, threads, two databases."""

import threading
from contextlib import nullcontext

from django.db import connections, transaction
from django.test import TestCase, TransactionTestCase

from tests.testapp.models import Item


class Rollback(TestCase):
    databases = {"default", "other"}

    def test_default(self):
        Item.objects.create(name="a")
        self.assertEqual(Item.objects.count(), 1)

    def test_other(self):
        Item.objects.using("other").create(name="b")
        self.assertEqual(Item.objects.using("other").count(), 1)

    def test_isolated(self):
        self.assertEqual(Item.objects.count(), 0)


class Transactions(TransactionTestCase):
    databases = {"default", "other"}

    def test_atomic(self):
        with transaction.atomic():
            Item.objects.create(name="kept")
        self.assertEqual(Item.objects.count(), 1)

    def test_threads(self):
        # Shared-cache memory SQLite answers concurrent writers with "database
        # table is locked" (no busy wait), pooled or not: there they take turns.
        turns = threading.Lock() if connections["other"].vendor == "sqlite" else nullcontext()

        def work():
            with turns:
                Item.objects.using("other").create(name="thread")
            connections.close_all()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(Item.objects.using("other").count(), 4)


class More(TransactionTestCase):
    databases = {"default"}

    def test_flushed(self):
        self.assertEqual(Item.objects.count(), 0)
