#!/usr/bin/env python3
"""Active health checks (config `health:`): a stopped endpoint is taken out once the probes notice
(requests meanwhile are retried elsewhere, none fails), comes back when it answers again, a set with no
healthy endpoint falls back to the other set, weight changes keep what the probes found, and status,
/readyz and canaryd_endpoints show it."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, free_port, wait_until  # noqa: E402

FAST_PROBES = "health: {path: /, interval: 100ms, timeout: 100ms, healthy_threshold: 1, unhealthy_threshold: 2}\n"


endpoint_health = support.endpoint_health


class Load:
    """Requests on keep-alive connections from a thread until stopped; records every status."""

    def __init__(self, port, headers=None):
        self.port, self.headers = port, headers or {}
        self.statuses, self.endpoints = [], []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done.is_set():
            r = support.http_request(self.port, "GET", "/", headers=self.headers, timeout=5)
            self.statuses.append(r.status)
            self.endpoints.append(r.header("X-Endpoint"))

    def stop(self):
        self.done.set()
        self.thread.join(10)
        return self.statuses


class HealthTest(IntegrationTest):
    NGINX = True

    def test_stopped_endpoint_is_ejected_then_readmitted_without_failed_requests(self):
        solo = free_port()
        nginx = self.nginx_server([(solo, "v1")])
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (solo, "v1"), (self.v2[0], "v2")], extra=FAST_PROBES)
        load = Load(d.listen)
        try:
            wait_until(lambda: str(solo) in load.endpoints, message="traffic on the solo endpoint")
            nginx.stop()
            wait_until(lambda: endpoint_health(d, solo) is False, message="the stopped endpoint marked unhealthy")
            mark = len(load.statuses)
            wait_until(lambda: len(load.statuses) > mark + 100, message="100 requests after the ejection")
            after = load.endpoints[mark:]
            self.assertNotIn(str(solo), after, "requests still went to the ejected endpoint")
            m = d.metrics()
            self.assertEqual(m.value("canaryd_endpoints", set="stable", health="unhealthy"), 1)
            self.assertEqual(m.value("canaryd_endpoints", set="stable", health="healthy"), 1)

            self.nginx_server([(solo, "v1")])
            wait_until(lambda: endpoint_health(d, solo) is True, message="the restarted endpoint healthy again")
            mark = len(load.statuses)
            wait_until(lambda: str(solo) in load.endpoints[mark:], message="traffic on the readmitted endpoint")
        finally:
            statuses = load.stop()
        failed = [s for s in statuses if s != 200]
        self.assertEqual(failed, [], "%d of %d requests failed" % (len(failed), len(statuses)))

    def test_canary_set_without_healthy_endpoint_falls_back_to_stable(self):
        canary = free_port()
        nginx = self.nginx_server([(canary, "v2")])
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (canary, "v2")], canary_weight=50, extra=FAST_PROBES)
        nginx.stop()
        wait_until(lambda: endpoint_health(d, canary) is False, message="the canary endpoint marked unhealthy")
        before = d.metrics().value("canaryd_fallback_total", **{"from": "canary"})
        rs = [d.get("/") for _ in range(100)]
        self.assertEqual([r.status for r in rs], [200] * 100)
        self.assertEqual({r.header("X-Canary-Set") for r in rs}, {"stable"})
        after = d.metrics().value("canaryd_fallback_total", **{"from": "canary"})
        self.assertGreaterEqual(after - before, 50 - support.THREADS - 1, "fallbacks counted: %s" % (after - before))
        self.assertEqual(support.http_request(d.control, "GET", "/readyz").status, 200)

    def test_weight_changes_keep_the_health_the_probes_found(self):
        # A weight change reuses the current snapshot's sets: it must carry the latest health both ways.
        canary = free_port()
        nginx = self.nginx_server([(canary, "v2")])
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (canary, "v2")], canary_weight=50, extra=FAST_PROBES)
        nginx.stop()
        wait_until(lambda: endpoint_health(d, canary) is False, message="the canary endpoint marked unhealthy")
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 100})[0], 200)
        rs = [d.get("/") for _ in range(20)]
        self.assertEqual([(r.status, r.header("X-Canary-Set")) for r in rs], [(200, "stable")] * 20)
        self.nginx_server([(canary, "v2")])
        wait_until(lambda: endpoint_health(d, canary) is True, message="the restarted canary healthy again")
        for weight, served in ((0, "stable"), (100, "canary")):
            self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": weight})[0], 200)
            rs = [d.get("/") for _ in range(20)]
            self.assertEqual([(r.status, r.header("X-Canary-Set")) for r in rs], [(200, served)] * 20, weight)

    def test_readyz_is_503_when_no_stable_endpoint_is_healthy(self):
        stable = free_port()
        nginx = self.nginx_server([(stable, "v1")])
        d = self.canaryd(endpoints=[(stable, "v1"), (self.v2[0], "v2")], extra=FAST_PROBES)
        self.assertEqual(support.http_request(d.control, "GET", "/readyz").status, 200)
        nginx.stop()
        wait_until(lambda: support.http_request(d.control, "GET", "/readyz").status == 503,
                   message="/readyz 503 with the only stable endpoint down")
        # The canary still serves: stable falls back to it.
        r = d.get("/")
        self.assertEqual((r.status, r.header("X-Canary-Set")), (200, "canary"))

    def test_reload_turning_probes_off_makes_every_endpoint_healthy(self):
        dead = free_port()
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (dead, "v1"), (self.v2[0], "v2")], extra=FAST_PROBES)
        wait_until(lambda: endpoint_health(d, dead) is False, message="the dead endpoint marked unhealthy")
        d.write_config(extra="")
        offset = len(d.log())
        d.send_signal(support.signal.SIGHUP)
        d.wait_log("reloaded", after=offset)
        wait_until(lambda: endpoint_health(d, dead) is True, message="health cleared when probes are off")


if __name__ == "__main__":
    support.main()
