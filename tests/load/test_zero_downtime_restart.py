#!/usr/bin/env python3
"""Load scenario 5: zero-downtime restart.

canaryd A serves; 64 Python keep-alive clients (64 connections) send GETs back to back (reconnecting
after a clean close). canaryd B starts with the same config on the same listen port (SO_REUSEPORT), its own control
port and a copy of A's state file; once B answers /readyz, A gets SIGTERM. The load runs on for the
rest of the 20 s.

Pass: zero failed requests. A request counts as failed unless it got a complete 2xx response; the one
exception is a clean close (FIN) with no response byte on a reused keep-alive connection -- the
standard keep-alive race an HTTP client retries for an idempotent GET -- if its one retry on a new
connection got a complete 2xx. Connect errors, resets, truncated responses, timeouts and non-2xx are
all failures. A must exit 0 within timeouts.drain, B must have served traffic, and the routing state
(weight, revision) must be the same on B.
"""

import collections
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadsupport  # noqa: E402
import support  # noqa: E402
from loadsupport import LoadClient, LoadTest, Outcome, report  # noqa: E402

DRAIN_SECONDS = 10
CLIENTS = loadsupport.LOAD_CONNECTIONS     # 64
START_B_AT = 5.0


class ZeroDowntimeRestart(LoadTest):
    def test_restart_without_failed_requests(self):
        total = loadsupport.LOAD_SECONDS
        timeouts = {"drain": "%ds" % DRAIN_SECONDS}
        a = self.canaryd("A", canary_weight=25, timeouts=timeouts)
        s, _ = a.api("PUT", "/api/weight", {"canary_weight": 12.5, "cause": "before the restart"})
        self.assertEqual(s, 200)
        state_a = a.status()

        load = LoadClient(a.listen, clients=CLIENTS, reconnect=True, stop_on_refused=False, max_seconds=total)
        load.start()
        self.addCleanup(lambda: load.stop(5))
        time.sleep(START_B_AT)

        shutil.copyfile(a.state_file, os.path.join(self.work.path, "B.state.json"))
        b = self.canaryd("B", canary_weight=25, timeouts=timeouts, listen_port=a.listen,
                         state_file=os.path.join(self.work.path, "B.state.json"))
        support.wait_until(lambda: support.http_request(b.control, "GET", "/readyz", timeout=1).status == 200, 10,
                           message="B /readyz")
        t_b_ready = time.monotonic() - load.started
        t_term = time.monotonic()
        a.send_signal(signal.SIGTERM)
        try:
            rc_a = a.proc.wait(DRAIN_SECONDS + 5)
        except Exception:  # noqa: BLE001 - reported below
            rc_a = None
        a_exit_s = time.monotonic() - t_term
        load.join(total + 20)
        load.stop(5)

        recs = load.snapshot()
        retried_ok = set()
        for r in recs:
            if r.retry_of is not None and r.outcome in (Outcome.OK, Outcome.OK_CLOSE):
                retried_ok.add(id(r.retry_of))
        failed = [r for r in recs if r.outcome not in (Outcome.OK, Outcome.OK_CLOSE)
                  and not (r.outcome == Outcome.EOF_NO_RESPONSE and id(r) in retried_ok)]
        counts = collections.Counter(r.outcome for r in recs)
        served_b = int(b.metrics().value("canaryd_requests_total"))
        state_b = b.status()
        t_term_rel = t_term - load.started
        ok = not failed and rc_a == 0 and a_exit_s < DRAIN_SECONDS and served_b > 0 and b.alive()
        report("5-zero-downtime-restart", requests=len(recs), rps="%.0f" % (len(recs) / total),
               errors=len(failed), failed=dict(collections.Counter(r.outcome for r in failed)),
               outcomes=dict(counts), retried_after_clean_close=len(retried_ok),
               b_ready_at_s="%.2f" % t_b_ready, sigterm_a_at_s="%.2f" % t_term_rel, a_exit_status=rc_a,
               a_exit_after_s="%.2f" % a_exit_s, served_by_b=served_b, result="PASS" if ok else "FAIL")
        for r in failed[:20]:
            print("  failed request (t-SIGTERM(A) %+.4f s): %r" % ((r.t_sent or r.t_send) - t_term, r))

        self.assertEqual(rc_a, 0, "A's exit status after SIGTERM:\n" + a.log()[-3000:])
        self.assertLess(a_exit_s, DRAIN_SECONDS)
        self.assertTrue(b.alive(), b.log()[-3000:])
        self.assertGreater(served_b, 0, "B served nothing")
        self.assertEqual((state_b["revision"], state_b["canary_weight"]),
                         (state_a["revision"], state_a["canary_weight"]), "B did not take over A's routing state")
        self.assertGreaterEqual(len(recs), loadsupport.MIN_REQUESTS)
        self.assertEqual(failed, [], "failed requests across the restart")

    def test_restart_chain_fresh_connections(self):
        """The same handover, 4 times in a row (A -> B -> C -> D -> E), with clients that open a new
        connection for every request (Connection: close), so that connections are being set up at the
        moment the old process closes its listener. Zero failed requests (no retries here: a request on a
        fresh connection that is reset or closed without a response has failed)."""
        timeouts = {"drain": "%ds" % DRAIN_SECONDS}
        cur = self.canaryd("chain0", canary_weight=25, timeouts=timeouts)
        port = cur.listen
        load = LoadClient(port, clients=8, headers={"Connection": "close"}, reconnect=True, stop_on_refused=False,
                          max_seconds=20)
        load.start()
        self.addCleanup(lambda: load.stop(5))
        exits = []
        terms = []
        time.sleep(1.0)
        for i in range(1, 5):
            state = os.path.join(self.work.path, "chain%d.state.json" % i)
            shutil.copyfile(cur.state_file, state)
            nxt = self.canaryd("chain%d" % i, canary_weight=25, timeouts=timeouts, listen_port=port, state_file=state)
            support.wait_until(lambda: support.http_request(nxt.control, "GET", "/readyz", timeout=1).status == 200,
                               10, message="chain%d /readyz" % i)
            time.sleep(0.5)
            terms.append(time.monotonic())
            cur.send_signal(signal.SIGTERM)
            try:
                exits.append(cur.proc.wait(DRAIN_SECONDS + 5))
            except Exception:  # noqa: BLE001 - reported below
                exits.append(None)
            cur = nxt
            time.sleep(1.0)
        load.stop(10)
        recs = load.snapshot()
        failed = [r for r in recs if r.outcome not in (Outcome.OK, Outcome.OK_CLOSE)]
        ok = not failed and exits == [0] * 4 and len(recs) >= loadsupport.MIN_REQUESTS
        report("5b-restart-chain-fresh-connections", requests=len(recs), handovers=len(exits),
               errors=len(failed), failed=dict(collections.Counter(r.outcome for r in failed)),
               outcomes=dict(collections.Counter(r.outcome for r in recs)), exit_statuses=exits,
               result="PASS" if ok else "FAIL")
        for r in failed[:20]:
            near = min(terms, key=lambda t: abs((r.t_sent or r.t_send) - t))
            print("  failed request (t-nearest SIGTERM %+.4f s): %r" % ((r.t_sent or r.t_send) - near, r))
        self.assertEqual(exits, [0] * 4)
        self.assertGreaterEqual(len(recs), loadsupport.MIN_REQUESTS)
        self.assertEqual(failed, [], "failed requests on fresh connections across 4 restarts")


if __name__ == "__main__":
    loadsupport.main()
