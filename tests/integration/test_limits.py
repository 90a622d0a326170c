#!/usr/bin/env python3
"""limits.max_connections: connections beyond it get a 503 and are closed; those already open keep
working, and a freed slot is usable again."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, wait_until  # noqa: E402

REQUEST = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


class MaxConnectionsTest(IntegrationTest):
    NGINX = True

    def open_working_connection(self, d):
        c = self.raw(d.listen)
        c.send(REQUEST)
        self.assertEqual(c.read_response().status, 200)
        return c

    def test_connections_beyond_the_limit_are_refused_and_others_unaffected(self):
        d = self.canaryd(limits={"max_connections": 3})
        held = [self.open_working_connection(d) for _ in range(3)]

        extra = self.raw(d.listen)
        extra.send(REQUEST)
        r = extra.read_response()
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.body, b"too many connections\n")
        self.assertTrue(extra.closed_within(5.0), "the refused connection stays open")

        for c in held:
            c.send(REQUEST)
            self.assertEqual(c.read_response().status, 200, "an open connection was affected")

        held.pop().close()

        def a_new_connection_is_served():
            c = self.raw(d.listen)
            c.send(REQUEST)
            return c.read_response().status == 200
        wait_until(a_new_connection_is_served, message="a new connection served after one closed")
        m = d.metrics()
        self.assertLessEqual(m.value("canaryd_active_connections", side="client"), 3)


if __name__ == "__main__":
    support.main()
