#!/usr/bin/env python3
"""Release safety (contract section 7), first two rules, against real nginx: the promote gate (a canary
whose every endpoint is down is not promoted, 409, unless forced; `canaryctl promote --force`), and
"abort means zero" (after a rollback not even `X-Canary: always` reaches the canary; status says
"aborted": true until a weight is set again)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, free_port, wait_until  # noqa: E402

FAST_PROBES = "health: {path: /, interval: 100ms, timeout: 100ms, healthy_threshold: 1, unhealthy_threshold: 2}\n"


class PromoteGateTest(IntegrationTest):
    NGINX = True

    def test_promote_with_every_canary_endpoint_down_is_409_and_force_promotes(self):
        closed = free_port()  # nothing listens here: the canary's only endpoint is down
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (closed, "v2")], extra=FAST_PROBES)
        wait_until(lambda: support.endpoint_health(d, closed) is False, message="the canary endpoint marked down")
        before = d.status()
        self.assertFalse(before["aborted"])

        s, doc = d.api("POST", "/api/promote", {})
        self.assertEqual(s, 409, doc)
        self.assertIn("no healthy endpoint", doc["error"])
        self.assertEqual(doc.get("kind", "conflict"), "conflict")
        after = d.status()
        self.assertEqual(after["revision"], before["revision"], "a refused promote made a revision")
        self.assertEqual(after["stable"]["selector"], before["stable"]["selector"])

        p = d.ctl("promote")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(d.status()["revision"], before["revision"])

        p = d.ctl("promote", "--force")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        st = d.status()
        self.assertEqual(st["revision"], before["revision"] + 1)
        self.assertIsNone(st["canary"])
        self.assertIn("version=v2", st["stable"]["selector"])
        self.assertRegex(d.history()[-1]["cause"], r"promote --force")

    def test_promote_of_a_healthy_canary_needs_no_force(self):
        d = self.canaryd(extra=FAST_PROBES)
        s, doc = d.api("POST", "/api/promote", {})
        self.assertEqual(s, 200, doc)
        self.assertIsNone(doc["canary"])

    def test_force_must_be_a_boolean(self):
        d = self.canaryd()
        s, doc = d.api("POST", "/api/promote", {"force": "yes"})
        self.assertEqual(s, 400, doc)


class AbortMeansZeroTest(IntegrationTest):
    NGINX = True

    def served_by(self, d, n=20, headers=None):
        sets = set()
        for _ in range(n):
            r = d.get("/", headers=headers)
            self.assertEqual(r.status, 200, r)
            sets.add((r.header("X-Canary-Set"), r.header("X-Version")))
        return sets

    def test_override_after_rollback_is_served_by_stable_until_a_weight_is_set(self):
        d = self.canaryd()
        always = {"X-Canary": "always"}
        self.assertEqual(self.served_by(d, headers=always), {("canary", "v2")})

        s, doc = d.api("PUT", "/api/weight", {"canary_weight": 50})
        self.assertEqual(s, 200, doc)
        s, doc = d.api("POST", "/api/rollback", {})
        self.assertEqual(s, 200, doc)
        self.assertTrue(doc["aborted"])
        rev = doc["revision"]
        self.assertTrue(d.status()["aborted"])
        self.assertIn("ABORTED", d.ctl("status").stdout)

        self.assertEqual(self.served_by(d, headers=always), {("stable", "v1")})
        self.assertEqual(self.served_by(d), {("stable", "v1")})

        # A second rollback changes nothing.
        s, doc = d.api("POST", "/api/rollback", {})
        self.assertEqual(s, 200, doc)
        self.assertTrue(doc.get("unchanged"), doc)
        self.assertEqual(doc["revision"], rev)

        # The same 0 again clears the abort, as a new revision; the override reaches the canary again.
        s, doc = d.api("PUT", "/api/weight", {"canary_weight": 0})
        self.assertEqual(s, 200, doc)
        self.assertFalse(doc["aborted"])
        self.assertNotIn("unchanged", doc)
        self.assertEqual(doc["revision"], rev + 1)
        self.assertEqual(self.served_by(d, headers=always), {("canary", "v2")})

    def test_the_abort_survives_a_restart(self):
        d = self.canaryd()
        s, doc = d.api("POST", "/api/rollback", {})
        self.assertEqual(s, 200, doc)
        d.stop()
        d.start()
        self.assertTrue(d.status()["aborted"])
        self.assertEqual(self.served_by(d, headers={"X-Canary": "always"}), {("stable", "v1")})

    def test_aborted_canary_is_no_fallback(self):
        closed = free_port()
        d = self.canaryd(endpoints=[(closed, "v1"), (self.v2[0], "v2")], extra=FAST_PROBES)
        wait_until(lambda: support.endpoint_health(d, closed) is False, message="the stable endpoint marked down")
        self.assertEqual(d.get("/").status, 200)  # falls back to canary while not aborted
        s, doc = d.api("POST", "/api/rollback", {})
        self.assertEqual(s, 200, doc)
        self.assertEqual(d.get("/").status, 503)
        self.assertEqual(d.get("/", headers={"X-Canary": "always"}).status, 503)


if __name__ == "__main__":
    support.main()
