"""Each TransactionTestCase test starts with a clean session, as with Django's own close()."""

from django.db import connection
from django.test import TransactionTestCase

# (set some session state, read it back, what a new session reads)
STATE = {
    "postgresql": ("SET statement_timeout = 1234", "SHOW statement_timeout", "0"),
    "mysql": ("SET @django_pool_leak = 42", "SELECT @django_pool_leak", None),
}


class Session(TransactionTestCase):
    def test_1_sets_session_state(self):
        change, read, _ = STATE[connection.vendor]
        with connection.cursor() as cursor:
            cursor.execute(change)
            cursor.execute(read)
            self.assertNotEqual(cursor.fetchone()[0], STATE[connection.vendor][2])

    def test_2_finds_a_clean_session(self):
        _, read, clean = STATE[connection.vendor]
        with connection.cursor() as cursor:
            cursor.execute(read)
            self.assertEqual(cursor.fetchone()[0], clean)
