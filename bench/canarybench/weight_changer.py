"""Weight changes during load: WeightChanger, a thread sending PUT /api/weight at a fixed rate over one
keep-alive connection, and the small HTTP client pieces it (and bench/callgrind.py) uses."""

import collections
import http.client
import json
import socket
import threading
import time

from .common import LOOPBACK, parse_head_fields
from .scenarios import WEIGHT_VALUES


def api_revision(port):
    """canaryd's current revision (GET /api/status), or None."""
    try:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
        try:
            conn.request("GET", "/api/status")
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        return json.loads(body)["revision"] if resp.status == 200 else None
    except (OSError, http.client.HTTPException, ValueError, KeyError):
        return None


def read_response(sock):
    """One HTTP/1.1 response with Content-Length from a blocking socket: (status, fields, body), field
    names in lower case. Used by the weight-change client and bench/callgrind.py."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ValueError("connection closed before a response")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    status, fields = parse_head_fields(head)
    length = int(fields.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(length - len(rest))
        if not chunk:
            raise ValueError("connection closed inside a response")
        rest += chunk
    if len(rest) > length:
        raise ValueError("bytes after the response")
    return status, fields, rest


class WeightChanger(threading.Thread):
    """Sends PUT /api/weight `rate` times per second over one keep-alive HTTP/1.1 connection, alternating
    WEIGHT_VALUES. Paced on a monotonic schedule: call k is due at start + k / rate, never sent early; a
    late one goes out at once, so a stall is caught up and the average rate holds when canaryd keeps up.
    Runs in the harness process (its CPU is counted as ours, not as other processes')."""

    def __init__(self, port, rate):
        super().__init__(name="weight-changer", daemon=True)
        self.port, self.rate = port, rate
        self.halt = threading.Event()
        self.sent = self.ok = self.connections = 0
        self.errors = collections.Counter()
        self.first_error = None
        self.latencies = []
        self.elapsed = self.cpu_s = None
        self.rev0 = self.rev1 = None

    def start(self):
        self.rev0 = api_revision(self.port)
        super().start()

    def finish(self):
        self.halt.set()
        self.join(30)
        if self.is_alive():
            self.errors["api_stuck"] += 1
        self.rev1 = api_revision(self.port)

    def run(self):
        # A plain socket and requests encoded in advance: the client shares the 2 cores with wrk and
        # canaryd, so it should cost as little as it can (http.client + json cost several times more).
        requests = [self.encode(w) for w in WEIGHT_VALUES]
        sock = None
        t0, cpu0 = time.monotonic(), time.thread_time()
        k = 0
        try:
            while not self.halt.wait(max(0.0, t0 + k / self.rate - time.monotonic())):
                if sock is None:
                    self.connections += 1
                    try:
                        sock = socket.create_connection((LOOPBACK, self.port), timeout=5)
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    except OSError as e:
                        self.sent += 1
                        self.fail("api_" + type(e).__name__, "%s: %s" % (type(e).__name__, e))
                        sock = None
                        k += 1
                        continue
                if not self.call(sock, requests[k % len(requests)]):
                    sock.close()
                    sock = None
                k += 1
        finally:
            self.elapsed = time.monotonic() - t0
            # this client shares the 2 cores with wrk and canaryd: its own cost, to tell it apart
            self.cpu_s = time.thread_time() - cpu0
            if sock is not None:
                sock.close()

    def encode(self, weight):
        body = json.dumps({"canary_weight": weight}).encode()
        return (b"PUT /api/weight HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (LOOPBACK.encode(), self.port, len(body))) + body

    def call(self, sock, request):
        """One call; False when the connection is no longer usable."""
        self.sent += 1
        t = time.monotonic()
        try:
            sock.sendall(request)
            status, fields, body = read_response(sock)
        except (OSError, ValueError) as e:
            self.fail("api_" + type(e).__name__, "%s: %s" % (type(e).__name__, e))
            return False
        self.latencies.append(time.monotonic() - t)
        if status == 200:
            self.ok += 1
        else:
            self.fail("api_%d" % status, "%d %s" % (status, body[:200].decode(errors="replace")))
        return fields.get("connection", "").lower() != "close"

    def fail(self, kind, text):
        self.errors[kind] += 1
        if self.first_error is None:
            self.first_error = "PUT /api/weight #%d: %s" % (self.sent, text)

    def summary(self):
        lat = sorted(self.latencies)
        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else None  # noqa: E731
        return collections.OrderedDict([
            ("api_sent", self.sent), ("api_ok", self.ok), ("api_connections", self.connections),
            ("api_s", self.elapsed), ("api_client_cpu_s", self.cpu_s),
            ("api_rate", self.ok / self.elapsed if self.elapsed else None),
            ("api_p50_ms", pct(0.5)), ("api_p99_ms", pct(0.99)), ("api_max_ms", lat[-1] * 1000 if lat else None),
            ("api_revisions", self.rev1 - self.rev0 if None not in (self.rev0, self.rev1) else None),
        ])

    def problems(self):
        out = [self.first_error] if self.first_error else []
        s = self.summary()
        # every applied change is a revision (CONTRACT 4): a cross-check that the 200s were changes
        if s["api_revisions"] is not None and s["api_revisions"] != self.ok:
            out.append("revision went up by %d for %d answered calls" % (s["api_revisions"], self.ok))
        if self.connections > 1:
            out.append("the control connection was opened %d times (expected one keep-alive connection)"
                       % self.connections)
        return out
