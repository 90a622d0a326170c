#!/usr/bin/env python3
"""Header rewriting: X-Forwarded-For appended, X-Forwarded-Proto, Via; hop-by-hop fields (also those
named in Connection) removed in both directions; X-Canary-Set added after stripping (contract
section 3; RFC 9110 section 7.6)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, parse_echo, serve_fixed  # noqa: E402

HOP_BY_HOP = ("connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection", "transfer-encoding")


class RequestHeadersTest(IntegrationTest):
    """What the upstream receives (recorded byte for byte by a raw upstream)."""

    def setUp(self):
        super().setUp()
        self.up = self.raw_upstream(serve_fixed())
        self.d = self.canaryd(endpoints=[(self.up.port, "v1")], canary=None)

    def send(self, extra_headers, path="/"):
        c = self.raw(self.d.listen)
        c.send(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: example.test\r\n" + extra_headers + b"\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        return self.up.requests[-1]

    def test_x_forwarded_for_is_added(self):
        req = self.send(b"")
        self.assertEqual(req.header_all("X-Forwarded-For"), ["127.0.0.1"])

    def test_x_forwarded_for_is_appended_to_an_existing_one(self):
        req = self.send(b"X-Forwarded-For: 203.0.113.7\r\n")
        self.assertEqual(", ".join(req.header_all("X-Forwarded-For")), "203.0.113.7, 127.0.0.1")
        req = self.send(b"X-Forwarded-For: 203.0.113.7, 198.51.100.1\r\n")
        self.assertEqual(", ".join(req.header_all("X-Forwarded-For")), "203.0.113.7, 198.51.100.1, 127.0.0.1")

    def test_x_forwarded_for_from_two_lines_keeps_both(self):
        req = self.send(b"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 198.51.100.1\r\n")
        joined = ", ".join(req.header_all("X-Forwarded-For"))
        self.assertEqual(joined, "203.0.113.7, 198.51.100.1, 127.0.0.1", req.raw_head)

    def test_x_forwarded_proto_is_http(self):
        req = self.send(b"")
        self.assertEqual(req.header_all("X-Forwarded-Proto"), ["http"])

    def test_x_forwarded_proto_from_the_client_is_not_trusted(self):
        # canaryd terminates plain HTTP here: a client claiming https must not reach the upstream as such.
        req = self.send(b"X-Forwarded-Proto: https\r\n")
        self.assertEqual(req.header_all("X-Forwarded-Proto"), ["http"], req.raw_head)

    def test_via_is_added_and_appended(self):
        req = self.send(b"")
        via = req.header_all("Via")
        self.assertEqual(len(via), 1, req.raw_head)
        self.assertRegex(via[0], r"^1\.1 \S+")
        req = self.send(b"Via: 1.0 fred\r\n")
        joined = ", ".join(req.header_all("Via"))
        self.assertRegex(joined, r"^1\.0 fred, 1\.1 \S+", req.raw_head)

    def test_hop_by_hop_request_fields_do_not_reach_the_upstream(self):
        req = self.send(b"Connection: keep-alive, X-Custom\r\n"
                        b"Keep-Alive: timeout=5\r\n"
                        b"TE: trailers\r\n"
                        b"Trailer: X-Trail\r\n"
                        b"Upgrade: websocket\r\n"
                        b"Proxy-Connection: keep-alive\r\n"
                        b"X-Custom: secret\r\n"
                        b"X-Other: kept\r\n")
        names = req.names()
        for name in ("keep-alive", "te", "trailer", "upgrade", "proxy-connection", "x-custom"):
            self.assertNotIn(name, names, "%s reached the upstream: %r" % (name, req.raw_head))
        for value in req.header_all("Connection"):
            self.assertNotIn("x-custom", value.lower(), "the client's Connection reached the upstream: %r"
                             % req.raw_head)
            self.assertIn(value.lower().strip(), ("keep-alive", "close"), req.raw_head)
        self.assertEqual(req.header("X-Other"), "kept")
        self.assertEqual(req.header("Host"), "example.test")

    def test_fields_named_in_several_connection_lines_are_removed(self):
        req = self.send(b"Connection: X-A\r\nConnection: x-b , X-C\r\nX-A: 1\r\nx-b: 2\r\nX-c: 3\r\nX-D: 4\r\n")
        for name in ("x-a", "x-b", "x-c"):
            self.assertNotIn(name, req.names(), req.raw_head)
        self.assertEqual(req.header("X-D"), "4")

    def test_forwarding_headers_are_added_after_stripping(self):
        # A client naming X-Forwarded-For / Via in Connection removes its own copies, but canaryd
        # still adds its own.
        req = self.send(b"Connection: X-Forwarded-For, Via, X-Forwarded-Proto\r\n"
                        b"X-Forwarded-For: 203.0.113.7\r\nVia: 1.0 fred\r\nX-Forwarded-Proto: https\r\n")
        self.assertEqual(req.header_all("X-Forwarded-For"), ["127.0.0.1"], req.raw_head)
        self.assertEqual(req.header_all("X-Forwarded-Proto"), ["http"], req.raw_head)
        self.assertEqual(len(req.header_all("Via")), 1, req.raw_head)
        self.assertNotIn("fred", req.header("Via"))

    def test_end_to_end_fields_pass_unchanged(self):
        req = self.send(b"Cookie: a=1\r\nAuthorization: Basic Zm9vOmJhcg==\r\nX-Multi: one\r\nX-Multi: two\r\n"
                        b"Accept: */*\r\n", path="/some/path?q=1&r=%20")
        self.assertEqual(req.target, "/some/path?q=1&r=%20")
        self.assertEqual(req.header("Cookie"), "a=1")
        self.assertEqual(req.header("Authorization"), "Basic Zm9vOmJhcg==")
        self.assertEqual(", ".join(req.header_all("X-Multi")), "one, two")


class NginxEchoTest(IntegrationTest):
    """The same through nginx, which sees the fields as $http_* variables."""

    NGINX = True

    def test_nginx_sees_forwarding_fields_and_no_hop_by_hop(self):
        d = self.canaryd()
        r = d.get("/headers", headers={"X-Forwarded-For": "203.0.113.7", "Connection": "X-Custom",
                                       "X-Custom": "secret", "TE": "trailers", "Upgrade": "h2c",
                                       "Keep-Alive": "timeout=5", "X-Other": "kept"})
        e = parse_echo(r.body)
        self.assertEqual(e["xff"], "203.0.113.7, 127.0.0.1", e)
        self.assertEqual(e["proto"], "http", e)
        self.assertRegex(e["via"], r"^1\.1 \S+", e)
        for k in ("custom", "te", "upgrade", "keepalive"):
            self.assertEqual(e[k], "", "%s reached nginx: %s" % (k, e))
        self.assertNotIn("x-custom", e["conn"].lower())
        self.assertEqual(e["other"], "kept")


class ResponseHeadersTest(IntegrationTest):
    """What the client receives from an upstream that sends hop-by-hop fields."""

    def start(self, headers, body=b"hello\n"):
        up = self.raw_upstream(serve_fixed(headers=headers, body=body))
        self.d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = self.raw(self.d.listen)
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, body), r)
        return r

    def interim_then_ok(self):
        def handler(conn, up):
            if conn.read_request() is not None:
                conn.send(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: x-hop\r\n"
                          b"X-Hop: 1\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
        up = self.raw_upstream(handler)
        return self.canaryd(endpoints=[(up.port, "v1")], canary=None)

    def test_interim_response_is_forwarded_to_an_http11_client(self):
        d = self.interim_then_ok()
        c = self.raw(d.listen)
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        first = c.read_response(skip_interim=False)
        self.assertEqual(first.status, 103, first)
        self.assertEqual(first.header("Link"), "</a.css>; rel=preload")
        self.assertIsNone(first.header("X-Hop"), "a field named in Connection reached the client")
        final = c.read_response()
        self.assertEqual((final.status, final.body), (200, b"ok\n"), final)

    def test_interim_response_is_not_sent_to_an_http10_client(self):
        d = self.interim_then_ok()
        c = self.raw(d.listen)
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        r = c.read_response(skip_interim=False)
        self.assertEqual((r.status, r.body), (200, b"ok\n"), r)

    def test_hop_by_hop_response_fields_do_not_reach_the_client(self):
        r = self.start([("Connection", "x-up"), ("X-Up", "1"), ("Keep-Alive", "timeout=5"),
                        ("Proxy-Connection", "keep-alive"), ("Upgrade", "foo"), ("Trailer", "X-T"),
                        ("X-Kept", "yes")])
        names = r.names()
        for name in ("x-up", "keep-alive", "proxy-connection", "upgrade", "trailer"):
            self.assertNotIn(name, names, "%s reached the client: %r" % (name, r.raw_head))
        for value in r.header_all("Connection"):
            self.assertIn(value.lower().strip(), ("keep-alive", "close"), r.raw_head)
        self.assertEqual(r.header("X-Kept"), "yes")

    def test_x_canary_set_is_added_after_stripping(self):
        # The upstream names X-Canary-Set as hop-by-hop and sends its own: the client gets exactly
        # canaryd's.
        r = self.start([("Connection", "X-Canary-Set"), ("X-Canary-Set", "bogus")])
        self.assertEqual(r.header_all("X-Canary-Set"), ["stable"], r.raw_head)

    def test_upstream_x_canary_set_is_replaced(self):
        r = self.start([("X-Canary-Set", "canary")])
        self.assertEqual(r.header_all("X-Canary-Set"), ["stable"], r.raw_head)

    def test_repeated_response_fields_are_kept_apart(self):
        r = self.start([("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2, c=3; Path=/")])
        self.assertEqual(r.header_all("Set-Cookie"), ["a=1; Path=/", "b=2, c=3; Path=/"], r.raw_head)

    def test_response_header_can_be_renamed_or_disabled(self):
        up = self.raw_upstream(serve_fixed())
        d = self.canaryd(name="renamed", endpoints=[(up.port, "v1")], canary=None,
                         routing={"response_header": "X-Served-By"})
        r = d.get("/")
        self.assertEqual(r.header("X-Served-By"), "stable")
        self.assertIsNone(r.header("X-Canary-Set"))
        d2 = self.canaryd(name="disabled", endpoints=[(up.port, "v1")], canary=None,
                          routing={"response_header": ""})
        r = d2.get("/")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("X-Canary-Set"))


if __name__ == "__main__":
    support.main()
