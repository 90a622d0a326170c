#!/usr/bin/env python3
"""/metrics (contract section 5): every family with its type and labels, counts that match the traffic
sent, active connections, upstream errors by kind, and gauges that follow the control API."""

import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, RawClient, http_request, keepalive_requests, wait_until  # noqa: E402

FAMILIES = {
    "canaryd_requests_total": ("counter", {"set": {"stable", "canary", "none"}, "code": {"2xx", "3xx", "4xx", "5xx"},
                                           "protocol": {"http1", "http2"}}),
    "canaryd_request_duration_seconds": ("histogram", {"set": {"stable", "canary", "none"}}),
    "canaryd_upstream_errors_total": ("counter", {"set": {"stable", "canary"}, "kind": {"connect", "timeout", "reset"}}),
    "canaryd_fallback_total": ("counter", {"from": {"stable", "canary"}}),
    "canaryd_canary_weight_percent": ("gauge", {}),
    "canaryd_revision": ("gauge", {}),
    "canaryd_endpoints": ("gauge", {"set": {"stable", "canary"}, "health": {"healthy", "unhealthy"}}),
    "canaryd_active_connections": ("gauge", {"side": {"client", "upstream"}}),
}


class MetricsTest(IntegrationTest):
    NGINX = True

    def test_every_family_with_type_and_labels(self):
        d = self.canaryd(canary_weight=50)
        keepalive_requests(d.listen, 50)
        r = http_request(d.control, "GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue((r.header("Content-Type") or "").startswith("text/plain"), r.header("Content-Type"))
        m = support.Metrics(r.body.decode())
        for name, (kind, labels) in FAMILIES.items():
            self.assertEqual(m.types.get(name), kind, "# TYPE of %s" % name)
            sample_name = name + "_bucket" if kind == "histogram" else name
            found = m.find(sample_name)
            self.assertTrue(found, "%s has no samples" % sample_name)
            for key, values in labels.items():
                seen = {lab.get(key) for lab, _ in found}
                self.assertTrue(values <= seen or (name == "canaryd_request_duration_seconds"
                                                   and {"stable", "canary"} <= seen),
                                "%s label %s: %s, expected %s" % (name, key, seen, values))
        for s in ("stable", "canary"):
            self.assertTrue(m.has("canaryd_request_duration_seconds_bucket", set=s, le="+Inf"))
            self.assertTrue(m.has("canaryd_request_duration_seconds_sum", set=s))
            self.assertTrue(m.has("canaryd_request_duration_seconds_count", set=s))

    def test_request_counts_match_the_traffic(self):
        d = self.canaryd(canary_weight=30)
        rs = keepalive_requests(d.listen, 200) + keepalive_requests(d.listen, 10, path="/status/404") \
            + keepalive_requests(d.listen, 7, path="/status/304") + keepalive_requests(d.listen, 5, path="/status/204")
        want = collections.Counter((r.header("X-Canary-Set"), "%dxx" % (r.status // 100)) for r in rs)

        def counts():
            m = d.metrics()
            return {(s, c): m.value("canaryd_requests_total", set=s, code=c)
                    for s in ("stable", "canary", "none") for c in ("2xx", "3xx", "4xx", "5xx")}
        expected = {k: want.get(k, 0) for k in counts()}
        try:
            wait_until(lambda: counts() == expected, timeout=3, message="canaryd_requests_total to match")
        except AssertionError:
            pass
        self.assertEqual(counts(), expected)
        m = d.metrics()
        for s in ("stable", "canary"):
            n = sum(v for (ss, _), v in want.items() if ss == s)
            self.assertEqual(m.value("canaryd_request_duration_seconds_count", set=s), n, s)
            self.assertEqual(m.value("canaryd_request_duration_seconds_bucket", set=s, le="+Inf"), n, s)
            self.assertGreater(m.value("canaryd_request_duration_seconds_sum", set=s), 0, s)
            buckets = sorted(((float(lab["le"]), v) for lab, v in m.find("canaryd_request_duration_seconds_bucket", set=s)))
            values = [v for _, v in buckets]
            self.assertEqual(values, sorted(values), "buckets are not cumulative: %s" % buckets)

    def test_requests_without_a_set_count_as_none(self):
        d = self.canaryd(stable={"version": "v8"}, canary={"version": "v9"})
        rs = keepalive_requests(d.listen, 6)
        self.assertEqual({r.status for r in rs}, {503})
        wait_until(lambda: d.metrics().value("canaryd_requests_total", set="none", code="5xx") == 6,
                   message="canaryd_requests_total{set=none,code=5xx} == 6")
        self.assertEqual(d.metrics().value("canaryd_requests_total", set="stable"), 0)

    def test_active_client_connections(self):
        d = self.canaryd()
        wait_until(lambda: d.metrics().value("canaryd_active_connections", side="client") == 0,
                   message="no client connections at the start")
        clients = []
        for _ in range(5):
            c = RawClient(d.listen)
            self.addCleanup(c.close)
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            clients.append(c)
        wait_until(lambda: d.metrics().value("canaryd_active_connections", side="client") == 5,
                   message="canaryd_active_connections{side=client} == 5 with 5 open keep-alive connections")
        self.assertGreaterEqual(d.metrics().value("canaryd_active_connections", side="upstream"), 0)
        for c in clients[:3]:
            c.close()
        wait_until(lambda: d.metrics().value("canaryd_active_connections", side="client") == 2,
                   message="canaryd_active_connections{side=client} == 2 after closing three")
        for c in clients[3:]:
            c.close()
        wait_until(lambda: d.metrics().value("canaryd_active_connections", side="client") == 0,
                   message="canaryd_active_connections{side=client} == 0 after closing all")

    def test_upstream_connect_errors(self):
        dead = support.free_port()
        d = self.canaryd(endpoints=[(dead, "v1"), (self.v1[0], "v1"), (self.v2[0], "v2")])
        rs = keepalive_requests(d.listen, 20)
        self.assertEqual({r.status for r in rs}, {200})
        m = d.metrics()
        self.assertGreaterEqual(m.value("canaryd_upstream_errors_total", set="stable", kind="connect"), 1)
        self.assertLessEqual(m.value("canaryd_upstream_errors_total", set="stable", kind="connect"), 20)
        self.assertEqual(m.value("canaryd_upstream_errors_total", set="canary"), 0)
        self.assertEqual(m.value("canaryd_upstream_errors_total", kind="timeout"), 0)
        wait_until(lambda: d.metrics().value("canaryd_requests_total", set="stable", code="2xx") == 20,
                   message="canaryd_requests_total{set=stable,code=2xx} == 20")

    def test_upstream_reset_and_timeout_errors(self):
        def hang_up(conn, up):
            if conn.read_request() is not None:
                conn.reset()
        up = self.raw_upstream(hang_up, version="v2")
        slow = self.raw_upstream(support.serve_slow(3))
        d = self.canaryd(endpoints=[(slow.port, "v1"), (up.port, "v2")], timeouts={"upstream": "500ms"},
                         routing={"retries": 0})
        r = d.get("/", headers={"X-Canary": "always"})
        self.assertEqual(r.status, 502)
        r = d.get("/", headers={"X-Canary": "never"})
        self.assertEqual(r.status, 504)
        wait_until(lambda: d.metrics().value("canaryd_upstream_errors_total", set="canary", kind="reset") == 1
                   and d.metrics().value("canaryd_upstream_errors_total", set="stable", kind="timeout") == 1,
                   message="reset{canary} == 1 and timeout{stable} == 1")
        m = d.metrics()
        self.assertEqual(m.value("canaryd_upstream_errors_total", kind="connect"), 0)
        self.assertEqual(m.value("canaryd_requests_total", set="canary", code="5xx"), 1)
        self.assertEqual(m.value("canaryd_requests_total", set="stable", code="5xx"), 1)

    def test_gauges_follow_the_api(self):
        d = self.canaryd(canary_weight=5)
        m = d.metrics()
        self.assertEqual(m.value("canaryd_canary_weight_percent"), 5)
        self.assertEqual(m.value("canaryd_revision"), d.status()["revision"])
        self.assertEqual(m.value("canaryd_endpoints", set="stable", health="healthy"), 3)
        self.assertEqual(m.value("canaryd_endpoints", set="canary", health="healthy"), 1)
        self.assertEqual(m.value("canaryd_endpoints", health="unhealthy"), 0)
        for method, path, body, weight in (("PUT", "/api/weight", {"canary_weight": 12.5}, 12.5),
                                           ("PUT", "/api/weight", {"canary_weight": 33.33}, 33.33),
                                           ("POST", "/api/rollback", None, 0),
                                           ("POST", "/api/undo", None, 33.33),
                                           ("POST", "/api/promote", None, 0)):
            self.assertEqual(d.api(method, path, body)[0], 200)
            rev = d.status()["revision"]
            wait_until(lambda: (d.metrics().value("canaryd_canary_weight_percent") == weight
                                and d.metrics().value("canaryd_revision") == rev),
                       message="weight gauge %s and revision gauge %d after %s %s" % (weight, rev, method, path))
        m = d.metrics()
        # after promote, stable is the v2 endpoint and there is no canary set
        self.assertEqual(m.value("canaryd_endpoints", set="stable", health="healthy"), 1)
        self.assertEqual(m.value("canaryd_endpoints", set="canary"), 0)

    def test_rollout_families_without_a_rollout(self):
        # Contract section 7: one canaryd_rollout_phase series per phase, 1 for the current one ("none"
        # while no rollout ever ran), the step 0, no abort; canaryd_build_info{version} is 1.
        d = self.canaryd(canary_weight=10)
        keepalive_requests(d.listen, 10)
        m = d.metrics()
        self.assertEqual(m.types.get("canaryd_rollout_phase"), "gauge")
        self.assertEqual(m.types.get("canaryd_rollout_step"), "gauge")
        self.assertEqual(m.types.get("canaryd_rollout_aborts_total"), "counter")
        phases = {lab.get("phase"): v for lab, v in m.find("canaryd_rollout_phase")}
        self.assertEqual(phases, {"none": 1, "progressing": 0, "paused": 0, "completed": 0, "aborted": 0})
        self.assertEqual(m.find("canaryd_rollout_step"), [({}, 0)])
        self.assertEqual(m.find("canaryd_rollout_aborts_total"), [({}, 0)])
        info = m.find("canaryd_build_info")
        self.assertEqual(len(info), 1)
        self.assertTrue(info[0][0].get("version"), info)
        self.assertEqual(info[0][1], 1)


if __name__ == "__main__":
    support.main()
