#!/usr/bin/env python3
"""HTTP/2 from clients (contract section 9): ALPN h2 on a TLS listener, prior knowledge on a plain
listener with `http2: true` (HTTP/1.1 still served there), every stream a request routed on its own and
relayed over the HTTP/1.1 pools with the header rules of HTTP/1.1, bodies both ways (with and without a
length), local replies as HTTP/2 responses, limits.h2_max_concurrent_streams, drain by GOAWAY, and the
protocol label of canaryd_requests_total.

Clients: curl (--http2, --http2-prior-knowledge), nghttp, and Python's h2 over a socket for what needs
frames (concurrent streams, the stream limit, GOAWAY). Upstreams: nginx and scripted Python servers."""

import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import (LOOPBACK, THREADS, IntegrationTest, free_port, response_bytes, serve_body_digest,  # noqa: E402
                     serve_fixed, serve_slow, wait_until)

try:
    import h2.config
    import h2.connection
    import h2.events
    import h2.settings
except ImportError:  # a Python of its own (pyenv, say) beside Debian's python3-h2
    sys.path.append("/usr/lib/python3/dist-packages")
    import h2.config
    import h2.connection
    import h2.events
    import h2.settings

BOUND = THREADS + 1  # the split's accuracy bound (test_routing.py)


class H2Client:
    """One HTTP/2 connection with Python's h2: requests sent at once, responses collected by stream."""

    def __init__(self, port, tls_context=None, timeout=10.0):
        sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        if tls_context is not None:
            sock = tls_context.wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()
        self.responses = {}   # stream id -> {"headers": dict, "body": bytes, "ended": bool, "reset": code}
        self.unsent = {}      # stream id -> [body bytes not sent yet (flow control), end_stream]
        self.goaway = None
        self.settings = {}

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path="/", method="GET", headers=(), body=None, end=True):
        sid = self.conn.get_next_available_stream_id()
        hs = [(":method", method), (":scheme", "http"), (":authority", "localhost"), (":path", path)] + list(headers)
        self.conn.send_headers(sid, hs, end_stream=end and body is None)
        if body is not None:
            self.unsent[sid] = [body, end]
        self.responses[sid] = {"headers": {}, "body": b"", "ended": False, "reset": None}
        self.send_bodies()
        return sid

    def send_bodies(self):
        """Sends what the windows allow of the bodies still to send."""
        for sid, (body, end) in list(self.unsent.items()):
            if self.responses[sid]["ended"] or self.responses[sid]["reset"] is not None:
                del self.unsent[sid]
                continue
            n = min(len(body), self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            while n > 0 or not body:
                self.conn.send_data(sid, body[:n], end_stream=end and n == len(body))
                body = body[n:]
                if not body:
                    break
                n = min(len(body), self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if body:
                self.unsent[sid][0] = body
            else:
                del self.unsent[sid]
        self.flush()

    def pump(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        for ev in self.conn.receive_data(data):
            r = self.responses.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.ResponseReceived):
                r["headers"] = dict(ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                r["body"] += ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                r["ended"] = True
            elif isinstance(ev, h2.events.StreamReset):
                if r is not None:
                    r["reset"] = ev.error_code
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = ev
            elif isinstance(ev, h2.events.RemoteSettingsChanged):
                self.settings.update({k: v.new_value for k, v in ev.changed_settings.items()})
        self.send_bodies()

    def wait(self, sids, until=lambda: False):
        while not until() and not all(self.responses[s]["ended"] or self.responses[s]["reset"] is not None
                                      for s in sids):
            self.pump()
        return [self.responses[s] for s in sids]

    def get(self, path="/", **kw):
        return self.wait([self.request(path, **kw)])[0]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def curl(url, *args):
    p = subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", "10"] + list(args) + [url],
                       capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode("latin-1"), p.stderr.decode("latin-1")


def self_signed(workdir):
    key, crt = os.path.join(workdir, "h2.key"), os.path.join(workdir, "h2.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True, timeout=60)
    return {"cert": crt, "key": key}


class Http2Test(IntegrationTest):
    NGINX = True

    def h2c(self, d):
        c = H2Client(d.listen)
        self.addCleanup(c.close)
        return c

    def test_alpn_h2_over_tls_with_curl_and_nghttp(self):
        tls = self_signed(self.work.path)
        d = self.canaryd(listen_tls=tls)
        url = "https://localhost:%d/headers" % d.listen
        resolve = "localhost:%d:%s" % (d.listen, LOOPBACK)
        code, out, err = curl(url, "-k", "--resolve", resolve, "--http2", "-D", "-", "-w", "|%{http_version}")
        self.assertEqual(code, 0, err)
        self.assertTrue(out.endswith("|2"), out)
        self.assertIn("x-canary-set: stable", out)
        self.assertIn("proto=https;", out)
        self.assertIn("via=2 canaryd;", out)
        # nghttp: several streams at once on one connection
        p = subprocess.run(["nghttp", "-n", "-s", "-m", "8", "https://127.0.0.1:%d/" % d.listen],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.count(" 200 "), 8, p.stdout)

    def test_prior_knowledge_and_http1_on_the_same_listener(self):
        d = self.canaryd(http2=True)
        url = "http://%s:%d/" % (LOOPBACK, d.listen)
        code, out, err = curl(url, "--http2-prior-knowledge", "-w", "|%{http_version}")
        self.assertTrue(code == 0 and out.endswith("|2") and out.startswith("v1 "), (out, err))
        code, out, err = curl(url, "-w", "|%{http_version}")
        self.assertTrue(code == 0 and out.endswith("|1.1") and out.startswith("v1 "), (out, err))
        # A listener without http2: the preface is no HTTP/1.1 request
        plain = self.canaryd(name="plain")
        code, out, err = curl("http://%s:%d/" % (LOOPBACK, plain.listen), "--http2-prior-knowledge")
        self.assertNotEqual(code, 0, out)

    def test_header_rules_per_stream(self):
        d = self.canaryd(http2=True, canary_weight=0)
        c = self.h2c(d)
        r = c.get("/headers", headers=[("x-canary", "always"), ("x-forwarded-for", "10.1.1.1"), ("te", "trailers"),
                                       ("cookie", "a=1"), ("cookie", "b=2"), ("x-custom", "yes")])
        fields = dict(kv.split("=", 1) for kv in r["body"].decode().strip().rstrip(";").split(";"))
        self.assertEqual(r["headers"][":status"], "200")
        self.assertEqual(r["headers"]["x-canary-set"], "canary")
        self.assertEqual(r["headers"]["x-canary-reason"], "header")
        self.assertEqual(r["headers"]["via"], "1.1 canaryd")
        self.assertNotIn("connection", r["headers"])
        self.assertEqual(fields["xff"], "10.1.1.1, 127.0.0.1")
        self.assertEqual((fields["proto"], fields["via"], fields["host"]), ("http", "2 canaryd", "localhost"))
        self.assertEqual((fields["canary"], fields["te"], fields["custom"]), ("", "", "yes"))
        # The next stream on the same connection is routed on its own: no override, weight 0
        r = c.get("/headers")
        self.assertEqual(r["headers"]["x-canary-set"], "stable")

    def test_a_reload_judges_override_sources_again_on_an_open_connection(self):
        d = self.canaryd(http2=True, canary_weight=0, routing={"override_sources": ["10.0.0.0/8"]})
        c = self.h2c(d)
        forced = [("x-canary", "always")]
        self.assertEqual(c.get("/", headers=forced)["headers"]["x-canary-set"], "stable", "loopback may not force")
        offset = len(d.log())
        d.write_config(routing={"override_sources": ["127.0.0.0/8"]})
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reloaded", after=offset)
        r = c.get("/", headers=forced)  # the same connection, after the reload
        self.assertEqual((r["headers"]["x-canary-set"], r["headers"]["x-canary-reason"]), ("canary", "header"))

    def test_affinity_cookie_per_stream(self):
        d = self.canaryd(http2=True, canary_weight=50, routing={"affinity": {"key": "cookie:cd", "set_cookie": "cd"}})
        c = self.h2c(d)
        first = c.get("/")
        cookie = first["headers"]["set-cookie"].split(";")[0]
        sets = {c.get("/", headers=[("cookie", cookie)])["headers"]["x-canary-set"] for _ in range(10)}
        self.assertEqual(sets, {first["headers"]["x-canary-set"]})

    def test_split_per_stream_within_the_bound(self):
        d = self.canaryd(http2=True, canary_weight=30)
        clients = [self.h2c(d) for _ in range(4)]
        canary = total = 0
        for c in clients:
            for _ in range(5):  # 5 rounds of 50 concurrent streams per connection
                for r in c.wait([c.request("/") for _ in range(50)]):
                    total += 1
                    canary += r["headers"]["x-canary-set"] == "canary"
        self.assertEqual(total, 1000)
        self.assertLessEqual(abs(canary - 300), BOUND, canary)
        wait_until(lambda: d.metrics().value("canaryd_requests_total", protocol="http2") == 1000,
                   message="1000 http2 requests counted")
        self.assertEqual(d.metrics().value("canaryd_requests_total", protocol="http1"), 0)

    def test_bodies_both_ways(self):
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, http2=True)
        c = self.h2c(d)
        body = os.urandom(700 * 1024)  # beyond every window: flow control both ways
        digest = hashlib.sha256(body).hexdigest()
        with_length = c.wait([c.request("/up", method="POST", headers=[("content-length", str(len(body)))],
                                        body=body)])[0]
        doc = json.loads(with_length["body"])
        self.assertEqual((doc["bytes"], doc["sha256"], doc["chunked"]), (len(body), digest, False))
        without = c.wait([c.request("/up", method="POST", body=body)])[0]
        doc = json.loads(without["body"])
        self.assertEqual((doc["bytes"], doc["sha256"], doc["chunked"]), (len(body), digest, True))
        # A large response: read from the upstream only as the client's window opens
        big = self.raw_upstream(serve_fixed(body=body))
        d2 = self.canaryd(name="big", endpoints=[(big.port, "v1")], canary=None, http2=True)
        c2 = self.h2c(d2)
        rs = c2.wait([c2.request("/") for _ in range(3)])
        self.assertEqual([hashlib.sha256(r["body"]).hexdigest() for r in rs], [digest] * 3)

    def test_many_streams_on_one_connection_byte_exact(self):
        # Many streams come and go on one connection: 400 in overlapping rounds of 40, uploads of every
        # size class, with or without a length, a refused body (413) and a stream the client resets in
        # between; each response must be its own, byte for byte.
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, http2=True, limits={"max_body_bytes": 300000})
        c = self.h2c(d)
        rng = __import__("random").Random(15)

        def send_round(round_):
            expected = {}
            for i in range(40):
                size = rng.choice([0, 1, 612, 16384, 70000, 299999])
                body = os.urandom(size)
                headers = [("content-length", str(size))] if i % 2 else []
                sid = c.request("/r%d-%d" % (round_, i), method="POST", headers=headers, body=body)
                expected[sid] = (size, hashlib.sha256(body).hexdigest(), not headers)
            refused = c.request("/big", method="POST", body=b"z" * 400000)
            gone = c.request("/gone", method="POST", body=b"y" * 1000, end=False)
            c.conn.reset_stream(gone)
            c.flush()
            c.unsent.pop(gone, None)
            return round_, expected, refused

        def check_round(round_, expected, refused):
            rs = dict(zip(expected, c.wait(list(expected) + [refused])))
            for sid, (size, digest, chunked) in expected.items():
                r = rs[sid]
                self.assertEqual(r["headers"].get(":status"), "200", (round_, sid, r))
                doc = json.loads(r["body"])
                # An empty body may go without chunked framing when its end came with the head.
                self.assertEqual((doc["bytes"], doc["sha256"], doc["chunked"] or size == 0),
                                 (size, digest, chunked or size == 0), (round_, sid))
            self.assertEqual(c.responses[refused]["headers"].get(":status"), "413")

        # Rounds overlap (the next is sent before the last is read): streams keep finishing while others
        # are open.
        previous = send_round(0)
        for round_ in range(1, 10):
            current = send_round(round_)
            check_round(*previous)
            previous = current
        check_round(*previous)
        # The connection is whole after all that: a last plain request.
        self.assertEqual(c.get("/last")["headers"][":status"], "200")

    def test_local_replies(self):
        d = self.canaryd(http2=True, limits={"max_body_bytes": 1000, "max_header_bytes": 2048})
        c = self.h2c(d)
        r = c.get("/", method="POST", headers=[("content-length", "5000")], body=b"x" * 5000)
        self.assertEqual(r["headers"][":status"], "413")
        r = c.get("/", method="POST", body=b"x" * 5000)  # no length: found while relaying
        self.assertEqual(r["headers"][":status"], "413")
        r = c.get("/", headers=[("x-big", "y" * 3000)])
        self.assertEqual(r["headers"][":status"], "431")
        self.assertEqual(c.get("/")["headers"][":status"], "200")  # the connection lives on
        dead = self.canaryd(name="dead", endpoints=[(free_port(), "v1")], canary=None, http2=True)
        r = self.h2c(dead).get("/")  # the connect fails
        self.assertEqual((r["headers"][":status"], r["headers"]["x-canary-set"]), ("502", "stable"))
        down = self.canaryd(name="down", endpoints=[(free_port(), "v1")], canary=None, http2=True,
                            extra="health: {path: /, interval: 100ms, timeout: 100ms, healthy_threshold: 1, "
                                  "unhealthy_threshold: 1}\n")
        c = self.h2c(down)
        # once the health checks mark it down: no healthy endpoint
        wait_until(lambda: c.get("/")["headers"][":status"] == "503", message="503 once the endpoint is down")

    def test_upstream_timeout_per_stream(self):
        # Each upstream read of a stream has the upstream timeout (the connection keeps the deadlines of
        # its streams): a stalled response head is a 504, a stalled body a reset stream, each at its own
        # deadline, and the streams answered meanwhile are untouched.
        release = threading.Event()
        self.addCleanup(release.set)

        def handler(conn, up):
            while True:
                req = conn.read_request()
                if req is None:
                    return
                if req.target == "/stall-head":
                    release.wait(20)
                    return
                if req.target == "/stall-body":
                    conn.send(response_bytes(200, headers=up.tag_headers() + [("Content-Length", "100")],
                                             body=b"x" * 10, content_length=False))
                    release.wait(20)
                    return
                conn.send(response_bytes(200, headers=up.tag_headers(), body=b"ok\n"))
        up = self.raw_upstream(handler)
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, http2=True, timeouts={"upstream": "500ms"})
        c = self.h2c(d)
        began = time.monotonic()
        head = c.request("/stall-head")
        fast = c.wait([c.request("/") for _ in range(3)])
        self.assertEqual([(r["headers"][":status"], r["body"]) for r in fast], [("200", b"ok\n")] * 3)
        body = c.request("/stall-body")  # a later deadline than the first stall's
        h, b = c.wait([head, body])
        self.assertLess(time.monotonic() - began, 10, "the stalls ended by the timeout, not by the upstream")
        self.assertEqual(h["headers"][":status"], "504")
        self.assertEqual((b["headers"][":status"], b["body"], b["ended"]), ("200", b"x" * 10, False))
        self.assertIsNotNone(b["reset"])
        self.assertEqual(c.get("/")["body"], b"ok\n")  # the connection lives on

    def test_concurrent_stream_limit(self):
        up = self.raw_upstream(serve_slow(0.5))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, http2=True,
                         limits={"h2_max_concurrent_streams": 4})
        c = self.h2c(d)
        sids = [c.request("/") for _ in range(6)]  # sent before the server's SETTINGS are read
        rs = c.wait(sids)
        self.assertEqual(c.settings.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS), 4)
        self.assertEqual(sum(r["headers"].get(":status") == "200" for r in rs), 4, rs)
        self.assertEqual(sum(r["reset"] is not None for r in rs), 2, rs)

    def test_drain_sends_goaway_and_lets_the_open_stream_finish(self):
        up = self.raw_upstream(serve_slow(1.0))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, http2=True)
        client = subprocess.Popen(["nghttp", "-v", "http://%s:%d/slow" % (LOOPBACK, d.listen)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(client.kill)
        wait_until(lambda: up.requests, message="the request upstream")
        d.send_signal(signal.SIGTERM)
        out, _ = client.communicate(timeout=20)
        self.assertIn("recv GOAWAY frame", out)
        self.assertIn(":status: 200", out)
        self.assertIn("slow done", out)
        self.assertEqual(d.wait_exit(), 0)


if __name__ == "__main__":
    support.main()
