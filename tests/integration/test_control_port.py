#!/usr/bin/env python3
"""The control port cannot be locked (issue 9): /healthz and /readyz answer within a second while
hundreds of clients hold the port open idle or trickle bytes into it, from the probe's own address
too; idle connections are closed; requests are checked by the data plane's strict head validator;
HEAD works on every GET endpoint; a 401 says how to authenticate."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, raw_exchange, wait_until  # noqa: E402

PROBE_TIMEOUT = 1.0   # a Kubernetes probe's timeoutSeconds
IDLE_TIMEOUT = 5.0    # ControlServer::kIdleTimeout
HEAD_TIMEOUT = 10.0   # ControlServer::kHeadTimeout


def connect_from(source, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.connect((support.LOOPBACK, port))
    return s


def probe(port, path, source="127.0.0.1"):
    """One GET on a new connection from `source`, answered within PROBE_TIMEOUT: (status, body)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(PROBE_TIMEOUT)
    try:
        s.bind((source, 0))
        s.connect((support.LOOPBACK, port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    status, _ = support.parse_head(data.split(b"\r\n\r\n", 1)[0] + b"\r\n")
    return status, data.split(b"\r\n\r\n", 1)[1]


def closed_by_server(s):
    """True when the server has closed `s` (EOF or reset), without waiting."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        s.setblocking(True)


class FloodTest(IntegrationTest):
    NGINX = True

    def hold(self, sockets):
        self.addCleanup(lambda: [s.close() for s in sockets])
        return sockets

    def test_probes_answer_while_the_port_is_flooded_from_their_own_address(self):
        d = self.canaryd()
        # 200 idle connections from the probe's own address, 8 that trickle a head that never ends,
        # and 300 idle ones from another address (past the port's total bound)
        idle = self.hold([connect_from("127.0.0.1", d.control) for _ in range(200)])
        trickling = self.hold([connect_from("127.0.0.1", d.control) for _ in range(8)])
        for s in trickling:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        others = self.hold([connect_from("127.0.0.2", d.control) for _ in range(300)])
        for s in trickling:
            s.sendall(b"s")
        for source in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
            for path in ("/healthz", "/readyz"):
                with self.subTest(source=source, path=path):
                    self.assertEqual(probe(d.control, path, source), (200, b"ok\n"))
        # room was made by closing the oldest idle connections, not by refusing new ones
        wait_until(lambda: sum(closed_by_server(s) for s in idle) >= 150, 5,
                   message="the server to close the oldest idle connections")
        self.assertGreaterEqual(sum(closed_by_server(s) for s in others), 100)
        self.assertEqual(d.api("GET", "/api/status")[0], 200)
        self.assertTrue(d.alive())

    def test_a_connection_that_sends_nothing_or_never_ends_its_head_is_closed(self):
        d = self.canaryd()
        silent = self.hold([connect_from("127.0.0.1", d.control)])[0]
        trickle = self.hold([connect_from("127.0.0.1", d.control)])[0]
        trickle.sendall(b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        wait_until(lambda: closed_by_server(silent), IDLE_TIMEOUT + 2, message="the idle connection to be closed")
        # one byte a second keeps every read short, but the head's own deadline still ends it
        deadline = started + HEAD_TIMEOUT + 3
        while not closed_by_server(trickle):
            self.assertLess(time.monotonic(), deadline, "a trickled head was never cut off")
            try:
                trickle.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.5)

    def test_a_keep_alive_connection_serves_many_requests(self):
        d = self.canaryd()
        with self.raw(d.control) as c:
            for _ in range(3):
                c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, b"ok\n"))
            # two pipelined requests, answered in order
            c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/nothing HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            self.assertEqual(c.read_response().status, 404)


class StrictHeadTest(IntegrationTest):
    NGINX = True

    def refused(self, d, raw, status=400, kind="bad_request"):
        data, closed = raw_exchange(d.control, raw)
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(closed, "the connection stays open after %r" % raw)
        got, headers = support.parse_head(head + b"\r\n")
        self.assertEqual(got, status, "%r answered %r" % (raw, data[:300]))
        self.assertEqual(json.loads(body)["kind"], kind)
        self.assertIn(("Connection", "close"), headers)
        return json.loads(body)

    def test_framing_the_data_plane_refuses_is_refused_here(self):
        d = self.canaryd()
        body = b'{"canary_weight": 30}'
        for te in (b"Transfer-Encoding: chunked\r\n Transfer-Encoding: x",   # folded
                   b"Transfer-Encoding: xchunked",
                   b"Transfer-Encoding: gzip, chunked",
                   b"Transfer-Encoding: chunked\r\nContent-Length: 21"):
            with self.subTest(te=te):
                self.refused(d, b"PUT /api/weight HTTP/1.1\r\nHost: x\r\n" + te + b"\r\n\r\n" + body)
        for raw in (b"GET /healthz HTTP/1.1\nHost: x\n\n",                        # bare LF
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",         # two Hosts
                    b"GET /healthz HTTP/1.1\r\n\r\n",                               # no Host
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",       # a control character
                    b"PUT /api/weight HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 3\r\n\r\n{}"):
            with self.subTest(raw=raw):
                self.refused(d, raw)
        self.assertEqual(d.status()["canary_weight"], 0)

    def test_bodies_need_a_length_and_at_most_64_kib(self):
        d = self.canaryd()
        doc = self.refused(d, b"PUT /api/weight HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"15\r\n{\"canary_weight\": 30}\r\n0\r\n\r\n", 411, "bad_request")
        self.assertIn("Content-Length", doc["error"])
        self.refused(d, b"PUT /api/weight HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n{", 413, "too_large")
        self.refused(d, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 17000 + b"\r\n\r\n", 431, "too_large")
        # a body that arrives after 100-continue, and one that was sent at once
        with self.raw(d.control) as c:
            body = json.dumps({"canary_weight": 30, "cause": "c" * 900}).encode()
            c.send(b"PUT /api/weight HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
                   % len(body))
            interim = c.read_response(skip_interim=False)
            self.assertEqual(interim.status, 100)
            c.send(body)
            self.assertEqual(c.read_response().status, 200)
        self.assertEqual(d.status()["canary_weight"], 30)


class HeadAndAuthTest(IntegrationTest):
    NGINX = True

    def exchange(self, c, method, path, token=None):
        auth = b"Authorization: Bearer %s\r\n" % token.encode() if token else b""
        c.send(b"%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (method.encode(), path.encode(), auth))
        return c.read_response(method=method)

    def test_head_on_every_get_endpoint(self):
        d = self.canaryd(token="tok")
        with self.raw(d.control) as c:
            for path in ("/healthz", "/readyz", "/api/status", "/api/history", "/metrics"):
                with self.subTest(path=path):
                    get = self.exchange(c, "GET", path, "tok")
                    head = self.exchange(c, "HEAD", path, "tok")
                    self.assertEqual(head.status, get.status)
                    self.assertEqual(head.header("Content-Type"), get.header("Content-Type"))
                    if path != "/metrics":   # its values move between two calls
                        self.assertEqual(head.header("Content-Length"), str(len(get.body)))
                    self.assertTrue(int(head.header("Content-Length")) > 0)
            # the HEAD answers carried no body: the connection is still in step
            self.assertEqual(self.exchange(c, "GET", "/healthz").body, b"ok\n")
            r = self.exchange(c, "PUT", "/api/status", "tok")
            self.assertEqual(r.status, 405)
            self.assertEqual(r.header("Allow"), "GET, HEAD")
            r = self.exchange(c, "POST", "/healthz")
            self.assertEqual(r.status, 405)
            self.assertEqual(r.header("Allow"), "GET, HEAD")
            r = self.exchange(c, "HEAD", "/api/weight", "tok")
            self.assertEqual(r.status, 405)
            self.assertEqual(r.header("Allow"), "PUT")

    def test_401_names_the_bearer_scheme(self):
        d = self.canaryd(token="tok")
        with self.raw(d.control) as c:
            for token in (None, "wrong"):
                r = self.exchange(c, "GET", "/api/status", token)
                self.assertEqual(r.status, 401)
                self.assertTrue(r.header("WWW-Authenticate").startswith("Bearer"), r.headers)
            self.assertEqual(self.exchange(c, "GET", "/api/status", "tok").status, 200)


if __name__ == "__main__":
    support.main()
