"""A live-server test whose server thread queries the database (tests/creation)."""

import urllib.request

from django.test import LiveServerTestCase


class Live(LiveServerTestCase):
    """The live server's thread needs a connection while the test thread runs."""

    databases = {"default"}

    def test_a_request_that_queries(self):
        """The server answers from the database."""
        with urllib.request.urlopen(self.live_server_url + "/", timeout=30) as response:
            self.assertEqual(response.read(), b"1")
