#!/usr/bin/env python3
"""The served share (contract section 7): GET /api/status carries stable.served and canary.served, the
percent of the last minute's requests each set actually served, null before any request, updated at
least every 5 s; canaryctl status shows it beside the configured share and warns when a set serves
markedly other than its weight (a canary without a healthy endpoint)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, free_port, keepalive_requests, wait_until  # noqa: E402

FAST_PROBES = "health: {path: /, interval: 100ms, timeout: 100ms, healthy_threshold: 1, unhealthy_threshold: 2}\n"
UPDATE = 12.0  # the share is resampled every 5 s: two periods and some slack


def served_after(d, n):
    """Polls status until its window holds the n requests sent (a sample may fall amid them); the shares."""
    def counted():
        doc = d.status()
        total = doc["stable"]["served_requests"] + (doc["canary"] or {}).get("served_requests", 0)
        return total >= n and (doc["stable"]["served"], (doc["canary"] or {}).get("served"), total)
    return wait_until(counted, timeout=UPDATE, message="status to count the %d requests in its window" % n)


class ServedShareTest(IntegrationTest):
    NGINX = True

    def test_null_before_any_request(self):
        d = self.canaryd(canary_weight=25)
        doc = d.status()
        self.assertIn("served", doc["stable"])
        self.assertIn("served", doc["canary"])
        self.assertIsNone(doc["stable"]["served"])
        self.assertIsNone(doc["canary"]["served"])
        self.assertEqual(doc["canary_weight"], 25.0)

    def test_shares_after_traffic_at_weight_25(self):
        d = self.canaryd(canary_weight=25)
        rs = keepalive_requests(d.listen, 400)
        self.assertEqual([r.status for r in rs], [200] * 400)
        canary_seen = sum(1 for r in rs if r.header("X-Canary-Set") == "canary")
        # One connection is one worker, whose splitter is exact to a request; a few points are plenty.
        self.assertLessEqual(abs(canary_seen - 100), support.THREADS + 1, canary_seen)
        stable, canary, total = got = served_after(d, 400)
        self.assertEqual(total, 400, got)
        self.assertLessEqual(abs(canary - 25.0), 3.0, got)
        self.assertLessEqual(abs(stable + canary - 100.0), 0.2, got)
        self.assertEqual(d.status()["canary_weight"], 25.0, "the configured weight stays beside the served share")
        out = d.ctl("status")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("SERVED", out.stdout)
        self.assertNotIn("warning", out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"canary\s+\S+\s+25%\s+2\d(\.\d)?%")

    def test_canary_without_healthy_endpoint_serves_nothing_and_ctl_warns(self):
        canary = free_port()
        nginx = self.nginx_server([(canary, "v2")])
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (canary, "v2")], canary_weight=10, extra=FAST_PROBES)
        nginx.stop()
        wait_until(lambda: support.endpoint_health(d, canary) is False, message="the canary endpoint marked unhealthy")
        rs = keepalive_requests(d.listen, 300)
        self.assertEqual({r.header("X-Canary-Set") for r in rs}, {"stable"})
        got = served_after(d, 300)
        self.assertEqual(got[:2], (100.0, 0.0), got)
        out = d.ctl("status")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        warning = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("warning:")]
        self.assertEqual(len(warning), 1, out.stdout + out.stderr)
        self.assertIn("canary served 0%", warning[0])
        self.assertIn("configured at 10%", warning[0])
        self.assertIn("no healthy endpoint", warning[0])


if __name__ == "__main__":
    support.main()
