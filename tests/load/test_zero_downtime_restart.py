#!/usr/bin/env python3
"""Load scenario 5: zero-downtime upgrade (SIGUSR2, contract section 10).

wrk -t2 -c64 runs against canaryd (nginx upstreams) for the load duration (20 s). A third of the way
in, canaryd gets SIGUSR2: it starts its own binary with the same command line and hands over its
listening sockets; once the new process serves, the old one drains and exits. Once that has happened,
the new process gets SIGUSR2 in turn. The kernel's settings are left as they are (no tcp_migrate_req).

Pass: wrk counts zero socket errors (connect, read, write, timeout) and zero non-2xx; after each upgrade
another pid serves; each old process exits 0 within timeouts.drain; the routing state (revision,
weight) is the same at the end. A second scenario does 4 upgrades in a row with clients that open a
new connection for every request, so that connections are being set up at every handover: zero failed
requests (no retries).

The test makes itself a child subreaper, so that a process whose parent (the canaryd before it) has
exited is reparented to it and its exit status can be collected.
"""

import collections
import ctypes
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadsupport  # noqa: E402
from loadsupport import LoadClient, LoadTest, Outcome, report  # noqa: E402

DRAIN_SECONDS = 10
PR_SET_CHILD_SUBREAPER = 36
SUCCESSOR = re.compile(r"hot upgrade: the new canaryd \(pid (\d+)\) serves")


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def wait_pid(pid, timeout):
    """The exit status of `pid` (our child, or reparented to us), None if it runs past `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    return None


class ZeroDowntimeUpgrade(LoadTest):
    @classmethod
    def setUpClass(cls):
        become_subreaper()
        super().setUpClass()

    def upgrade(self, d, pid, first):
        """SIGUSR2 to `pid`; returns (successor pid, old exit status, seconds until the old one exited)."""
        offset = len(d.log())
        t0 = time.monotonic()
        if first:
            d.send_signal(signal.SIGUSR2)
        else:
            os.kill(pid, signal.SIGUSR2)
        d.wait_log(SUCCESSOR.pattern, 20, offset)
        new = int(SUCCESSOR.findall(d.log()[offset:])[0])
        self.addCleanup(self.kill_quietly, new)
        rc = d.proc.wait(DRAIN_SECONDS + 5) if first else wait_pid(pid, DRAIN_SECONDS + 5)
        return new, rc, time.monotonic() - t0

    @staticmethod
    def kill_quietly(pid):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass

    def stop_last(self, pid):
        os.kill(pid, signal.SIGTERM)
        return wait_pid(pid, DRAIN_SECONDS + 5)

    def test_upgrade_under_wrk(self):
        total = loadsupport.LOAD_SECONDS
        d = self.canaryd("up", canary_weight=25, timeouts={"drain": "%ds" % DRAIN_SECONDS})
        s, _ = d.api("PUT", "/api/weight", {"canary_weight": 12.5, "cause": "before the upgrade"})
        self.assertEqual(s, 200)
        state_before = d.status()

        wrk = self.run_wrk(d)
        time.sleep(total / 3)
        pids, exits, exit_after = [d.pid], [], []
        for i in range(2):
            new, rc, took = self.upgrade(d, pids[-1], first=(i == 0))
            pids.append(new)
            exits.append(rc)
            exit_after.append("%.2f" % took)
            time.sleep(min(2.0, total / 6))
        result = wrk.wait()
        state_after = d.status()
        served_last = int(d.metrics().value("canaryd_requests_total"))
        rc_last = self.stop_last(pids[-1])

        same_state = (state_after["revision"], state_after["canary_weight"]) == \
            (state_before["revision"], state_before["canary_weight"])
        ok = (result.errors == 0 and result.requests >= loadsupport.MIN_REQUESTS and exits == [0, 0]
              and len(set(pids)) == 3 and served_last > 0 and same_state and rc_last == 0)
        report("5-zero-downtime-upgrade", requests=result.requests, errors=result.errors, rps="%.0f" % result.rps,
               non2xx=result.non2xx, socket_errors=result.socket_errors, connect=result.connect, read=result.read,
               write=result.write, timeout=result.timeout, codes=dict(result.codes) or "{}", pids=pids,
               old_exit_statuses=exits, old_exit_after_s=exit_after, served_by_last=served_last,
               state_kept=same_state, result="PASS" if ok else "FAIL")
        self.assertGreaterEqual(result.requests, loadsupport.MIN_REQUESTS, "too few requests: " + result.summary())
        self.assertEqual(result.non2xx, 0, "non-2xx responses across the upgrades: " + result.summary())
        self.assertEqual(result.socket_errors, 0, "socket errors across the upgrades: " + result.summary())
        self.assertEqual(exits, [0, 0], "old processes' exit statuses:\n" + d.log()[-3000:])
        self.assertEqual(len(set(pids)), 3)
        self.assertGreater(served_last, 0, "the last process served nothing")
        self.assertTrue(same_state, "the routing state changed: %r -> %r" % (state_before, state_after))
        self.assertEqual(rc_last, 0)

    def test_upgrade_chain_fresh_connections(self):
        """4 upgrades in a row with 8 clients that open a new connection for every request (Connection:
        close): connections are being set up and queued at every handover."""
        d = self.canaryd("chain", canary_weight=25, timeouts={"drain": "%ds" % DRAIN_SECONDS})
        load = LoadClient(d.listen, clients=8, headers={"Connection": "close"}, reconnect=True,
                          stop_on_refused=False, max_seconds=30)
        load.start()
        self.addCleanup(lambda: load.stop(5))
        time.sleep(1.0)
        pids, exits = [d.pid], []
        for i in range(4):
            new, rc, _ = self.upgrade(d, pids[-1], first=(i == 0))
            pids.append(new)
            exits.append(rc)
            time.sleep(1.0)
        load.stop(10)
        rc_last = self.stop_last(pids[-1])
        recs = load.snapshot()
        failed = [r for r in recs if r.outcome not in (Outcome.OK, Outcome.OK_CLOSE)]
        ok = not failed and exits == [0] * 4 and len(recs) >= 500
        report("5b-upgrade-chain-fresh-connections", requests=len(recs), upgrades=len(exits), errors=len(failed),
               failed=dict(collections.Counter(r.outcome for r in failed)),
               outcomes=dict(collections.Counter(r.outcome for r in recs)), exit_statuses=exits,
               result="PASS" if ok else "FAIL")
        for r in failed[:20]:
            print("  failed request: %r" % r)
        self.assertEqual(exits, [0] * 4, d.log()[-3000:])
        self.assertEqual(rc_last, 0)
        self.assertGreaterEqual(len(recs), 500)
        self.assertEqual(failed, [], "failed requests on fresh connections across 4 upgrades")


if __name__ == "__main__":
    loadsupport.main()
