#!/usr/bin/env python3
"""Slow clients cannot hold the service (contract section 3: headers not complete within client_header
get 408 and the connection is closed).

With timeouts.client_header 2s: 200 connections each trickle a partial request header, one byte every
500 ms, from one selector loop; meanwhile normal requests (on a kept-alive connection and on fresh
connections) keep getting 200 in under 1 s each; every slow connection is closed by canaryd (408 or a
plain close) within client_header + 1 s of its first byte; canaryd_active_connections{side="client"}
returns to 0. If slowhttptest is installed, a slowloris run of it must also find the service available.
"""

import csv
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import LOOPBACK, IntegrationTest, RawClient, serve_fixed, status_of, wait_until  # noqa: E402

CLIENT_HEADER = 2.0
SLOW_CONNECTIONS = 200
TRICKLE = 0.5            # one byte per slow connection this often
SLOW_PHASE = 6.0         # the trickle loop never runs longer than this
GRACE = 1.0              # a slow connection must be closed by first byte + CLIENT_HEADER + GRACE
PROBE_LIMIT = 1.0        # each normal request must be answered within this
PARTIAL = b"GET /slow HTTP/1.1\r\nHost: test\r\nUser-Agent: slowloris\r\nX-Slow: " + b"a" * 200


class Prober:
    """A thread sending normal GETs until stopped: one on a kept-alive connection and one on a fresh
    connection per round. Records (kind, status or error, seconds) for each."""

    def __init__(self, port, pause=0.1):
        self.port = port
        self.pause = pause
        self.results = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_event.set()
        self.thread.join(10)

    def _one(self, kind, client, data):
        t = time.monotonic()
        try:
            client.send(data)
            r = client.read_response()
            status = r.status if r.complete else "incomplete %s" % r.status
        except (OSError, EOFError, ValueError) as e:
            status = repr(e)
        self.results.append((kind, status, time.monotonic() - t))
        return status == 200

    def _run(self):
        keep = None
        while not self.stop_event.is_set():
            if keep is None:
                try:
                    keep = RawClient(self.port, timeout=3.0)
                except OSError as e:
                    self.results.append(("keep-alive", "connect: %r" % e, 0.0))
                    time.sleep(self.pause)
                    continue
            if not self._one("keep-alive", keep, b"GET /probe HTTP/1.1\r\nHost: probe\r\n\r\n"):
                keep.close()
                keep = None
            t = time.monotonic()
            try:
                with RawClient(self.port, timeout=3.0) as fresh:
                    self._one("fresh", fresh, b"GET /probe HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            except OSError as e:
                self.results.append(("fresh", "connect: %r" % e, time.monotonic() - t))
            self.stop_event.wait(self.pause)
        if keep is not None:
            keep.close()

    def problems(self):
        return [r for r in self.results if r[1] != 200 or r[2] >= PROBE_LIMIT]


class SlowConn:
    def __init__(self, sock):
        self.sock = sock
        self.sent = 0
        self.first = None         # monotonic time of the first byte sent
        self.closed_at = None
        self.how = None           # eof, reset, send-error
        self.got = bytearray()


def active_clients(d):
    return d.metrics().value("canaryd_active_connections", side="client")


class SlowlorisTest(IntegrationTest):
    def start_canaryd(self):
        up = self.raw_upstream(serve_fixed())
        return self.canaryd(endpoints=[(up.port, "v1")], canary=None,
                            timeouts={"client_header": "%ds" % CLIENT_HEADER})

    def test_trickling_clients_are_cut_off_and_others_served(self):
        d = self.start_canaryd()
        self.assertEqual(d.get("/").status, 200)
        prober = Prober(d.listen).start()
        self.addCleanup(prober.stop)
        sel = selectors.DefaultSelector()
        conns = []
        try:
            started = time.monotonic()
            for _ in range(SLOW_CONNECTIONS):
                s = socket.create_connection((LOOPBACK, d.listen), timeout=2.0)
                s.setblocking(False)
                c = SlowConn(s)
                s.send(PARTIAL[:1])
                c.first = time.monotonic()
                c.sent = 1
                conns.append(c)
                sel.register(s, selectors.EVENT_READ, c)
            opened = time.monotonic() - started
            next_tick = time.monotonic() + TRICKLE
            deadline = started + SLOW_PHASE

            def close(c, how):
                c.closed_at = time.monotonic()
                c.how = how
                sel.unregister(c.sock)
                c.sock.close()

            while time.monotonic() < deadline and any(c.closed_at is None for c in conns):
                now = time.monotonic()
                if now >= next_tick:
                    next_tick += TRICKLE
                    for c in conns:
                        if c.closed_at is not None:
                            continue
                        try:
                            c.sock.send(PARTIAL[c.sent % len(PARTIAL):c.sent % len(PARTIAL) + 1])
                            c.sent += 1
                        except BlockingIOError:
                            pass
                        except OSError:
                            close(c, "send-error")
                for key, _ in sel.select(max(0.0, min(next_tick, deadline) - time.monotonic())):
                    c = key.data
                    try:
                        data = c.sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        close(c, "reset")
                        continue
                    if data:
                        c.got += data
                    else:
                        close(c, "eof")
        finally:
            for c in conns:
                if c.closed_at is None:
                    sel.unregister(c.sock)
                    c.sock.close()
            sel.close()
        # keep probing a moment after the slow phase too
        time.sleep(0.3)
        prober.stop()

        late = [c for c in conns if c.closed_at is None or c.closed_at - c.first > CLIENT_HEADER + GRACE]
        hows = {}
        for c in conns:
            kind = "still open" if c.closed_at is None else "%s after %s" % (
                c.how, "408" if status_of(bytes(c.got)) == 408 else ("nothing" if not c.got else repr(bytes(c.got[:40]))))
            hows[kind] = hows.get(kind, 0) + 1
        lifetimes = sorted(c.closed_at - c.first for c in conns if c.closed_at is not None)
        probes = prober.results
        slowest = max((r[2] for r in probes), default=0.0)
        print("\n%d slow connections opened in %.2f s; outcomes %s; closed after %.2f..%.2f s (median %.2f); "
              "%d probe requests, slowest %.3f s" % (
                  len(conns), opened, hows, lifetimes[0] if lifetimes else -1, lifetimes[-1] if lifetimes else -1,
                  lifetimes[len(lifetimes) // 2] if lifetimes else -1, len(probes), slowest))

        if late:
            self.fail("%d slow connections not closed within %.1f s of their first byte: %s" % (
                len(late), CLIENT_HEADER + GRACE,
                ["open" if c.closed_at is None else "%.2f s %s" % (c.closed_at - c.first, c.how) for c in late[:10]]))
        wrong = [c for c in conns if c.got and status_of(bytes(c.got)) != 408]
        if wrong:
            self.fail("slow connections answered other than 408: %r" % [bytes(c.got[:80]) for c in wrong[:5]])
        self.assertGreaterEqual(len(probes), 10, "too few probe requests ran: %r" % probes)
        self.assertFalse(prober.problems(), "normal requests failed or took %.1f s or more during the attack: %r" % (
            PROBE_LIMIT, prober.problems()[:20]))
        wait_until(lambda: active_clients(d) == 0, timeout=6.0,
                   message="canaryd_active_connections{side=client} to return to 0")
        self.assertTrue(d.alive())

    def test_slowhttptest_service_stays_available(self):
        tool = shutil.which("slowhttptest")
        if tool is None:
            self.skipTest("slowhttptest is not installed (Debian package: apt-get install -y slowhttptest); "
                          "skipping the slowhttptest run")
        d = self.start_canaryd()
        self.assertEqual(d.get("/").status, 200)
        prober = Prober(d.listen, pause=0.2).start()
        self.addCleanup(prober.stop)
        stats = os.path.join(self.work.path, "slowhttptest")
        cmd = [tool, "-H", "-c", "200", "-r", "100", "-i", "1", "-l", "10",
               "-u", "http://%s:%d/" % (LOOPBACK, d.listen), "-x", "10", "-p", "3",
               "-g", "-o", stats]  # -g/-o: a CSV row per second, "Service Available" 0 when its probe failed
        t = time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            self.fail("slowhttptest did not finish within 60 s: %r" % (e.stdout or b"")[-2000:])
        took = time.monotonic() - t
        prober.stop()
        out = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", (p.stdout + p.stderr).decode(errors="replace"))
        verdicts = re.findall(r"service available:\s*(\w+)", out)
        tail = "\n".join(out.strip().splitlines()[-25:])
        try:
            with open(stats + ".csv") as f:
                rows = list(csv.DictReader(f))
        except OSError as e:
            self.fail("slowhttptest wrote no CSV (%r):\n%s" % (e, tail))
        down = [r for r in rows if int(r["Service Available"]) == 0]
        print("\nslowhttptest exit %d after %.1f s (%s); 'service available' lines %s; CSV seconds %d, unavailable %d, "
              "max connected %d; %d probe requests, slowest %.3f s" % (
                  p.returncode, took, (re.findall(r"Exit status: (.*)", out) or ["?"])[-1].strip(), verdicts,
                  len(rows), len(down), max((int(r["Connected"]) for r in rows), default=0), len(prober.results),
                  max((r[2] for r in prober.results), default=0.0)))
        self.assertTrue(verdicts and rows, "no 'service available' report from slowhttptest:\n%s" % tail)
        self.assertNotIn("NO", [v.upper() for v in verdicts], "slowhttptest found the service unavailable:\n%s" % tail)
        self.assertFalse(down, "slowhttptest's probe failed in seconds %s:\n%s" % ([r["Seconds"] for r in down], tail))
        self.assertFalse(prober.problems(), "probe requests failed or were slow during slowhttptest: %r" %
                         prober.problems()[:20])
        wait_until(lambda: active_clients(d) == 0, timeout=6.0,
                   message="canaryd_active_connections{side=client} to return to 0")
        self.assertTrue(d.alive())


if __name__ == "__main__":
    support.main()
