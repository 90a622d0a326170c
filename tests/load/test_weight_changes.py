#!/usr/bin/env python3
"""Load scenario 1: 200 canary weight changes (PUT /api/weight, alternating values, spread evenly over
the run) while wrk -t2 -c64 -d20s drives the proxy. Pass: every change answers 200, and wrk sees zero
non-2xx responses and zero socket errors over some thousands of requests."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadsupport  # noqa: E402
from loadsupport import LoadTest, run_spread  # noqa: E402

CHANGES = 200
VALUES = [10, 90, 0, 100, 33.33, 50]   # alternating, including both ends of the range


class WeightChangesUnderLoad(LoadTest):
    def test_200_weight_changes(self):
        d = self.canaryd("weights", canary_weight=10)
        wrk = self.run_wrk(d)
        answers = []

        def change(i):
            w = VALUES[i % len(VALUES)]
            t0 = time.monotonic()
            try:
                s, doc = d.api("PUT", "/api/weight", {"canary_weight": w, "cause": "load %d" % i})
            except Exception as e:  # noqa: BLE001 - recorded and asserted below
                s, doc = None, repr(e)
            answers.append((i, w, s, doc, time.monotonic() - t0))

        # Leave half a second at each end so that every change lands inside the wrk run.
        done, late = run_spread(CHANGES, loadsupport.LOAD_SECONDS - 1.0, change, started=time.monotonic() + 0.5)
        result = wrk.wait()
        bad = [(i, w, s, doc) for i, w, s, doc, _ in answers if s != 200]
        slowest = max((dt for *_, dt in answers), default=0.0)
        final = d.status()
        m = d.metrics()
        self.assert_wrk_clean("1-weight-changes", result, d, extra=dict(
            changes=done, changes_not_200=len(bad), slowest_change_ms="%.0f" % (slowest * 1000),
            worst_late_ms="%.0f" % (late * 1000), final_revision=final["revision"],
            served_stable=int(m.value("canaryd_requests_total", set="stable")),
            served_canary=int(m.value("canaryd_requests_total", set="canary"))))
        self.assertEqual(done, CHANGES, "only %d of %d changes were made in time" % (done, CHANGES))
        self.assertEqual(bad, [], "weight changes that did not answer 200")
        self.assertEqual(final["canary_weight"], float(VALUES[(CHANGES - 1) % len(VALUES)]))


if __name__ == "__main__":
    loadsupport.main()
