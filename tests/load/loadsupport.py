"""Helpers for canaryd's load-scenario tests (tests/load): wrk with a counting Lua script, a Python
keep-alive load client that classifies every request it sends, and a periodic action scheduler.

Builds on tests/integration/support.py (imported, not modified): nginx upstreams, the Canaryd process
wrapper, API calls. Standard library only; everything on 127.0.0.1; every loop is bounded in time.

Each test_*.py here is a standalone script: `python3 test_x.py --bin-dir BUILD_DIR [-k PATTERN]`,
registered with ctest under the label `load` (tests/CMakeLists.txt; `ctest -L load`, about 2 minutes on both
cores); run_all.sh runs them too.
"""

import collections
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import support  # noqa: E402  (tests/integration/support.py)
from support import LOOPBACK, wait_until  # noqa: E402,F401  (re-exported for the tests)

LOAD_SECONDS = float(os.environ.get("CANARYD_LOAD_SECONDS", "20"))   # wrk -d
LOAD_THREADS = 2                                                   # wrk -t
LOAD_CONNECTIONS = 64                                              # wrk -c
MIN_REQUESTS = 2000                                                # "at least some thousands"
CANARYD_THREADS = 2                                                # 2 cores: wrk, nginx (1 worker), canaryd


def report(scenario, **fields):
    """One greppable result line per scenario: `LOADRESULT scenario key=value ...`; every scenario's line
    has requests=, errors= and result=PASS|FAIL (scripts/dev prints those three)."""
    parts = " ".join("%s=%s" % (k, v) for k, v in fields.items())
    line = "LOADRESULT %s %s" % (scenario, parts)
    print("\n" + line, flush=True)
    return line


# ---------------------------------------------------------------- wrk

WRK_LUA = r"""
-- Counts non-2xx responses per status code (wrk's own "Non-2xx or 3xx" counter ignores 3xx).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  ok2xx = 0
  codes = ""
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok2xx = ok2xx + 1
  else
    non2xx = non2xx + 1
    if string.len(codes) < 2000 then codes = codes .. status .. "," end
  end
end

function done(summary, latency, requests)
  local bad, good, list = 0, 0, ""
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
    good = good + t:get("ok2xx")
    list = list .. t:get("codes")
  end
  local e = summary.errors
  io.write(string.format(
    "WRKLUA requests=%d ok2xx=%d non2xx=%d connect=%d read=%d write=%d timeout=%d status=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d codes=%s\n",
    summary.requests, good, bad, e.connect, e.read, e.write, e.timeout, e.status, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max, list))
end
"""


class WrkResult:
    def __init__(self, output, returncode):
        self.output = output
        self.returncode = returncode
        m = re.search(r"^WRKLUA (.*)$", output, re.M)
        if not m:
            raise AssertionError("wrk did not print the Lua summary (exit %s):\n%s" % (returncode, output))
        self.fields = dict(kv.split("=", 1) for kv in m.group(1).split())
        num = lambda k: int(self.fields[k])  # noqa: E731
        self.requests = num("requests")
        self.ok2xx = num("ok2xx")
        self.non2xx = num("non2xx")
        self.connect, self.read, self.write, self.timeout = (num("connect"), num("read"), num("write"),
                                                             num("timeout"))
        self.duration = num("duration_us") / 1e6
        self.rps = self.requests / self.duration if self.duration else 0.0
        self.p50_ms = num("p50_us") / 1000.0
        self.p99_ms = num("p99_us") / 1000.0
        self.max_ms = num("max_us") / 1000.0
        self.codes = collections.Counter(c for c in self.fields.get("codes", "").split(",") if c)
        m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
        self.wrk_non2xx_or_3xx = int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
        self.wrk_socket_errors = tuple(int(x) for x in m.groups()) if m else (0, 0, 0, 0)

    @property
    def socket_errors(self):
        return self.connect + self.read + self.write + self.timeout

    @property
    def errors(self):
        return self.non2xx + self.socket_errors

    def summary(self):
        return ("requests=%d rps=%.0f non2xx=%d codes=%s socket_errors(connect/read/write/timeout)=%d/%d/%d/%d "
                "p50=%.1fms p99=%.1fms max=%.1fms" % (
                    self.requests, self.rps, self.non2xx, dict(self.codes) or "{}", self.connect, self.read,
                    self.write, self.timeout, self.p50_ms, self.p99_ms, self.max_ms))


class Wrk:
    """wrk -t2 -c64 -dN --latency with the counting script, run in the background."""

    def __init__(self, workdir, port, seconds=None, path="/", threads=LOAD_THREADS, connections=LOAD_CONNECTIONS):
        self.seconds = seconds or LOAD_SECONDS
        wrk = shutil.which("wrk")
        if not wrk:
            raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
        self.script = os.path.join(workdir, "count.lua")
        with open(self.script, "w") as f:
            f.write(WRK_LUA)
        self.out_path = os.path.join(workdir, "wrk-%d.out" % time.time_ns())
        self.cmd = [wrk, "-t%d" % threads, "-c%d" % connections, "-d%ds" % int(self.seconds), "--latency",
                    "--timeout", "5s", "-s", self.script, "http://%s:%d%s" % (LOOPBACK, port, path)]
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self.out, stderr=subprocess.STDOUT)
        self.started = time.monotonic()

    def elapsed(self):
        return time.monotonic() - self.started

    def running(self):
        return self.proc.poll() is None

    def wait(self):
        try:
            rc = self.proc.wait(self.seconds + 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("wrk did not finish within %.0f s" % (self.seconds + 30))
        finally:
            self.out.close()
        with open(self.out_path, "rb") as f:
            output = f.read().decode(errors="replace")
        print("\n--- wrk %s\n%s" % (" ".join(self.cmd[1:]), output.rstrip()), flush=True)
        return WrkResult(output, rc)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.out.closed:
            self.out.close()


def run_spread(total, seconds, action, started=None):
    """Calls action(i) for i in 0..total-1 at evenly spread moments over `seconds` (from `started`,
    default now). Bounded: returns after the last call or when 2*seconds have passed, whichever is
    first; returns the number of calls made and the lateness of the worst call in seconds."""
    started = started if started is not None else time.monotonic()
    interval = seconds / total
    worst_late = 0.0
    done = 0
    for i in range(total):
        due = started + i * interval
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        worst_late = max(worst_late, time.monotonic() - due)
        if time.monotonic() - started > 2 * seconds:
            break
        action(i)
        done += 1
    return done, worst_late


# ---------------------------------------------------------------- Python keep-alive load client


class Outcome:
    OK = "ok"                          # complete 2xx, connection stays open
    OK_CLOSE = "ok_close"              # complete 2xx carrying Connection: close (then the server closes)
    STATUS = "non2xx"                  # complete response, status not 2xx
    EOF_NO_RESPONSE = "eof_no_response"  # clean FIN before any response byte (idle keep-alive close race)
    RESET = "reset"                    # ECONNRESET / EPIPE while sending or receiving
    TRUNCATED = "truncated"            # the response started but ended early (head or body)
    TIMEOUT = "timeout"
    CONNECT_REFUSED = "connect_refused"  # nothing listening any more (new connection)
    OTHER = "other_error"


class Record:
    __slots__ = ("client", "conn_serial", "index_on_conn", "t_send", "t_sent", "t_end", "outcome", "status",
                 "detail", "bytes", "retry_of")

    def __init__(self, client, conn_serial, index_on_conn, t_send):
        self.client = client
        self.conn_serial = conn_serial
        self.index_on_conn = index_on_conn
        self.t_send = t_send     # monotonic time the send started
        self.t_sent = None       # the request was fully handed to the kernel
        self.t_end = None
        self.outcome = None
        self.status = None
        self.detail = ""
        self.bytes = 0
        self.retry_of = None

    def __repr__(self):
        return "<req client=%d conn=%d #%d sent=%s end=%s %s %s %s>" % (
            self.client, self.conn_serial, self.index_on_conn, self.t_sent, self.t_end, self.outcome,
            self.status, self.detail)


class LoadClient:
    """`clients` threads, each with one keep-alive http.client connection, sending GET requests back to
    back until stop() or `max_seconds`. Every request is recorded with its send time and outcome.

    reconnect: after a response with Connection: close (or a clean FIN before any response byte) the
    thread opens a new connection; on a clean FIN with no response, the request is retried once on the
    new connection (the standard keep-alive race retry for an idempotent GET), recorded as a new
    request with retry_of set. With reconnect=False the thread stops after its connection closes.
    stop_on_refused: a thread whose new connection is refused stops (for a proxy that has shut down).
    """

    def __init__(self, port, clients=16, path="/", headers=None, reconnect=True, max_seconds=60.0,
                 timeout=15.0, stop_on_refused=True, pace=0.0):
        self.port = port
        self.clients = clients
        self.path = path
        self.headers = dict(headers or {})
        self.reconnect = reconnect
        self.max_seconds = max_seconds
        self.timeout = timeout
        self.stop_on_refused = stop_on_refused
        self.pace = pace
        self.records = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.conn_serial = 0
        self.threads = []
        self.started = None

    def start(self):
        self.started = time.monotonic()
        for i in range(self.clients):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            self.threads.append(t)
            t.start()
        return self

    def stop(self, timeout=None):
        self.stopping.set()
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout + 5)
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t for t in self.threads if t.is_alive()]
        if alive:
            raise AssertionError("%d load client threads did not stop in time" % len(alive))

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def _new_conn(self):
        with self.lock:
            self.conn_serial += 1
            serial = self.conn_serial
        c = http.client.HTTPConnection(LOOPBACK, self.port, timeout=self.timeout)
        return c, serial

    def _add(self, rec):
        with self.lock:
            self.records.append(rec)

    def _run(self, client):
        conn, serial = self._new_conn()
        index = 0
        retry_of = None
        deadline = self.started + self.max_seconds
        while time.monotonic() < deadline and (not self.stopping.is_set() or retry_of is not None):
            if conn is None:
                conn, serial = self._new_conn()
                index = 0
            # A new connection is made here (connect errors are recorded as such, not as sent requests).
            if conn.sock is None:
                try:
                    conn.connect()
                except ConnectionRefusedError:
                    rec = Record(client, serial, index, time.monotonic())
                    rec.t_end = rec.t_send
                    rec.outcome = Outcome.CONNECT_REFUSED
                    rec.retry_of = retry_of
                    self._add(rec)
                    retry_of = None
                    conn = None
                    if self.stop_on_refused:
                        return
                    time.sleep(0.01)
                    continue
                except OSError as e:
                    rec = Record(client, serial, index, time.monotonic())
                    rec.t_end = rec.t_send
                    rec.outcome = Outcome.OTHER
                    rec.detail = "connect: %r" % e
                    rec.retry_of = retry_of
                    self._add(rec)
                    retry_of = None
                    conn = None
                    time.sleep(0.01)
                    continue
            rec = Record(client, serial, index, time.monotonic())
            rec.retry_of = retry_of
            retry_of = None
            index += 1
            close_after = False
            try:
                conn.putrequest("GET", self.path, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    conn.putheader(k, v)
                conn.endheaders()
                rec.t_sent = time.monotonic()
                sock = conn.sock
                r = conn.getresponse()
                rec.status = r.status
                dup = None
                if r.will_close and sock is not None:
                    try:
                        dup = sock.dup()      # to see the server's close after http.client lets go
                    except OSError:
                        dup = None
                body = r.read()
                rec.bytes = len(body)
                rec.t_end = time.monotonic()
                connection = (r.getheader("Connection") or "").lower()
                will_close = r.will_close or "close" in connection
                if 200 <= r.status < 300:
                    rec.outcome = Outcome.OK_CLOSE if will_close else Outcome.OK
                else:
                    rec.outcome = Outcome.STATUS
                    rec.detail = body[:100].decode(errors="replace")
                if will_close:
                    close_after = True
                    if dup is not None:
                        self._check_closed_after(dup, rec)
            except http.client.RemoteDisconnected as e:
                # Clean EOF before a status line (a FIN, no byte of a response).
                rec.t_end = time.monotonic()
                rec.outcome = Outcome.EOF_NO_RESPONSE
                rec.detail = str(e)
                close_after = True
                if self.reconnect and index > 1:
                    retry_of = rec      # retry once on a new connection
            except (ConnectionResetError, BrokenPipeError) as e:
                rec.t_end = time.monotonic()
                rec.outcome = Outcome.RESET
                rec.detail = "%s: %s" % (type(e).__name__, e)
                close_after = True
            except http.client.IncompleteRead as e:
                rec.t_end = time.monotonic()
                rec.outcome = Outcome.TRUNCATED
                rec.detail = "IncompleteRead: %d bytes read, %s more expected" % (len(e.partial), e.expected)
                close_after = True
            except (http.client.BadStatusLine, http.client.LineTooLong, http.client.HTTPException) as e:
                rec.t_end = time.monotonic()
                rec.outcome = Outcome.TRUNCATED
                rec.detail = "%s: %s" % (type(e).__name__, e)
                close_after = True
            except socket.timeout as e:
                rec.t_end = time.monotonic()
                rec.outcome = Outcome.TIMEOUT
                rec.detail = str(e)
                close_after = True
            except OSError as e:
                rec.t_end = time.monotonic()
                rec.outcome = Outcome.OTHER
                rec.detail = "%s: %s" % (type(e).__name__, e)
                close_after = True
            self._add(rec)
            if close_after:
                conn.close()
                conn = None
                if not self.reconnect:
                    return
            if self.pace:
                time.sleep(self.pace)

    @staticmethod
    def _check_closed_after(sock, rec):
        """The server said Connection: close: it must then close (FIN, no more bytes) soon."""
        try:
            sock.settimeout(2.0)
            extra = sock.recv(1)
            rec.detail = "bytes after Connection: close" if extra else "closed (FIN) after Connection: close"
        except socket.timeout:
            rec.detail = "not closed 2 s after Connection: close"
        except ConnectionResetError:
            rec.detail = "reset after Connection: close"
        except OSError as e:
            rec.detail = "after Connection: close: %r" % e
        finally:
            sock.close()

    # ----- analysis

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def counts(self, records=None):
        return collections.Counter(r.outcome for r in (records if records is not None else self.snapshot()))


# ---------------------------------------------------------------- scenario base


class LoadTest(support.IntegrationTest):
    """The integration base with nginx (stable v1 on self.v1, 3 ports; canary v2 on self.v2, 1 port)
    and canaryd at 2 worker threads."""

    NGINX = True

    def canaryd(self, name=None, endpoints=None, start=True, **kw):
        kw.setdefault("threads", CANARYD_THREADS)
        return super().canaryd(name, endpoints, start, **kw)

    def run_wrk(self, d, path="/"):
        w = Wrk(self.work.path, d.listen, path=path)
        self.addCleanup(w.kill)
        return w

    def assert_wrk_clean(self, scenario, result, d, extra=None):
        """The pass condition of the wrk scenarios; prints the LOADRESULT line either way."""
        m5 = None
        try:
            m = d.metrics()
            m5 = int(m.value("canaryd_requests_total", code="5xx"))
        except Exception:  # noqa: BLE001 - the proxy may be gone; that shows as an error elsewhere
            pass
        fields = dict(requests=result.requests, errors=result.errors, rps="%.0f" % result.rps, non2xx=result.non2xx,
                      socket_errors=result.socket_errors, connect=result.connect, read=result.read,
                      write=result.write, timeout=result.timeout, codes=dict(result.codes) or "{}",
                      canaryd_5xx_metric=m5)
        fields.update(extra or {})
        ok = result.errors == 0 and result.requests >= MIN_REQUESTS and d.alive()
        fields["result"] = "PASS" if ok else "FAIL"
        report(scenario, **fields)
        self.assertTrue(d.alive(), "canaryd exited during the run:\n%s" % d.log()[-3000:])
        self.assertGreaterEqual(result.requests, MIN_REQUESTS, "too few requests: " + result.summary())
        self.assertEqual(result.non2xx, 0, "non-2xx responses under load: " + result.summary())
        self.assertEqual(result.socket_errors, 0, "socket errors under load: " + result.summary())


def main():
    support.main()
