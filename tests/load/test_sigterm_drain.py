#!/usr/bin/env python3
"""Load scenario 4: SIGTERM while under load.

Load: 64 connections -- 52 Python keep-alive clients sending GETs back to back (stable set: nginx), 8 idle
keep-alive connections (one request each, then quiet), and 4 slow requests in flight (X-Canary: always to a
canary upstream that answers after 3 s) when SIGTERM arrives, 14 s into the load, so that the load, the
drain and the exit fit in the 20 s of the other scenarios (CANARYD_LOAD_SECONDS). wrk is not used: once the
proxy stops accepting, new connections fail by design, so its totals would mean nothing.

Pass:
  - every request SENT before the signal got a complete 2xx response (keep-alive, or with
    Connection: close after which the server closed cleanly) -- never a reset, a truncated response, a
    non-2xx or a clean close without a response;
  - requests sent after the signal on a keep-alive connection opened before it: a complete 2xx, or a clean close (FIN)
    with no response byte (the request was not accepted); never a reset or truncated response
    (a connection opened after the signal may be refused or reset: it was never accepted);
  - every busy keep-alive client's connection ended with a `Connection: close` response or a clean FIN;
  - the idle connections are closed (FIN, no bytes) within 2 s of the signal;
  - the slow in-flight requests finish: 200, full body, Connection: close;
  - canaryd exits with status 0 before timeouts.drain (10 s) and without hitting the drain deadline.
"""

import collections
import http.client
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadsupport  # noqa: E402
import support  # noqa: E402
from loadsupport import LOOPBACK, LoadClient, LoadTest, Outcome, report  # noqa: E402

DRAIN_SECONDS = 10
SLOW_SECONDS = 3.0
LOAD_BEFORE_SIGNAL = max(6.0, loadsupport.LOAD_SECONDS - 6.0)
IDLE_CONNECTIONS = 8
SLOW_REQUESTS = 4
BUSY_CLIENTS = loadsupport.LOAD_CONNECTIONS - IDLE_CONNECTIONS - SLOW_REQUESTS     # 52: 64 connections in all


def slow_request(port, out, index):
    t0 = time.monotonic()
    c = http.client.HTTPConnection(LOOPBACK, port, timeout=SLOW_SECONDS + DRAIN_SECONDS)
    try:
        c.request("GET", "/slow/%d" % index, headers={"X-Canary": "always"})
        r = c.getresponse()
        body = r.read()
        out[index] = dict(status=r.status, body=body, connection=r.getheader("Connection"), t_send=t0,
                          t_end=time.monotonic(), error=None)
    except Exception as e:  # noqa: BLE001 - recorded and asserted
        out[index] = dict(status=None, body=b"", connection=None, t_send=t0, t_end=time.monotonic(), error=repr(e))
    finally:
        c.close()


class SigtermUnderLoad(LoadTest):
    def test_sigterm_drains_cleanly(self):
        slow = self.raw_upstream(support.serve_slow(SLOW_SECONDS), version="v2")
        d = self.canaryd("drain", endpoints=[(p, "v1") for p in self.v1] + [(slow.port, "v2")], canary_weight=0,
                         timeouts={"drain": "%ds" % DRAIN_SECONDS, "keepalive_idle": "60s", "upstream": "30s"})

        idle = []
        for _ in range(IDLE_CONNECTIONS):
            c = self.raw(d.listen)
            c.send(support.get_request("/idle"))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            idle.append(c)

        load = LoadClient(d.listen, clients=BUSY_CLIENTS, reconnect=True, stop_on_refused=True,
                          max_seconds=LOAD_BEFORE_SIGNAL + DRAIN_SECONDS + 10)
        load.start()
        self.addCleanup(lambda: load.stop(5))
        time.sleep(LOAD_BEFORE_SIGNAL - 1.0)
        slow_out = {}
        slow_threads = [threading.Thread(target=slow_request, args=(d.listen, slow_out, i), daemon=True)
                        for i in range(SLOW_REQUESTS)]
        for t in slow_threads:
            t.start()
        # The slow requests reach the upstream and wait there.
        support.wait_until(lambda: len(slow.requests) >= SLOW_REQUESTS, 5, message="slow requests upstream")
        time.sleep(0.5)

        t_signal = time.monotonic()
        d.send_signal(signal.SIGTERM)

        # Idle keep-alive connections: closed (FIN, nothing sent) soon after the signal.
        idle_results = []
        for c in idle:
            data, closed = c.read_until_close(max(0.05, t_signal + 2.0 - time.monotonic()))
            idle_results.append((closed, data))
        try:
            rc = d.proc.wait(DRAIN_SECONDS + 5)
        except Exception:  # noqa: BLE001 - a hang is a failure; stop it for the report
            rc = None
        t_exit = time.monotonic() - t_signal
        load.join(15)
        load.stop(5)
        for t in slow_threads:
            t.join(5)

        recs = load.snapshot()
        before = [r for r in recs if r.t_sent is not None and r.t_sent < t_signal]
        after = [r for r in recs if r.t_sent is not None and r.t_sent >= t_signal]
        before_bad = [r for r in before if r.outcome not in (Outcome.OK, Outcome.OK_CLOSE)]
        # A connection opened after the signal may sit in the closed listener's accept queue and be reset
        # by the kernel: like a refused connect, that request was never accepted.
        new_after = [r for r in after if r.index_on_conn == 0 and r.t_send >= t_signal]
        after_bad = [r for r in after if r not in new_after
                     and r.outcome not in (Outcome.OK, Outcome.OK_CLOSE, Outcome.EOF_NO_RESPONSE)]
        close_not_clean = [r for r in recs if r.outcome == Outcome.OK_CLOSE
                           and r.detail != "closed (FIN) after Connection: close"]
        # How each busy client's connections ended after the signal.
        last_by_client = {}
        for r in recs:
            if r.t_sent is not None:
                last_by_client[r.client] = r
        ended = collections.Counter(r.outcome for r in last_by_client.values())
        not_closed_cleanly = [r for r in last_by_client.values()
                              if r.outcome not in (Outcome.OK_CLOSE, Outcome.EOF_NO_RESPONSE)]
        idle_bad = [(closed, data) for closed, data in idle_results if not closed or data]
        slow_bad = {i: s for i, s in slow_out.items()
                    if s["status"] != 200 or s["body"] != b"slow done\n" or (s["connection"] or "").lower() != "close"}
        log = d.log()
        deadline_hit = "drain deadline passed" in log

        counts = collections.Counter(r.outcome for r in recs)
        ok = not (before_bad or after_bad or close_not_clean or not_closed_cleanly or idle_bad or slow_bad
                  or len(slow_out) != SLOW_REQUESTS or rc != 0 or t_exit >= DRAIN_SECONDS or deadline_hit)
        report("4-sigterm-drain", requests=len([r for r in recs if r.t_sent is not None]),
               sent_before_signal=len(before), sent_after_signal=len(after),
               errors=len(before_bad) + len(after_bad),
               errors_before_signal=len(before_bad), errors_after_signal=len(after_bad),
               new_conns_after_signal=dict(collections.Counter(r.outcome for r in new_after)),
               outcomes=dict(counts), clients_ended=dict(ended), close_not_clean=len(close_not_clean),
               idle_closed="%d/%d" % (sum(1 for c, data in idle_results if c and not data), len(idle_results)),
               slow_ok="%d/%d" % (SLOW_REQUESTS - len(slow_bad) - (SLOW_REQUESTS - len(slow_out)), SLOW_REQUESTS),
               exit_status=rc, exit_after_s="%.2f" % t_exit, drain_deadline_hit=deadline_hit,
               rps_before_signal="%.0f" % (len(before) / LOAD_BEFORE_SIGNAL), result="PASS" if ok else "FAIL")
        for r in (before_bad + after_bad + close_not_clean)[:20]:
            print("  bad request (t-signal %+.4f s): %r" % (r.t_sent - t_signal, r))

        self.assertEqual(rc, 0, "canaryd exit status after SIGTERM:\n%s" % log[-3000:])
        self.assertLess(t_exit, DRAIN_SECONDS, "canaryd took %.2f s to exit (drain %d s)" % (t_exit, DRAIN_SECONDS))
        self.assertFalse(deadline_hit, "the drain deadline passed: some connection was not closed\n" + log[-3000:])
        self.assertGreaterEqual(len(before), loadsupport.MIN_REQUESTS)
        self.assertEqual(before_bad, [], "requests sent before SIGTERM without a complete 2xx response")
        self.assertEqual(after_bad, [], "requests sent after SIGTERM that got a reset/truncated/non-2xx")
        self.assertEqual(close_not_clean, [], "Connection: close responses not followed by a clean close")
        self.assertEqual(not_closed_cleanly, [], "busy clients whose connection did not end cleanly")
        self.assertEqual(idle_bad, [], "idle keep-alive connections not closed cleanly within 2 s")
        self.assertEqual(len(slow_out), SLOW_REQUESTS, "slow requests that never finished")
        self.assertEqual(slow_bad, {}, "in-flight slow requests that did not finish with 200 + Connection: close")

    def test_requests_waiting_at_sigterm_are_served(self):
        """A burst: 64 keep-alive connections (one request done on each) each send one more complete GET;
        SIGTERM follows once every send() has returned, so every request is already in canaryd's socket
        buffer. Each must get a complete 200 (with Connection: close, or without it when canaryd answered
        before it began draining -- it then closes the idle connection); a close without a response means
        canaryd took a connection holding a request for idle and discarded the request. 5 rounds."""
        totals = collections.Counter()
        rcs = []
        for rnd in range(5):
            d = self.canaryd("burst%d" % rnd, endpoints=[(p, "v1") for p in self.v1], canary=None,
                             timeouts={"drain": "%ds" % DRAIN_SECONDS})
            conns = []
            for _ in range(64):
                c = self.raw(d.listen)
                c.send(support.get_request("/"))
                self.assertEqual(c.read_response().status, 200)
                conns.append(c)
            for c in conns:
                c.send(support.get_request("/burst"))
            d.send_signal(signal.SIGTERM)
            for c in conns:
                try:
                    r = c.read_response()
                    if r.status == 200 and r.complete and (r.header("Connection") or "").lower() == "close":
                        totals["served_with_close"] += 1
                    elif r.status == 200 and r.complete:
                        totals["served_without_close"] += 1
                    else:
                        totals["bad_response_%s" % r.status] += 1
                except EOFError:
                    totals["closed_without_response"] += 1
                except OSError as e:
                    totals["error_%s" % type(e).__name__] += 1
                c.close()
            rcs.append(d.wait_exit(DRAIN_SECONDS + 5))
        sent = 5 * 64
        served = totals["served_with_close"] + totals["served_without_close"]
        ok = served == sent and all(rc == 0 for rc in rcs)
        report("4b-sigterm-burst", requests=sent, errors=sent - served,
               outcomes=dict(totals), exit_statuses=rcs, result="PASS" if ok else "FAIL")
        self.assertEqual(rcs, [0] * 5)
        self.assertEqual(served, sent, "requests already received when SIGTERM came were not answered: %r"
                         % dict(totals))


if __name__ == "__main__":
    loadsupport.main()
