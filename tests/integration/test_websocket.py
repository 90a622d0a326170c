#!/usr/bin/env python3
"""WebSocket tunnels (contract section 9): a handshake is routed like any request and, after the
upstream's 101, the two connections are one tunnel. With real WebSocket servers upstream (python3-websockets,
tests/integration/ws_upstream.py, one per set, telling its version on /hello) and its client: echoes of
1 B to 1 MiB messages, the split of 1,000 upgrades at weight 30, the override header, a refused
handshake as an ordinary response, a tunnel through a weight change and a SIGHUP, half-close both ways,
timeouts.tunnel_idle, a drain that keeps tunnels until timeouts.drain and closes them then, wss over a
TLS listener and to a TLS upstream, the tunnel metrics and access log line, and a failed connect of a
handshake counted toward passive ejection. HeavyEchoTest (10,000 messages) runs against the release
build only (scripts/dev release-checks)."""

import asyncio
import collections
import concurrent.futures
import json
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import THREADS, IntegrationTest, free_port, wait_until  # noqa: E402

try:
    import websockets
except ImportError:  # an interpreter of its own (pyenv, say) beside Debian's python3-websockets
    sys.path.append("/usr/lib/python3/dist-packages")
    import websockets

MIB = 1 << 20
UPSTREAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ws_upstream.py")
# Our clients: no compression (the bytes are what is tested), no keep-alive pings (silence is tested),
# large read and write buffers (the library's 64 KiB ones make it four times slower with 1 MiB messages).
CLIENT = dict(max_size=None, compression=None, ping_interval=None, close_timeout=5, open_timeout=10,
              read_limit=1 << 22, write_limit=1 << 22)
HANDSHAKE = (b"GET %s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n")


def run(coro):
    return asyncio.run(coro)


def message_sizes(n, seed):
    """n sizes from 1 B to 1 MiB spread log-uniformly (seeded), both ends included."""
    rng = random.Random(seed)
    return [1, MIB] + [min(MIB, max(1, round(2 ** rng.uniform(0, 20)))) for _ in range(n - 2)]


async def echo(url, sizes, seed, ssl_ctx=None, headers=None):
    """Sends a message of each size over one WebSocket while reading the echoes; returns (bytes each
    way, the handshake's response headers). Fails on the first echo that differs."""
    rng = random.Random(seed)
    in_flight = collections.deque()  # sent, echo not read yet: as many as the buffers on the way hold
    async with websockets.connect(url, ssl=ssl_ctx, extra_headers=headers, **CLIENT) as ws:
        async def send():
            for size in sizes:
                m = rng.randbytes(size)
                in_flight.append(m)
                await ws.send(m)

        async def receive():
            for i in range(len(sizes)):
                got = await ws.recv()
                m = in_flight.popleft()
                if got != m:
                    raise AssertionError("echo %d of %d B came back as %d different bytes" % (i, len(m), len(got)))

        await asyncio.gather(send(), receive())
        return sum(sizes), ws.response_headers


async def hello(url, headers=None, ssl_ctx=None):
    """The version of the upstream a /hello tunnel reached, and the set canaryd named."""
    async with websockets.connect(url, extra_headers=headers, ssl=ssl_ctx, **CLIENT) as ws:
        return await ws.recv(), ws.response_headers.get("X-Canary-Set")


class WsUpstream:
    """ws_upstream.py as a process of its own (the Python clients of a test must not slow it down)."""

    def __init__(self, version, tls=None):
        self.port = free_port()
        args = [sys.executable, UPSTREAM, str(self.port), version] + list(tls or ())
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            self.stop()
            raise RuntimeError("ws_upstream.py %s did not start: %r" % (version, line))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


def raw_handshake(c, path, extra=b"", fields=b""):
    """Sends a WebSocket handshake (with more field lines `fields`, and `extra` right behind it) on a
    RawClient; returns its response head."""
    c.send(HANDSHAKE % (path.encode(), fields) + extra)
    return c.read_head()


def raw_hello(port, fields=b""):
    """A handshake for /hello on a raw socket (cheaper than the library's client, for many of them): the
    version in the upstream's first frame and the set canaryd named. The socket is then closed."""
    with support.RawClient(port) as c:
        code, fields = support.parse_head(raw_handshake(c, "/hello", fields=fields))
        assert code == 101, code
        assert c._take_until(b"\x81\x02") == b"\x81\x02", "not a text frame of two bytes"  # FIN, text; length 2
        while len(c.buf) < 2 and c._fill():
            pass
        return bytes(c.buf[:2]).decode(), dict(fields).get("X-Canary-Set")


def serve_half_close(seen):
    """A raw upstream that accepts any handshake. /client-first: 101 and "early", then reads until the
    client's EOF and answers after it with what it read. /upstream-first: 101 and "bye", then ends its
    side at once and reads until the client's EOF. What it read goes into `seen`."""
    def handler(conn, up):
        head = conn.read_head()
        if head is None:
            return
        upstream_first = b" /upstream-first " in head
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" +
                  (b"bye" if upstream_first else b"early"))
        if upstream_first:
            conn.sock.shutdown(socket.SHUT_WR)
        got = bytearray(conn.buf)
        while True:
            data = conn.sock.recv(65536)
            if not data:
                break
            got += data
        seen.append(bytes(got))
        if not upstream_first:
            conn.send(b"after-eof:" + bytes(got))
            conn.sock.shutdown(socket.SHUT_WR)
    return handler


class WebSocketTest(IntegrationTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ups = {}
        try:
            for version in ("v1", "v2"):
                cls.ups[version] = WsUpstream(version)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for up in cls.ups.values():
            up.stop()
        super().tearDownClass()

    def ws_canaryd(self, **kw):
        kw.setdefault("endpoints", [(self.ups["v1"].port, "v1"), (self.ups["v2"].port, "v2")])
        return self.canaryd(**kw)

    def url(self, d, path="/"):
        return "ws://127.0.0.1:%d%s" % (d.listen, path)

    def test_echo_of_1b_to_1mib_messages_and_the_access_log_line(self):
        log = os.path.join(self.work.path, "ws-access.log")
        d = self.ws_canaryd(canary_weight=0, extra="access_log: {path: %s, format: json}\n" % log)
        sizes = message_sizes(100, seed=1)
        total, headers = run(echo(self.url(d, "/echo"), sizes, seed=1))
        self.assertEqual(headers.get("X-Canary-Set"), "stable")
        self.assertEqual(headers.get("X-Canary-Reason"), "weight")
        self.assertEqual(headers.get("X-Version"), "v1")
        self.assertEqual(headers.get("Via"), "1.1 canaryd")
        # One line, written when the tunnel closed: status 101 and the bytes of the heads and the tunnel.
        wait_until(lambda: os.path.exists(log) and open(log).read().count("\n") == 1, timeout=5,
                   message="the tunnel's access log line")
        line = json.loads(open(log).read())
        self.assertEqual((line["method"], line["target"], line["status"], line["set"]), ("GET", "/echo", 101, "stable"))
        self.assertEqual(line["endpoint"], "127.0.0.1:%d" % self.ups["v1"].port)
        self.assertGreater(line["bytes_in"], total)  # the messages, their frame heads and the request head
        self.assertGreater(line["bytes_out"], total)

    def test_1000_upgrades_at_weight_30_split_within_the_bound(self):
        d = self.ws_canaryd(canary_weight=30)
        # Four clients at a time: each worker's split is exact over whatever requests reach it, in any
        # order, so the bound holds as it does for requests one after the other (and costs a third).
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: raw_hello(d.listen), range(1000)))
        for version, set_name in results:
            self.assertEqual({"v1": "stable", "v2": "canary"}[version], set_name, "the tunnel reached another set")
        canary = sum(1 for version, _ in results if version == "v2")
        self.assertLessEqual(abs(canary - 300), THREADS + 1, "canary served %d of 1000 upgrades at 30 %%" % canary)
        m = d.metrics()
        self.assertEqual(m.value("canaryd_tunnels_total", set="canary"), canary)
        self.assertEqual(m.value("canaryd_tunnels_total", set="stable"), 1000 - canary)

    def test_override_header_forces_the_set_of_a_tunnel(self):
        d = self.ws_canaryd(canary_weight=0)
        self.assertEqual(run(hello(self.url(d, "/hello"), headers={"X-Canary": "always"})), ("v2", "canary"))
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 100})[0], 200)
        self.assertEqual(run(hello(self.url(d, "/hello"), headers={"X-Canary": "never"})), ("v1", "stable"))

    def test_refused_handshake_is_an_ordinary_response_and_the_connection_goes_on(self):
        d = self.ws_canaryd(canary_weight=0)
        c = self.raw(d.listen)
        for status in (400, 200):
            head = raw_handshake(c, "/refuse/%d" % status)
            code, fields = support.parse_head(head)
            self.assertEqual(code, status, head)
            names = [n.lower() for n, _ in fields]
            self.assertNotIn("upgrade", names, head)
            self.assertIn(("X-Canary-Set", "stable"), fields)
            length = int(dict((n.lower(), v) for n, v in fields)["content-length"])
            body = c._take_until(b"\n")
            self.assertEqual((len(body), body), (length, b"refused by v1\n"))
        # The same client connection still serves, here a handshake the upstream accepts.
        head = raw_handshake(c, "/hello")
        self.assertEqual(support.parse_head(head)[0], 101, head)
        self.assertEqual(c._take_until(b"v1"), b"\x81\x02v1")  # the upstream's first frame: text "v1"
        m = d.metrics()
        self.assertEqual(m.value("canaryd_requests_total", set="stable", code="4xx"), 1)
        self.assertEqual(m.value("canaryd_tunnels_total", set="stable"), 1)

    def test_upstream_connection_of_a_refused_handshake_is_not_reused(self):
        up = self.raw_upstream(support.serve_fixed(426, headers=[("Upgrade", "websocket")], body=b"no\n"))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, threads=1)
        c = self.raw(d.listen)
        code, fields = support.parse_head(raw_handshake(c, "/ws"))
        self.assertEqual(code, 426)
        self.assertNotIn("upgrade", [n.lower() for n, _ in fields])
        c._take_until(b"no\n")
        for _ in range(2):  # ordinary requests on the same client connection: one new upstream connection
            c.send(support.get_request("/plain"))
            self.assertEqual(c.read_response().status, 426)
        self.assertEqual(up.connections, 2, "the handshake's upstream connection was pooled and reused")

    def test_tunnel_survives_a_weight_change_and_a_sighup(self):
        d = self.ws_canaryd(canary_weight=0)

        async def scenario():
            async with websockets.connect(self.url(d, "/hello"), **CLIENT) as ws:
                self.assertEqual(await ws.recv(), "v1")
                self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 100})[0], 200)
                self.assertEqual(await hello(self.url(d, "/hello")), ("v2", "canary"), "new tunnels go to canary")
                await ws.send("after the weight change")
                self.assertEqual(await ws.recv(), "after the weight change")
                mark = len(d.log())
                d.write_config(timeouts={"upstream": "20s"})
                d.send_signal(signal.SIGHUP)
                d.wait_log(r"reloaded", after=mark)
                await ws.send(b"after the reload" * 1000)
                self.assertEqual(await ws.recv(), b"after the reload" * 1000)

        run(scenario())
        wait_until(lambda: d.metrics().value("canaryd_tunnels_active") == 0, timeout=5, message="the tunnels closed")
        self.assertEqual(d.metrics().value("canaryd_tunnels_total"), 2)

    def test_half_close_is_passed_on_both_ways(self):
        seen = []
        up = self.raw_upstream(serve_half_close(seen))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        # The client ends its side first: the upstream reads to its EOF (the frames the client sent right
        # behind its handshake first), and its answer after that still reaches the client.
        c = self.raw(d.listen)
        head = raw_handshake(c, "/client-first", extra=b"pipelined,")
        self.assertEqual(support.parse_head(head)[0], 101, head)
        self.assertEqual(c._take_until(b"early"), b"early", "bytes right behind the 101")
        c.send(b"more")
        c.sock.shutdown(socket.SHUT_WR)
        data, closed = c.read_until_close(5)
        self.assertEqual((data, closed), (b"after-eof:pipelined,more", True))
        # The upstream ends its side first: the client sees the end, and what it sends after still
        # reaches the upstream.
        c2 = self.raw(d.listen)
        head = raw_handshake(c2, "/upstream-first")
        self.assertEqual(support.parse_head(head)[0], 101, head)
        self.assertEqual(c2._take_until(b"bye"), b"bye")
        c2.sock.settimeout(5)
        self.assertEqual(c2.sock.recv(10), b"", "the upstream's end reached the client")
        c2.send(b"late words")
        c2.sock.shutdown(socket.SHUT_WR)
        wait_until(lambda: len(seen) == 2, timeout=5, message="the upstream to read to its EOF")
        self.assertEqual(seen, [b"pipelined,more", b"late words"])
        self.assertTrue(c2.closed_within(5), "the tunnel ended when both sides had")
        wait_until(lambda: d.metrics().value("canaryd_tunnels_active") == 0, timeout=5, message="no tunnel open")

    def test_tunnel_idle_closes_a_silent_tunnel_only(self):
        d = self.ws_canaryd(canary_weight=0, timeouts={"tunnel_idle": "600ms"})

        async def scenario():
            async with websockets.connect(self.url(d, "/echo"), **CLIENT) as busy, \
                    websockets.connect(self.url(d, "/echo"), **CLIENT) as silent:
                await silent.send("one")
                self.assertEqual(await silent.recv(), "one")
                quiet_since = time.monotonic()
                # The busy tunnel moves a message every 0.2 s (the timing is the scenario) for 1.2 s.
                for i in range(6):
                    await busy.send("tick %d" % i)
                    self.assertEqual(await busy.recv(), "tick %d" % i)
                    await asyncio.sleep(0.2)
                await asyncio.wait_for(silent.wait_closed(), 5)
                silent_for = time.monotonic() - quiet_since
                self.assertFalse(busy.closed, "a tunnel that moved bytes was closed")
                return silent_for

        silent_for = run(scenario())
        self.assertGreaterEqual(silent_for, 0.5)
        self.assertLess(silent_for, 3.0)

    def test_drain_keeps_tunnels_until_the_deadline_then_closes_them(self):
        d = self.ws_canaryd(canary_weight=0, timeouts={"drain": "2s"})

        async def scenario():
            async with websockets.connect(self.url(d, "/echo"), **CLIENT) as ws:
                mark = len(d.log())
                d.send_signal(signal.SIGTERM)
                sigterm = time.monotonic()
                d.wait_log(r"draining", after=mark)
                last_echo = None
                try:
                    while time.monotonic() - sigterm < 10:
                        await ws.send("still here")
                        self.assertEqual(await asyncio.wait_for(ws.recv(), 5), "still here")
                        last_echo = time.monotonic() - sigterm
                        await asyncio.sleep(0.2)  # a message every 0.2 s: the timing is the scenario
                except websockets.ConnectionClosed:
                    pass
                return last_echo, time.monotonic() - sigterm

        last_echo, closed_at = run(scenario())
        self.assertIsNotNone(last_echo, "the tunnel did not echo after SIGTERM")
        self.assertGreaterEqual(last_echo, 1.3, "the tunnel was closed before the drain deadline")
        self.assertLess(closed_at, 8.0, "the tunnel outlived the drain deadline")
        self.assertEqual(d.wait_exit(10), 0)
        self.assertIn("drain deadline passed", d.log())

    def test_hot_upgrade_old_process_keeps_its_tunnels_until_the_drain_deadline(self):
        d = self.ws_canaryd(canary_weight=0, timeouts={"drain": "2s"})

        async def scenario():
            async with websockets.connect(self.url(d, "/echo"), **CLIENT) as ws:
                mark = len(d.log())
                d.send_signal(signal.SIGUSR2)
                d.wait_log(r"hot upgrade: the new canaryd \(pid \d+\) serves", 20, after=mark)
                handed_over = time.monotonic()
                pid = int(re.findall(r"the new canaryd \(pid (\d+)\) serves", d.log()[mark:])[0])
                self.addCleanup(lambda: subprocess.run(["kill", "-KILL", str(pid)], capture_output=True))
                # New tunnels go to the successor (on the same port); the old one still echoes.
                self.assertEqual(await hello(self.url(d, "/hello")), ("v1", "stable"))
                await ws.send("across the upgrade")
                self.assertEqual(await ws.recv(), "across the upgrade")
                await asyncio.wait_for(ws.wait_closed(), 10)
                return time.monotonic() - handed_over

        closed_after = run(scenario())
        self.assertGreaterEqual(closed_after, 1.0, "the old process closed its tunnel before the drain deadline")
        self.assertEqual(d.wait_exit(10), 0)

    def test_tunnel_metrics_from_start(self):
        d = self.ws_canaryd(canary_weight=0)
        m = d.metrics()
        for set_name in ("stable", "canary"):
            self.assertEqual(m.types.get("canaryd_tunnels_active"), "gauge")
            self.assertEqual(m.types.get("canaryd_tunnels_total"), "counter")
            self.assertTrue(m.has("canaryd_tunnels_active", set=set_name), set_name)
            self.assertTrue(m.has("canaryd_tunnels_total", set=set_name), set_name)
            self.assertEqual(m.value("canaryd_tunnels_total", set=set_name), 0)

        async def scenario():
            async with websockets.connect(self.url(d, "/echo"), **CLIENT), \
                    websockets.connect(self.url(d, "/echo"), **CLIENT), \
                    websockets.connect(self.url(d, "/echo"), extra_headers={"X-Canary": "always"}, **CLIENT):
                wait_until(lambda: d.metrics().value("canaryd_tunnels_active") == 3, timeout=5,
                           message="three tunnels open")
                m = d.metrics()
                self.assertEqual(m.value("canaryd_tunnels_active", set="stable"), 2)
                self.assertEqual(m.value("canaryd_tunnels_active", set="canary"), 1)

        run(scenario())
        wait_until(lambda: d.metrics().value("canaryd_tunnels_active") == 0, timeout=5, message="the tunnels closed")
        m = d.metrics()
        self.assertEqual(m.value("canaryd_tunnels_total", set="stable"), 2)
        self.assertEqual(m.value("canaryd_tunnels_total", set="canary"), 1)
        # Each upgrade counts as a request when its tunnel starts (code 2xx: the label has no 1xx).
        self.assertEqual(m.value("canaryd_requests_total", set="stable", code="2xx"), 2)
        self.assertEqual(m.value("canaryd_requests_total", set="canary", code="2xx"), 1)

    def test_failed_handshake_connects_count_toward_passive_ejection(self):
        dead = free_port()
        # Probes every hour: the one at start fails both (a WebSocket server answers a plain GET with
        # an error), below the threshold; after that only the handshakes' connects count.
        health = "health: {path: /, interval: 1h, timeout: 1s, unhealthy_threshold: 3, ejection_time: 1h, " \
                 "max_ejected_percent: 50}\n"
        d = self.canaryd(endpoints=[(self.ups["v1"].port, "v1"), (dead, "v1"), (self.ups["v2"].port, "v2")],
                         threads=1, extra=health)
        upgrades = 0
        while "endpoint 127.0.0.1:%d ejected" % dead not in d.log():
            self.assertLess(upgrades, 20, "no ejection after %d handshakes" % upgrades)
            # Every handshake still succeeds: a failed connect is tried again on the other endpoint.
            self.assertEqual(raw_hello(d.listen, b"X-Canary: never\r\n"), ("v1", "stable"))
            upgrades += 1
        for _ in range(3):  # the worker takes the snapshot without the ejected endpoint
            raw_hello(d.listen, b"X-Canary: never\r\n")
        connects = d.metrics().value("canaryd_upstream_errors_total", set="stable", kind="connect")
        self.assertGreaterEqual(connects, 3)
        for _ in range(6):
            self.assertEqual(raw_hello(d.listen, b"X-Canary: never\r\n"), ("v1", "stable"))
        self.assertEqual(d.metrics().value("canaryd_upstream_errors_total", set="stable", kind="connect"), connects,
                         "handshakes went on to the ejected endpoint")


class SecureWebSocketTest(IntegrationTest):
    """wss: a TLS listener in front, a TLS upstream behind (a self-signed certificate for localhost)."""

    def test_wss_over_a_tls_listener_and_to_a_tls_upstream(self):
        cert, key = os.path.join(self.work.path, "ws.crt"), os.path.join(self.work.path, "ws.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True, timeout=60)
        up = WsUpstream("v1", tls=(cert, key))
        self.addCleanup(up.stop)
        plain = free_port()
        d = self.canaryd(endpoints=[(up.port, "v1", {"ca": cert, "server_name": "localhost"})], canary=None,
                         listen_tls={"cert": cert, "key": key}, extra_listen=[(plain, None)])
        support.wait_port(plain)
        ctx = ssl.create_default_context(cafile=cert)
        sizes = message_sizes(20, seed=3)
        total, headers = run(echo("wss://localhost:%d/echo" % d.listen, sizes, seed=3, ssl_ctx=ctx))
        self.assertEqual(headers.get("X-Canary-Set"), "stable")
        self.assertEqual(run(hello("wss://localhost:%d/hello" % d.listen, ssl_ctx=ctx)), ("v1", "stable"))
        # A plain listener in front of the same TLS upstream.
        run(echo("ws://127.0.0.1:%d/echo" % plain, sizes[:10], seed=4))
        wait_until(lambda: d.metrics().value("canaryd_tunnels_active") == 0, timeout=5, message="the tunnels closed")
        self.assertEqual(d.metrics().value("canaryd_tunnels_total", set="stable"), 3)


class HeavyEchoTest(IntegrationTest):
    """10,000 messages of 1 B to 1 MiB through one tunnel: against the release build (scripts/dev
    release-checks); a sanitizer build would take minutes."""

    def test_echo_10000_messages_of_1b_to_1mib(self):
        if support.sanitizers():
            self.skipTest("run against the release build (scripts/dev release-checks)")
        up = WsUpstream("v1")
        self.addCleanup(up.stop)
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        sizes = message_sizes(10000, seed=10)
        started = time.monotonic()
        total, _ = run(echo("ws://127.0.0.1:%d/echo" % d.listen, sizes, seed=10))
        took = time.monotonic() - started
        hwm = d.proc_status("VmHWM")
        print("\n    10,000 messages, %.0f MiB each way in %.1f s; canaryd peak RSS (VmHWM) %.1f MiB"
              % (total / MIB, took, hwm / 1024.0), flush=True)
        # A tunnel relays through the request's fixed buffers: the same bound as the 1 GiB transfers.
        self.assertLess(hwm, 64 * 1024, "canaryd VmHWM %.1f MiB is over 64 MiB" % (hwm / 1024.0))


if __name__ == "__main__":
    support.main()
