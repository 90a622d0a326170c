#!/usr/bin/env python3
"""Load scenario 3: promote, then undo, several times while wrk -t2 -c64 -d20s drives the proxy
(stable v1 + canary v2 at weight 30; promote makes v2 stable with no canary, undo brings back v1 + v2 at
30). Pass: every promote and undo answers 200 with the expected state, and wrk sees zero non-2xx
responses and zero socket errors over some thousands of requests."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadsupport  # noqa: E402
from loadsupport import LoadTest, run_spread  # noqa: E402

CYCLES = 8          # promote + undo pairs, i.e. 16 changes spread over the run


class PromoteUndoUnderLoad(LoadTest):
    def test_promote_then_undo(self):
        d = self.canaryd("promote", canary_weight=30)
        wrk = self.run_wrk(d)
        answers = []

        def step(i):
            # A change answers with the new status document.
            if i % 2 == 0:
                kind = "promote"
                s, doc = d.api("POST", "/api/promote", {"cause": "load promote %d" % (i // 2)})
                want = ("name=nginx,version=v2", None, 0.0)
            else:
                kind = "undo"
                s, doc = d.api("POST", "/api/undo", {})
                want = ("name=nginx,version=v1", "name=nginx,version=v2", 30.0)
            got = None
            if s == 200 and isinstance(doc, dict) and "stable" in doc:
                got = (doc["stable"]["selector"], (doc.get("canary") or {}).get("selector"), doc["canary_weight"])
            answers.append((i, kind, s, got == want, doc))

        done, late = run_spread(2 * CYCLES, loadsupport.LOAD_SECONDS - 1.5, step, started=time.monotonic() + 0.5)
        result = wrk.wait()
        bad = [a for a in answers if a[2] != 200 or not a[3]]
        status = d.status()
        m = d.metrics()
        self.assert_wrk_clean("3-promote-undo", result, d, extra=dict(
            promotes=sum(1 for a in answers if a[1] == "promote"), undos=sum(1 for a in answers if a[1] == "undo"),
            changes_not_ok=len(bad), final_revision=status["revision"],
            fallbacks=int(m.value("canaryd_fallback_total")),
            served_stable=int(m.value("canaryd_requests_total", set="stable")),
            served_canary=int(m.value("canaryd_requests_total", set="canary"))))
        self.assertEqual(done, 2 * CYCLES)
        self.assertEqual(bad, [], "promote/undo calls that failed or left an unexpected state")
        # The last step was an undo: back to v1 stable + v2 canary at 30, one revision per change.
        self.assertEqual(status["stable"]["selector"], "name=nginx,version=v1")
        self.assertEqual(status["canary"]["selector"], "name=nginx,version=v2")
        self.assertEqual(status["canary_weight"], 30.0)
        self.assertEqual(status["revision"], 1 + 2 * CYCLES)


if __name__ == "__main__":
    loadsupport.main()
