#!/usr/bin/env python3
"""Bodies are streamed and re-framed: 1 GiB each way intact with canaryd's peak RSS under 64 MiB,
a 64 MiB chunked upload, a close-delimited upstream response re-chunked for an HTTP/1.1 client, an
upstream's gzip transfer coding kept for the client, an upstream dying mid-body never presented as
a complete response (contract sections 2 and 3), and large Content-Length bodies spliced through a pipe
without a byte or a descriptor lost."""

import gzip
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, Pattern, free_port, serve_body_digest  # noqa: E402

GIB = 1 << 30
MIB = 1 << 20
RSS_LIMIT_KIB = 64 * 1024


def serve_pattern(size, seed, headers=None):
    """A handler answering every request with the deterministic Pattern(size, seed) (Content-Length)."""
    def handler(conn, up):
        while True:
            req = conn.read_request()
            if req is None:
                return
            head = ["HTTP/1.1 200 OK", "Content-Length: %d" % size, "X-Version: %s" % up.version]
            head += ["%s: %s" % kv for kv in (headers or [])]
            conn.send(("\r\n".join(head) + "\r\n\r\n").encode())
            for block in Pattern(size, seed).blocks():
                conn.send(block)
    return handler


class HugeTransferTest(IntegrationTest):
    """Each test runs its own canaryd so that VmHWM measures that one transfer."""

    def size(self):
        # The bound is the release build's (scripts/dev runs this test against it with the whole GiB);
        # under a sanitizer, where only the bytes are checked, 128 MiB take the same relay paths
        # thousands of times, and a GiB would cost the sanitizer run half a minute of two cores.
        return 128 * MIB if support.sanitizers() else GIB

    def report_rss(self, d, what, seconds):
        hwm = d.proc_status("VmHWM")
        print("\n    %s: canaryd peak RSS (VmHWM) %.1f MiB, %.1f s" % (what, hwm / 1024.0, seconds), flush=True)
        if support.sanitizers():
            # A sanitizer's shadow memory and quarantine are not canaryd's: the bound holds for the release
            # build (scripts/dev runs this test against it too); the transfer itself was checked above.
            print("    (64 MiB bound not checked: canaryd built with %s sanitizer)" % "+".join(sorted(support.sanitizers())))
            return
        self.assertLess(hwm, RSS_LIMIT_KIB, "%s: canaryd VmHWM %.1f MiB is over 64 MiB" % (what, hwm / 1024.0))

    def test_1gib_upload_intact_under_64mib_rss(self):
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        size = self.size()
        pattern = Pattern(size, seed=7)
        c = self.raw(d.listen, timeout=120)
        t = time.monotonic()
        c.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Length: %d\r\n\r\n" % size)
        sent = hashlib.sha256()
        for block in pattern.blocks():
            sent.update(block)
            c.send(block)
        r = c.read_response()
        took = time.monotonic() - t
        self.assertEqual(r.status, 200, r)
        doc = json.loads(r.body)
        self.assertEqual(doc["bytes"], size, doc)
        self.assertEqual(doc["sha256"], sent.hexdigest(), "the upstream received different bytes")
        self.report_rss(d, "%d MiB upload" % (size >> 20), took)

    def test_1gib_download_intact_under_64mib_rss(self):
        size = self.size()
        up = self.raw_upstream(serve_pattern(size, seed=8))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = self.raw(d.listen, timeout=120)
        t = time.monotonic()
        c.send(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        r, count, digest = c.read_response_digest()
        took = time.monotonic() - t
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.complete, "the response ended early after %d of %d bytes" % (count, size))
        self.assertEqual(count, size)
        self.assertEqual(digest, Pattern(size, seed=8).sha256(), "the client received different bytes")
        self.report_rss(d, "%d MiB download" % (size >> 20), took)


class SmallWindowClient(support.RawClient):
    """A RawClient whose socket has a 4 KiB receive buffer, set before connecting so that the window
    it advertises stays small: canaryd's writes to it come back short."""

    def __init__(self, port, timeout=30.0):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(timeout)
        sock.connect((support.LOOPBACK, port))
        support.BufferedSocket.__init__(self, sock)


class StreamingTest(IntegrationTest):
    def test_body_for_a_client_slower_than_the_upstream_arrives_whole(self):
        # A Content-Length body moves through the worker's shared buffer only between a recv() and a
        # send() that do not wait (or, this large, through a pipe with splice()); what this client
        # cannot take at once must wait in the request's own memory. Two responses on one connection: the second shows the exchange ended in step.
        size = 8 * MIB
        up = self.raw_upstream(serve_pattern(size, seed=10))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = SmallWindowClient(d.listen)
        try:
            for _ in range(2):
                c.send(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
                r, count, digest = c.read_response_digest()
                self.assertEqual(r.status, 200, r)
                self.assertTrue(r.complete, "the response ended early after %d bytes" % count)
                self.assertEqual(count, size)
                self.assertEqual(digest, Pattern(size, seed=10).sha256(), "the client received different bytes")
        finally:
            c.close()

    def test_64mib_chunked_upload(self):
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        pattern = Pattern(64 * MIB, seed=9)
        c = self.raw(d.listen, timeout=60)
        c.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        sizes = [1, 1000, 65536, 300000, MIB, 7]
        i = 0
        for block in pattern.blocks():
            while block:
                n = sizes[i % len(sizes)]
                i += 1
                piece, block = block[:n], block[n:]
                c.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
        c.send(b"0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        doc = json.loads(r.body)
        self.assertEqual((doc["bytes"], doc["sha256"]), (64 * MIB, pattern.sha256()),
                         "a 64 MiB chunked upload arrived as %s" % doc)
        self.assertTrue(doc["complete"])

    def test_content_length_upload_arrives_with_content_length(self):
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        body = os.urandom(3 * MIB + 17)
        r = d.get("/")  # warm a pooled connection first
        self.assertEqual(r.status, 200)
        r = support.http_request(d.listen, "PUT", "/x", body=body, headers={"Content-Type": "application/x"})
        self.assertEqual(r.status, 200)
        req = up.requests[-1]
        self.assertEqual(req.header("Content-Length"), str(len(body)))
        self.assertEqual(req.body, body)

    def test_upstream_answering_before_the_body_is_read(self):
        # nginx refuses an 8 MiB body at once (client_max_body_size 1m): its 413 reaches the client.
        port = free_port()
        self.nginx_server([(port, "v1")])
        d = self.canaryd(endpoints=[(port, "v1")], canary=None)
        c = self.raw(d.listen, timeout=20)
        body = os.urandom(8 * MIB)
        c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body))
        try:
            c.send(body)
        except OSError:
            pass  # canaryd may stop reading once the answer is in
        r = c.read_response()
        self.assertEqual(r.status, 413, r)
        self.assertIn(b"413 Request Entity Too Large", r.body)
        self.assertTrue(r.complete)
        self.assertEqual(d.get("/").status, 200)

    def test_close_delimited_response_is_chunked_to_an_http11_client(self):
        pattern = Pattern(5 * MIB + 123, seed=10)

        def close_delimited(conn, up):
            if conn.read_request() is None:
                return
            conn.send(b"HTTP/1.0 200 OK\r\nX-Version: v1\r\nContent-Type: application/octet-stream\r\n\r\n")
            for block in pattern.blocks():
                conn.send(block)
            conn.close()
        up = self.raw_upstream(close_delimited)
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = self.raw(d.listen, timeout=30)
        for _ in range(2):  # the client connection stays usable
            c.send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            h = hashlib.sha256()
            r = c.read_response(sink=h.update)
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.chunked, "a close-delimited upstream body reached an HTTP/1.1 client without "
                            "chunked framing: %r" % r.raw_head)
            self.assertTrue(r.complete, "the chunked response had no last chunk")
            self.assertEqual(h.hexdigest(), pattern.sha256())

    def test_close_delimited_response_to_an_http10_client(self):
        def close_delimited(conn, up):
            if conn.read_request() is None:
                return
            conn.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\nX-Version: v1\r\n\r\nall of it\n")
            conn.close()
        up = self.raw_upstream(close_delimited)
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = self.raw(d.listen)
        c.send(b"GET / HTTP/1.0\r\nHost: t\r\n\r\n")
        data, closed = c.read_until_close(5)
        self.assertTrue(closed)
        self.assertNotIn(b"transfer-encoding", data.lower(), "chunked sent to an HTTP/1.0 client: %r" % data)
        self.assertTrue(data.endswith(b"\r\n\r\nall of it\n"), data)


def dechunk(data):
    """The body of a chunked message body `data` (strict enough for what canaryd writes), and the rest."""
    body = b""
    while True:
        line, _, data = data.partition(b"\r\n")
        size = int(line, 16)
        if size == 0:
            assert data.startswith(b"\r\n"), "a trailer section or no final CRLF: %r" % data[:80]
            return body, data[2:]
        body += data[:size]
        assert data[size:size + 2] == b"\r\n", "no CRLF after chunk data"
        data = data[size + 2:]


class TransferCodingTest(IntegrationTest):
    """An upstream's transfer codings other than chunked stay with the body, which canaryd relays as it
    is, so the client must be told of them (the old head said only "chunked", and the client took the
    gzip bytes for the body)."""

    TEXT = b"".join(b"line %d of a body the upstream gzips as a transfer coding\n" % i for i in range(2000))

    def gzip_upstream(self, te, chunked):
        packed = gzip.compress(self.TEXT)

        def handler(conn, up):
            while True:
                if conn.read_request() is None:
                    return
                conn.send(b"HTTP/1.1 200 OK\r\nX-Version: v1\r\nContent-Type: text/plain\r\n"
                          b"Transfer-Encoding: " + te + b"\r\n\r\n")
                if not chunked:
                    conn.send(packed)
                    conn.close()  # the body ends with the connection
                    return
                for i in range(0, len(packed), 1000):
                    piece = packed[i:i + 1000]
                    conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                conn.send(b"0\r\n\r\n")
        return self.raw_upstream(handler)

    def fetch(self, d, version):
        c = self.raw(d.listen)
        c.send(b"GET /text " + version + b"\r\nHost: t\r\nConnection: close\r\n\r\n")
        data, closed = c.read_until_close(10)
        self.assertTrue(closed)
        head, _, body = data.partition(b"\r\n\r\n")
        status, headers = support.parse_head(head)
        self.assertEqual(status, 200, head)
        return {k.lower(): v for k, v in headers}, body

    def test_gzip_chunked_reaches_an_http11_client_as_gzip_chunked(self):
        for te, chunked in ((b"gzip, chunked", True), (b"gzip", False)):
            with self.subTest(te=te):
                up = self.gzip_upstream(te, chunked)
                d = self.canaryd(name="gzip-%d" % chunked, endpoints=[(up.port, "v1")], canary=None)
                headers, body = self.fetch(d, b"HTTP/1.1")
                self.assertEqual(headers.get("transfer-encoding"), "gzip, chunked", headers)
                self.assertNotIn("content-encoding", headers)
                packed, rest = dechunk(body)
                self.assertEqual(rest, b"")
                self.assertEqual(gzip.decompress(packed), self.TEXT)

    def test_gzip_chunked_reaches_an_http10_client_as_content_encoding(self):
        # An HTTP/1.0 client must not get Transfer-Encoding (RFC 9112 6.1): it reads until the close,
        # and Content-Encoding tells it to un-gzip.
        up = self.gzip_upstream(b"gzip, chunked", True)
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        headers, body = self.fetch(d, b"HTTP/1.0")
        self.assertNotIn("transfer-encoding", headers)
        self.assertEqual(headers.get("content-encoding"), "gzip", headers)
        self.assertEqual(gzip.decompress(body), self.TEXT)


KIB = 1 << 10


def serve_sized(ended=None):
    """A handler answering GET /SIZE/SEED with Pattern(SIZE, SEED) (Content-Length), and GET /cut/SIZE
    with the head of a SIZE-byte body, 1 MiB of it and a close. Each connection that ends (either
    side closing it) is appended to `ended`."""
    def handler(conn, up):
        try:
            while True:
                req = conn.read_request()
                if req is None:
                    return
                parts = req.target.strip("/").split("/")
                cut = parts[0] == "cut"
                size = int(parts[1] if cut else parts[0])
                conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                for block in Pattern(MIB if cut else size, 0 if cut else int(parts[1])).blocks():
                    conn.send(block)
                if cut:
                    return
        finally:
            if ended is not None:
                ended.append(conn)
    return handler


def descriptors(pid):
    """A process's open descriptors by kind: {"pipe": n, "socket": n, ...}."""
    kinds = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            kind = os.readlink("/proc/%d/fd/%s" % (pid, fd)).split(":")[0]
        except FileNotFoundError:
            continue  # closed while listed
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


class SpliceTest(IntegrationTest):
    """A Content-Length body with at least 32 KiB still to come between two plain sockets moves through
    a pipe with splice(); a smaller one is copied. One worker thread, so that one pipe pool serves every
    request."""

    # Both sides of the threshold, counted from the whole body and from what follows the first read.
    SIZES = [0, 1, 20 * KIB, 32 * KIB - 1, 32 * KIB, 32 * KIB + 1, 48 * KIB, 64 * KIB, 100 * KIB + 7, 3 * MIB + 5]

    def test_bodies_above_and_below_the_threshold_arrive_byte_exact_both_ways(self):
        sized = self.raw_upstream(serve_sized())
        digests = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(sized.port, "v1"), (digests.port, "v2")], threads=1)
        c = self.raw(d.listen)
        for seed, size in enumerate(self.SIZES):
            c.send(b"GET /%d/%d HTTP/1.1\r\nHost: t\r\n\r\n" % (size, seed))
            r, count, digest = c.read_response_digest()
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.complete, "%d bytes: ended after %d" % (size, count))
            self.assertEqual((count, digest), (size, Pattern(size, seed).sha256()), "download of %d bytes" % size)
        for seed, size in enumerate(self.SIZES):
            c.send(b"POST /up HTTP/1.1\r\nHost: t\r\nX-Canary: always\r\nContent-Length: %d\r\n\r\n" % size)
            for block in Pattern(size, seed).blocks():
                c.send(block)
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            doc = json.loads(r.body)
            self.assertEqual((doc["bytes"], doc["sha256"]), (size, Pattern(size, seed).sha256()),
                             "upload of %d bytes" % size)

    def test_a_body_that_arrives_in_pieces_arrives_whole(self):
        # Between the pieces the pipe is empty and the upstream silent: the relay waits for it.
        size = 600 * KIB
        pieces = [bytes(b) for b in Pattern(size, 3).blocks(block_size=100 * KIB)]

        def trickle(conn, up):
            while conn.read_request() is not None:
                conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                for piece in pieces:
                    conn.send(piece)
                    time.sleep(0.02)  # the pause is the scenario
        up = self.raw_upstream(trickle)
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, threads=1)
        c = self.raw(d.listen)
        for _ in range(2):
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            r, count, digest = c.read_response_digest()
            self.assertTrue(r.complete, "ended after %d bytes" % count)
            self.assertEqual((count, digest), (size, Pattern(size, 3).sha256()))

    def test_an_upstream_stalling_mid_body_times_out(self):
        # timeouts.upstream bounds each wait for the upstream's next bytes, spliced or not.
        release = threading.Event()
        self.addCleanup(release.set)

        def stall(conn, up):
            if conn.read_request() is not None:
                conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (4 * MIB))
                conn.send(b"s" * MIB)
                release.wait(30)  # the stall is the scenario
        up = self.raw_upstream(stall)
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, threads=1, timeouts={"upstream": "500ms"})
        c = self.raw(d.listen)
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        t = time.monotonic()
        r, count, _ = c.read_response_digest()
        self.assertFalse(r.complete, "a stalled body presented as complete")
        self.assertEqual(count, MIB, "the bytes sent before the stall did not all arrive")
        self.assertTrue(c.closed_within(5))
        self.assertGreaterEqual(time.monotonic() - t, 0.4)
        support.wait_until(lambda: d.metrics().value("canaryd_upstream_errors_total", kind="timeout") == 1,
                           message="one upstream timeout counted")

    def test_a_client_leaving_mid_body_ends_the_upstream_connection_and_leaks_no_pipe(self):
        ended = []
        up = self.raw_upstream(serve_sized(ended))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, threads=1)

        def download(c, size, seed):
            c.send(b"GET /%d/%d HTTP/1.1\r\nHost: t\r\n\r\n" % (size, seed))
            r, count, digest = c.read_response_digest()
            self.assertTrue(r.complete, "ended after %d bytes" % count)
            self.assertEqual((count, digest), (size, Pattern(size, seed).sha256()))

        # The baseline: one pipe made and kept, one upstream connection idle in the pool, one client
        # connection open (so that no client connection is still closing when descriptors are counted).
        before = descriptors(d.pid)
        first = self.raw(d.listen)
        download(first, 4 * MIB, 1)
        self.assertEqual(up.connections, 1)
        baseline = descriptors(d.pid)
        self.assertEqual(baseline.get("pipe", 0), before.get("pipe", 0) + 2, "the body did not go through a pipe")
        first.close()
        # A client that leaves with most of a 64 MiB body still to come: canaryd's pipe and socket
        # buffers are full when it goes. Each exchange ends (canaryd closes its upstream connection)
        # before the next starts, so that one pipe serves them all.
        for i in range(3):
            c = support.RawClient(d.listen)
            c.send(b"GET /%d/2 HTTP/1.1\r\nHost: t\r\n\r\n" % (64 * MIB))
            c.read_head()
            c.sock.recv(256 * KIB)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset
            c.close()
            support.wait_until(lambda: len(ended) == i + 1, 10, message="upstream connection %d closed" % (i + 1))
        # An upstream that closes 1 MiB into a 16 MiB body: the client sees it end unfinished.
        with support.RawClient(d.listen) as c:
            c.send(b"GET /cut/%d HTTP/1.1\r\nHost: t\r\n\r\n" % (16 * MIB))
            r = c.read_response()
            self.assertFalse(r.complete, r)
            self.assertTrue(c.closed_within(5))
        # No upstream connection a relay gave up on was used again: each failed exchange had its own.
        last = self.raw(d.listen)
        download(last, 4 * MIB, 4)
        self.assertEqual(up.connections, 5)
        self.assertTrue(d.alive())
        # Every pipe given back with bytes in it was closed, every empty one kept, every connection a
        # relay gave up on closed: the counts come back to the baseline's.
        support.wait_until(lambda: descriptors(d.pid) == baseline, 10,
                           message="canaryd's descriptors back to %r (now %r)" % (baseline, descriptors(d.pid)))


class UpstreamDiesTest(IntegrationTest):
    def dying(self, head, first_part, how):
        def handler(conn, up):
            if conn.read_request() is None:
                return
            conn.send(head + first_part)
            time.sleep(0.2)  # let the bytes leave before the close (the timing is the scenario)
            if how == "reset":
                conn.reset()
            else:
                conn.close()
        return handler

    def assert_incomplete(self, handler, what):
        up = self.raw_upstream(handler)
        d = self.canaryd(name=what.replace(" ", "-"), endpoints=[(up.port, "v1")], canary=None)
        c = self.raw(d.listen, timeout=10)
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        t = time.monotonic()
        try:
            r = c.read_response()
        except EOFError:
            r = None  # closed before any response: also not a complete message
        if r is not None:
            self.assertFalse(r.complete, "%s: the client got a truncated body presented as complete: %r" % (what, r))
        self.assertTrue(c.closed_within(5), "%s: the client connection stayed open" % what)
        self.assertLess(time.monotonic() - t, 6)
        # canaryd itself carries on
        self.assertTrue(d.alive())
        self.assertEqual(support.http_request(d.control, "GET", "/healthz").status, 200)

    def test_content_length_body_cut_by_close(self):
        self.assert_incomplete(self.dying(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n", b"x" * MIB, "close"),
                               "CL body cut by FIN")

    def test_content_length_body_cut_by_reset(self):
        self.assert_incomplete(self.dying(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n", b"x" * MIB, "reset"),
                               "CL body cut by RST")

    def test_chunked_body_cut_by_close(self):
        self.assert_incomplete(self.dying(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                          b"100000\r\n" + b"y" * MIB + b"\r\n", "close"),
                               "chunked body cut by FIN")

    def test_chunked_body_cut_inside_a_chunk(self):
        self.assert_incomplete(self.dying(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                          b"100000\r\n" + b"y" * 1000, "close"),
                               "chunked body cut inside a chunk")


if __name__ == "__main__":
    support.main()
