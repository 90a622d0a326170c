#!/usr/bin/env python3
"""Keep-alive on both sides: upstream connections are pooled and reused, a pooled connection the
upstream closed is detected and replaced without an error, client keep-alive idle timeout and
Connection: close (contract sections 2 and 3)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import (THREADS, IntegrationTest, RawClient, free_port, keepalive_requests,  # noqa: E402
                     new_connection_requests, response_bytes, wait_until)


class PoolTest(IntegrationTest):
    NGINX = True

    def test_one_client_connection_reuses_one_upstream_connection(self):
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (self.v2[0], "v2")])
        rs = keepalive_requests(d.listen, 100, path="/echo-conn")
        self.assertEqual({r.status for r in rs}, {200})
        conns = {r.header("X-Conn") for r in rs}
        self.assertLessEqual(len(conns), 2, "100 requests on one client connection used %d nginx connections"
                             % len(conns))

    def test_new_client_connections_share_the_pool(self):
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (self.v2[0], "v2")])
        rs = new_connection_requests(d.listen, 100, path="/echo-conn")
        self.assertEqual({r.status for r in rs}, {200})
        conns = {r.header("X-Conn") for r in rs}
        self.assertLessEqual(len(conns), 2 * THREADS, "100 client connections used %d nginx connections" % len(conns))

    def test_nginx_closing_after_keepalive_requests(self):
        port = free_port()
        self.nginx_server([(port, "v1")], keepalive_requests=3)
        d = self.canaryd(endpoints=[(port, "v1")], canary=None)
        rs = keepalive_requests(d.listen, 30, path="/echo-conn")
        self.assertEqual([r.status for r in rs], [200] * 30)
        self.assertGreaterEqual(len({r.header("X-Conn") for r in rs}), 10)
        self.assertEqual(d.metrics().value("canaryd_upstream_errors_total"), 0)


class StalePoolTest(IntegrationTest):
    def test_pooled_connection_closed_by_nginx_idle_timeout(self):
        port = free_port()
        self.nginx_server([(port, "v1")], keepalive_timeout="1s")
        d = self.canaryd(endpoints=[(port, "v1")], canary=None)
        c = RawClient(d.listen)
        self.addCleanup(c.close)
        seen = []
        for _ in range(3):
            c.send(b"GET /echo-conn HTTP/1.1\r\nHost: t\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            seen.append(r.header("X-Conn"))
            time.sleep(2)  # nginx's keepalive_timeout (1 s) passing is the scenario
        self.assertEqual(len(set(seen)), 3, "the same nginx connection after its idle timeout: %s" % seen)
        m = d.metrics()
        self.assertEqual(m.value("canaryd_upstream_errors_total"), 0, "a stale pooled connection counted as an error")
        self.assertEqual(m.value("canaryd_requests_total", code="5xx"), 0)

    def test_upstream_closing_silently_after_each_response(self):
        closed = []

        def one_shot(conn, up):
            if conn.read_request() is None:
                return
            conn.send(response_bytes(200, headers=up.tag_headers(), body=b"once\n"))  # no Connection: close
            conn.close()
            closed.append(1)
        up = self.raw_upstream(one_shot)
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = RawClient(d.listen)
        self.addCleanup(c.close)
        for i in range(10):
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, b"once\n"), "request %d after the upstream closed: %r" % (i, r))
            wait_until(lambda: len(closed) == i + 1, message="the upstream to close its side")
        self.assertEqual(up.connections, 10)
        self.assertEqual(d.metrics().value("canaryd_upstream_errors_total"), 0)

    def test_upstream_connection_close_is_honoured(self):
        def closing(conn, up):
            while True:
                if conn.read_request() is None:
                    return
                conn.send(response_bytes(200, headers=up.tag_headers() + [("Connection", "close")], body=b"bye\n"))
        up = self.raw_upstream(closing)  # says close but keeps the socket open: canaryd must not reuse it
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        rs = keepalive_requests(d.listen, 5)
        self.assertEqual([r.status for r in rs], [200] * 5)
        self.assertEqual(up.connections, 5, "canaryd reused an upstream connection after Connection: close")
        for r in rs:
            for v in r.header_all("Connection"):
                self.assertNotEqual(v.lower(), "close", "the upstream's Connection: close reached the client")


class ClientKeepAliveTest(IntegrationTest):
    def test_idle_client_connection_closed_after_keepalive_idle(self):
        up = self.raw_upstream(support.serve_fixed())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, timeouts={"keepalive_idle": "1s"})
        c = RawClient(d.listen)
        self.addCleanup(c.close)
        # requests 0.5 s apart keep it alive
        for _ in range(3):
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            time.sleep(0.5)  # shorter than keepalive_idle: the timing is the scenario
        t = time.monotonic()
        data, closed = c.read_until_close(4)
        took = time.monotonic() - t
        self.assertTrue(closed, "the idle connection stayed open")
        self.assertEqual(data, b"", "bytes sent on an idle keep-alive close: %r" % data)
        self.assertLess(took, 2.5)

    def test_parked_connections_close_each_at_its_own_idle_deadline(self):
        # A connection idle for half a second parks; one worker, so that both park on its list and its
        # one timer serves the older first, then the other.
        up = self.raw_upstream(support.serve_fixed())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, threads=1,
                         timeouts={"keepalive_idle": "1500ms"})
        a, b = RawClient(d.listen), RawClient(d.listen)
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        a.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(a.read_response().status, 200)
        a_idle = time.monotonic()
        time.sleep(0.3)  # b goes idle (and parks) 0.3 s after a: the timing is the scenario
        b.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(b.read_response().status, 200)
        b_idle = time.monotonic()
        data, closed = a.read_until_close(4)
        a_took = time.monotonic() - a_idle
        self.assertTrue(closed, "the parked connection stayed open past keepalive_idle")
        self.assertEqual(data, b"")
        self.assertGreater(a_took, 1.4, "closed before keepalive_idle")
        self.assertLess(a_took, 2.2)
        data, closed = b.read_until_close(4)
        b_took = time.monotonic() - b_idle
        self.assertTrue(closed, "the second parked connection stayed open past keepalive_idle")
        self.assertEqual(data, b"")
        self.assertGreater(b_took, 1.4, "closed before keepalive_idle")
        self.assertLess(b_took, 2.2)

    def test_parked_connection_serves_its_next_request(self):
        up = self.raw_upstream(support.serve_fixed())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, threads=1, timeouts={"keepalive_idle": "60s"})
        c = RawClient(d.listen, timeout=3)
        self.addCleanup(c.close)
        for _ in range(3):
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            time.sleep(0.7)  # longer than the half second after which an idle connection parks
        # A request split around the wake: its first bytes wake the connection, the rest follows.
        c.send(b"GET / HTTP/1.1\r\nHo")
        time.sleep(0.1)  # the timing is the scenario
        c.send(b"st: t\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)

    def test_request_whose_bytes_came_while_the_previous_was_served(self):
        # The next request arrives while the previous one waits for its upstream, when nothing reads
        # from the client: its readiness edge passes unseen. The connection must still find it when it
        # would park, not wait for an edge that will not come again (the 200 ms stall of f092ba6;
        # here it would wait for keepalive_idle and time the client out).
        up = self.raw_upstream(support.serve_slow(0.05))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, threads=1, timeouts={"keepalive_idle": "60s"})
        c = RawClient(d.listen, timeout=2)
        self.addCleanup(c.close)
        for i in range(5):
            c.send(b"GET /first HTTP/1.1\r\nHost: t\r\n\r\n")
            wait_until(lambda: len(up.requests) == 2 * i + 1, timeout=5, message="the upstream has the request")
            c.send(b"GET /second HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            t = time.monotonic()
            self.assertEqual(c.read_response().status, 200)
            self.assertLess(time.monotonic() - t, 1.0)

    def test_request_that_comes_as_the_connection_parks(self):
        # Each next request is sent around the moment the connection parks (half a second idle), so
        # that some come just before the parked wait is registered: they must be served at once, not
        # left for an edge that has passed (the client's 2 s timeout would fail the test).
        up = self.raw_upstream(support.serve_fixed())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, threads=1, timeouts={"keepalive_idle": "60s"})
        c = RawClient(d.listen, timeout=2)
        self.addCleanup(c.close)
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        for delay in (0.47, 0.49, 0.5, 0.5, 0.51, 0.53):
            time.sleep(delay)  # the timing is the scenario
            t = time.monotonic()
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            self.assertLess(time.monotonic() - t, 1.0)

    def test_client_connection_close(self):
        up = self.raw_upstream(support.serve_fixed())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = RawClient(d.listen)
        self.addCleanup(c.close)
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual([v.lower() for v in r.header_all("Connection")], ["close"])
        self.assertTrue(c.closed_within(3))

    def test_http10_client_keep_alive(self):
        up = self.raw_upstream(support.serve_fixed())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = RawClient(d.listen)
        self.addCleanup(c.close)
        c.send(b"GET / HTTP/1.0\r\nHost: t\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        self.assertTrue(c.closed_within(3), "an HTTP/1.0 request without keep-alive left the connection open")


if __name__ == "__main__":
    support.main()
