#!/usr/bin/env python3
"""Passive ejection (config `health: {unhealthy_threshold, max_ejected_percent, ejection_time}`): an
endpoint whose requests fail several times in a row (5xx answers, connect failures) is taken out of its
set at once, without waiting for a probe; it comes back after its ejection time, and is ejected for
longer if it fails again; never more than max_ejected_percent of a set is out."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, free_port, response_bytes, wait_until  # noqa: E402

# Probes every hour: the first probe passes (/healthz answers 200 everywhere), then only passive
# ejection can take an endpoint out during a test.
SLOW_PROBES = ("health: {path: /healthz, interval: 1h, timeout: 1s, unhealthy_threshold: 3, "
               "ejection_time: %s, max_ejected_percent: %d}\n")


def serve_500_but_healthz():
    """A pod whose application fails (500) while its health endpoint still says 200."""
    def handler(conn, up):
        while True:
            req = conn.read_request()
            if req is None:
                return
            status = 200 if req.target == "/healthz" else 500
            conn.send(response_bytes(status, headers=up.tag_headers(), body=b"broken\n"))
    return handler


endpoint_health = support.endpoint_health


class PassiveEjectionTest(IntegrationTest):
    NGINX = True

    def stable_get(self, d):
        return d.get("/", headers={"X-Canary": "never"})

    def until_ejected(self, d, port, after=0):
        """Requests, one at a time, until canaryd logs the ejection of `port`; their statuses."""
        statuses = []
        while "endpoint 127.0.0.1:%d ejected" % port not in d.log()[after:]:
            self.assertLess(len(statuses), 30, "no ejection after %d requests" % len(statuses))
            statuses.append(self.stable_get(d).status)
        return statuses

    def flush(self, d):
        """A worker may serve a request or two more on the snapshot it had when the ejection was
        published (the new one is queued behind them): a round of requests lets it take the new one."""
        for _ in range(3):
            self.stable_get(d)

    def test_failing_endpoint_is_ejected_returns_and_is_ejected_longer(self):
        bad = self.raw_upstream(serve_500_but_healthz())
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (self.v1[1], "v1"), (bad.port, "v1"), (self.v2[0], "v2")],
                         threads=1, extra=SLOW_PROBES % ("1s", 50))
        statuses = self.until_ejected(d, bad.port)
        # Round robin over three endpoints: the bad one answered every third request until its third 500
        # (and perhaps one more, sent while the ejection was on its way to the worker).
        self.assertIn(statuses.count(500), (3, 4), statuses)
        d.wait_log("endpoint 127.0.0.1:%d ejected for 1s after 3 failed requests in a row" % bad.port)
        self.assertFalse(endpoint_health(d, bad.port))
        self.flush(d)
        seen = len(bad.requests)
        after = [self.stable_get(d) for _ in range(30)]
        self.assertEqual([r.status for r in after], [200] * 30)
        self.assertNotIn(str(bad.port), [r.header("X-Endpoint") for r in after])
        self.assertEqual(len(bad.requests), seen, "an ejected endpoint still got requests")
        m = d.metrics()
        self.assertEqual(m.value("canaryd_endpoints", set="stable", health="unhealthy"), 1)

        # Back after its ejection time; failing again soon after, it is out for twice as long.
        offset = len(d.log())
        wait_until(lambda: endpoint_health(d, bad.port) is True, message="the endpoint back after 1s")
        self.assertIn("endpoint 127.0.0.1:%d returns after its ejection" % bad.port, d.log()[offset:])
        statuses = self.until_ejected(d, bad.port, after=offset)
        self.assertIn(statuses.count(500), (3, 4), statuses)
        d.wait_log("endpoint 127.0.0.1:%d ejected for 2s" % bad.port, after=offset)

    def test_never_more_than_the_share_of_a_set(self):
        bad = [self.raw_upstream(serve_500_but_healthz()) for _ in range(2)]
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (bad[0].port, "v1"), (bad[1].port, "v1"), (self.v2[0], "v2")],
                         threads=1, extra=SLOW_PROBES % ("1h", 50))
        statuses = [self.stable_get(d).status for _ in range(60)]
        # 50 % of three endpoints is one: the first bad endpoint to fail three times in a row is ejected,
        # the other keeps its traffic (and keeps failing) rather than leaving one endpoint for everything.
        self.assertEqual(d.log().count("ejected for"), 1, d.log())
        self.assertGreater(statuses[-20:].count(500), 0)
        self.assertEqual(d.metrics().value("canaryd_endpoints", set="stable", health="unhealthy"), 1)

    def test_connect_failures_eject_and_stop_the_connect_attempts(self):
        dead = free_port()
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (self.v1[1], "v1"), (dead, "v1"), (self.v2[0], "v2")],
                         threads=1, extra=SLOW_PROBES.replace("/healthz", "/") % ("1h", 50))
        # The probe at start finds the dead endpoint once (below unhealthy_threshold); requests find the
        # rest. Every request still succeeds: a failed connect is retried on another endpoint.
        statuses = self.until_ejected(d, dead)
        self.assertEqual(statuses, [200] * len(statuses))
        self.flush(d)
        connects = d.metrics().value("canaryd_upstream_errors_total", set="stable", kind="connect")
        self.assertIn(connects, (3, 4))
        statuses = [self.stable_get(d).status for _ in range(30)]
        self.assertEqual(statuses, [200] * 30)
        self.assertEqual(d.metrics().value("canaryd_upstream_errors_total", set="stable", kind="connect"), connects,
                         "connect attempts went on to the ejected endpoint")

    def test_without_health_settings_nothing_is_ejected(self):
        bad = self.raw_upstream(serve_500_but_healthz())
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (bad.port, "v1"), (self.v2[0], "v2")], threads=1)
        statuses = [self.stable_get(d).status for _ in range(20)]
        self.assertEqual(statuses.count(500), 10)
        self.assertNotIn("ejected", d.log())

    def test_reload_ends_ejections_of_removed_endpoints(self):
        bad = self.raw_upstream(serve_500_but_healthz())
        extra = SLOW_PROBES % ("1h", 50)
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (self.v1[1], "v1"), (bad.port, "v1"), (self.v2[0], "v2")],
                         threads=1, extra=extra)
        for _ in range(12):
            self.stable_get(d)
        d.wait_log("endpoint 127.0.0.1:%d ejected" % bad.port)
        # Health settings switched off by a reload: nothing stays ejected.
        d.write_config(extra="")
        offset = len(d.log())
        d.send_signal(support.signal.SIGHUP)
        d.wait_log("reloaded", after=offset)
        wait_until(lambda: endpoint_health(d, bad.port) is True, message="the ejection ended by the reload")


if __name__ == "__main__":
    support.main()
