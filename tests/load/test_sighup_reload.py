#!/usr/bin/env python3
"""Load scenario 2: a SIGHUP reload every second, each with a changed endpoint list (a second and third
v1 endpoint added and removed in turn), while wrk -t2 -c64 -d20s drives the proxy. Pass: every reload
is applied (logged "reloaded ... N endpoint(s)" with the expected N), the process stays up, and wrk sees
zero non-2xx responses and zero socket errors over some thousands of requests."""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadsupport  # noqa: E402
from loadsupport import LoadTest, run_spread  # noqa: E402


class ReloadUnderLoad(LoadTest):
    def endpoint_list(self, i):
        """Round i: v1[0] always, then v1[1] on odd rounds, v1[2] on every third; the canary v2."""
        eps = [(self.v1[0], "v1")]
        if i % 2 == 1:
            eps.append((self.v1[1], "v1"))
        if i % 3 == 2:
            eps.append((self.v1[2], "v1"))
        return eps + [(p, "v2") for p in self.v2]

    def test_sighup_every_second(self):
        d = self.canaryd("reload", endpoints=self.endpoint_list(0), canary_weight=20)
        reloads = int(loadsupport.LOAD_SECONDS) - 1
        wrk = self.run_wrk(d)
        expected = []
        problems = []

        def reload(i):
            eps = self.endpoint_list(i + 1)
            before = len(d.log())
            d.write_config(endpoints=eps)
            d.send_signal(signal.SIGHUP)
            expected.append(len(eps))
            try:
                d.wait_log(r"reloaded .*: %d endpoint\(s\)" % len(eps), timeout=0.9, after=before)
            except AssertionError as e:
                problems.append("reload %d (%d endpoints): %s" % (i, len(eps), str(e).splitlines()[0]))

        done, late = run_spread(reloads, loadsupport.LOAD_SECONDS - 1.0, reload, started=time.monotonic() + 0.5)
        result = wrk.wait()
        applied = len(re.findall(r"reloaded ", d.log()))
        failed = len(re.findall(r"reload failed", d.log()))
        status = d.status()
        m = d.metrics()
        self.assert_wrk_clean("2-sighup-reload", result, d, extra=dict(
            reloads=done, reloads_applied=applied, reloads_failed=failed, reload_problems=len(problems),
            upstream_errors=int(m.value("canaryd_upstream_errors_total")),
            served_canary=int(m.value("canaryd_requests_total", set="canary"))))
        self.assertEqual(problems, [])
        self.assertEqual(applied, done, d.log()[-3000:])
        self.assertEqual(failed, 0, d.log()[-3000:])
        # The last endpoint list is the one in force, and the routing state was not reset by reloads.
        want = sorted("127.0.0.1:%d" % p for p, v in self.endpoint_list(done) if v == "v1")
        self.assertEqual(sorted(e["address"] for e in status["stable"]["endpoints"]), want)
        self.assertEqual(status["canary_weight"], 20.0)
        # And the proxy sends requests only to the endpoints of that list.
        allowed = {str(p) for p, _ in self.endpoint_list(done)}
        served = {d.get("/").header("X-Endpoint") for _ in range(60)}
        self.assertLessEqual(served, allowed, "requests went to endpoints removed by the last reload")
        self.assertEqual(status["revision"], 1)


if __name__ == "__main__":
    loadsupport.main()
