#!/usr/bin/env python3
"""HTTP/2 at size, against the release build (scripts/dev release-checks; skipped under the sanitizers,
whose shadow memory and speed are not canaryd's): 1 GiB up and 1 GiB down over ONE HTTP/2 stream
(curl --http2-prior-knowledge) intact, with canaryd's peak RSS (VmHWM) under 64 MiB, as for HTTP/1.1
(test_bodies.py HugeTransferTest); and 10,000 streams over 10 connections at canary weight 30 split
within the contract's bound (|canary - N*w/100| <= threads + 1)."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from h2client import H2Client  # noqa: E402
from support import IntegrationTest, Pattern, serve_body_digest  # noqa: E402
from test_bodies import serve_pattern  # noqa: E402

GIB = 1 << 30
RSS_LIMIT_KIB = 64 * 1024
STREAMS = 10000
CONNECTIONS = 10
IN_FLIGHT = 64                       # streams open at once on each connection (under the default 128)
WEIGHT = 30


def curl(port, path, *args):
    """curl over cleartext HTTP/2 with prior knowledge; -w goes to stderr: "<http_version> <code>"."""
    return [shutil.which("curl"), "--http2-prior-knowledge", "-sS", "--max-time", "120",
            "-w", "%{stderr}%{http_version} %{http_code}"] + list(args) + [
            "http://%s:%d%s" % (support.LOOPBACK, port, path)]


@unittest.skipUnless(shutil.which("curl"), "needs curl")
class Http2HugeTransferTest(IntegrationTest):
    """Each test runs its own canaryd so that VmHWM measures that one transfer."""

    def setUp(self):
        super().setUp()
        if support.sanitizers():
            self.skipTest("canaryd built with %s sanitizer: the 64 MiB bound and the transfer time are the "
                          "release build's (scripts/dev release-checks)" % "+".join(sorted(support.sanitizers())))

    def report_rss(self, d, what, seconds):
        hwm = d.proc_status("VmHWM")
        print("\n    %s over one HTTP/2 stream: canaryd peak RSS (VmHWM) %.1f MiB, %.1f s" % (
            what, hwm / 1024.0, seconds), flush=True)
        self.assertLess(hwm, RSS_LIMIT_KIB, "%s: canaryd VmHWM %.1f MiB is over 64 MiB" % (what, hwm / 1024.0))

    def test_1gib_upload_over_one_stream_intact_under_64mib_rss(self):
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, http2=True)
        t = time.monotonic()
        p = subprocess.Popen(curl(d.listen, "/upload", "-X", "POST", "-T", "-",
                                  "-H", "Content-Type: application/octet-stream"),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        sent = hashlib.sha256()
        for block in Pattern(GIB, seed=7).blocks():
            sent.update(block)
            p.stdin.write(block)
        p.stdin.close()
        out = p.stdout.read()
        err = p.stderr.read().decode(errors="replace")
        p.wait(60)
        took = time.monotonic() - t
        self.assertEqual(p.returncode, 0, "curl failed: %s" % err)
        self.assertEqual(err.split()[:2], ["2", "200"], "curl: HTTP version and status %r" % err)
        doc = json.loads(out)
        self.assertEqual(doc["bytes"], GIB, doc)
        self.assertTrue(doc["complete"], doc)
        self.assertEqual(doc["sha256"], sent.hexdigest(), "the upstream received different bytes")
        self.report_rss(d, "1 GiB upload", took)

    def test_1gib_download_over_one_stream_intact_under_64mib_rss(self):
        up = self.raw_upstream(serve_pattern(GIB, seed=8))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, http2=True)
        t = time.monotonic()
        p = subprocess.Popen(curl(d.listen, "/big", "-o", "-"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        got = hashlib.sha256()
        count = 0
        while True:
            block = p.stdout.read(1 << 20)
            if not block:
                break
            got.update(block)
            count += len(block)
        err = p.stderr.read().decode(errors="replace")
        p.wait(60)
        took = time.monotonic() - t
        self.assertEqual(p.returncode, 0, "curl failed: %s" % err)
        self.assertEqual(err.split()[:2], ["2", "200"], "curl: HTTP version and status %r" % err)
        self.assertEqual(count, GIB)
        self.assertEqual(got.hexdigest(), Pattern(GIB, seed=8).sha256(), "the client received different bytes")
        self.report_rss(d, "1 GiB download", took)


class StreamCounts:
    def __init__(self):
        self.lock = threading.Lock()
        self.sets = {}
        self.versions = {}
        self.failures = []

    def add(self, r):
        with self.lock:
            if r.status != 200 or r.reset is not None:
                self.failures.append((r.status, r.reset))
                return
            s, v = r.header("x-canary-set"), r.header("x-version")
            self.sets[s] = self.sets.get(s, 0) + 1
            self.versions[v] = self.versions.get(v, 0) + 1


def run_connection(port, n, counts, errors):
    """n GET streams on one connection, IN_FLIGHT open at a time."""
    try:
        c = H2Client(port, timeout=20, keep_bodies=False)
        try:
            open_ = set()
            started = 0
            while started < n or open_:
                while started < n and len(open_) < IN_FLIGHT:
                    open_.add(c.request("/"))
                    started += 1
                if not c.pump(20):
                    raise AssertionError("canaryd closed the connection with %d streams open (GOAWAY %s)"
                                         % (len(open_), c.goaway))
                for sid in [s for s in open_ if c.done(s)]:
                    open_.discard(sid)
                    counts.add(c.responses.pop(sid))
        finally:
            c.close()
    except Exception as e:  # noqa: BLE001 - reported by the test thread
        errors.append(e)


class Http2ManyStreamsTest(IntegrationTest):
    NGINX = True

    def setUp(self):
        super().setUp()
        if support.sanitizers():
            self.skipTest("10,000 streams: the release build's check (scripts/dev release-checks)")

    def test_10000_streams_over_10_connections_split_within_the_bound(self):
        d = self.canaryd(canary_weight=WEIGHT, http2=True)
        counts, errors = StreamCounts(), []
        t = time.monotonic()
        threads = [threading.Thread(target=run_connection, args=(d.listen, STREAMS // CONNECTIONS, counts, errors))
                   for _ in range(CONNECTIONS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        took = time.monotonic() - t
        self.assertEqual(errors, [])
        self.assertEqual(counts.failures, [], "streams not answered 200")
        self.assertEqual(sum(counts.sets.values()), STREAMS, counts.sets)
        self.assertEqual(counts.sets.get("canary", 0), counts.versions.get("v2", 0),
                         "X-Canary-Set and the upstream's X-Version disagree: %s %s" % (counts.sets, counts.versions))
        canary = counts.sets.get("canary", 0)
        bound = support.THREADS + 1
        print("\n    %d streams over %d connections in %.1f s: canary %d (expected %d +- %d)" % (
            STREAMS, CONNECTIONS, took, canary, STREAMS * WEIGHT // 100, bound), flush=True)
        self.assertLessEqual(abs(canary - STREAMS * WEIGHT / 100), bound, counts.sets)
        # canaryd counts a request once its last byte is written: the count may trail the responses briefly
        support.wait_until(lambda: d.metrics().value("canaryd_requests_total", protocol="http2") == STREAMS, 5,
                           message="canaryd_requests_total{protocol=\"http2\"} to reach %d" % STREAMS)


if __name__ == "__main__":
    support.main()
