#!/usr/bin/env python3
"""Routing: per-request split (new and keep-alive connections) within the contract's accuracy bound,
the override header, fallback to the other set, 503/502/504, retries, X-Canary-Set, spreading over
the endpoints of a set (contract section 3)."""

import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import (THREADS, IntegrationTest, keepalive_requests, new_connection_requests,  # noqa: E402
                     parse_echo, serve_slow, wait_until)

BOUND = THREADS + 1


def sets_of(responses):
    """Counts responses by (X-Version from the upstream, X-Canary-Set from canaryd) or status."""
    c = collections.Counter()
    for r in responses:
        c[r.header("X-Canary-Set") if r.status == 200 else "status-%d" % r.status] += 1
    return c


class SplitTest(IntegrationTest):
    NGINX = True

    def assert_split(self, d, weight, n, keepalive):
        rs = (keepalive_requests if keepalive else new_connection_requests)(d.listen, n)
        c = sets_of(rs)
        kind = "keep-alive" if keepalive else "new connections"
        self.assertEqual(sum(c[k] for k in ("stable", "canary")), n, "weight %s, %s: %s" % (weight, kind, c))
        want = n * weight / 100.0
        self.assertLessEqual(abs(c["canary"] - want), BOUND,
                             "weight %s over %d requests on %s: canary served %d, expected %.2f +- %d"
                             % (weight, n, kind, c["canary"], want, BOUND))
        # X-Canary-Set names the set that really served (v1 endpoints are stable, v2 canary).
        for r in rs:
            self.assertEqual({"v1": "stable", "v2": "canary"}[r.header("X-Version")], r.header("X-Canary-Set"), r)

    def test_split_accuracy_on_new_connections(self):
        d = self.canaryd()
        for weight in (10, 50, 2.5, 33.33):
            self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": weight})[0], 200)
            self.assert_split(d, weight, 600, keepalive=False)

    def test_split_accuracy_on_one_keepalive_connection(self):
        d = self.canaryd()
        for weight in (10, 50, 90, 2.5, 33.33, 0.01, 99.99):
            self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": weight})[0], 200)
            self.assert_split(d, weight, 800, keepalive=True)

    def test_small_window_on_keepalive_is_per_request(self):
        # At 50 % every window of 20 requests on one connection has both sets (a per-connection
        # balancer would send all 20 to one set).
        d = self.canaryd(canary_weight=50)
        for _ in range(5):
            c = sets_of(keepalive_requests(d.listen, 20))
            self.assertLessEqual(abs(c["canary"] - 10), BOUND, c)

    def test_weight_0_and_100_are_exclusive(self):
        d = self.canaryd(canary_weight=0)
        self.assertEqual(sets_of(keepalive_requests(d.listen, 200)), {"stable": 200})
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 100})[0], 200)
        self.assertEqual(sets_of(keepalive_requests(d.listen, 200)), {"canary": 200})
        self.assertEqual(sets_of(new_connection_requests(d.listen, 50)), {"canary": 50})

    def test_x_canary_set_on_every_proxied_response(self):
        d = self.canaryd(canary_weight=50)
        for path, code in (("/", 200), ("/status/404", 404), ("/status/204", 204), ("/status/304", 304),
                           ("/headers", 200)):
            for r in keepalive_requests(d.listen, 10, path=path):
                self.assertEqual(r.status, code, r)
                self.assertIn(r.header("X-Canary-Set"), ("stable", "canary"), r)
                self.assertEqual({"v1": "stable", "v2": "canary"}[r.header("X-Version")], r.header("X-Canary-Set"))
        for r in keepalive_requests(d.listen, 5, method="HEAD"):
            self.assertEqual(r.status, 200)
            self.assertIn(r.header("X-Canary-Set"), ("stable", "canary"), r)

    def test_spread_over_all_endpoints_of_a_set(self):
        d = self.canaryd(canary_weight=0)
        for fn in (keepalive_requests, new_connection_requests):
            seen = collections.Counter(r.header("X-Endpoint") for r in fn(d.listen, 300))
            self.assertEqual(set(seen), {str(p) for p in self.v1}, "%s: %s" % (fn.__name__, seen))
            for port, n in seen.items():
                self.assertGreaterEqual(n, 40, "%s: endpoint %s got %d of 300: %s" % (fn.__name__, port, n, seen))


class OverrideTest(IntegrationTest):
    NGINX = True

    def test_always_and_never_force_the_set(self):
        d = self.canaryd(canary_weight=0)
        self.assertEqual(sets_of(keepalive_requests(d.listen, 100, headers={"X-Canary": "always"})), {"canary": 100})
        self.assertEqual(sets_of(new_connection_requests(d.listen, 20, headers={"X-Canary": "always"})),
                         {"canary": 20})
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 100})[0], 200)
        self.assertEqual(sets_of(keepalive_requests(d.listen, 100, headers={"X-Canary": "never"})), {"stable": 100})
        # Header names are case-insensitive.
        self.assertEqual(sets_of(keepalive_requests(d.listen, 20, headers={"x-canary": "never"})), {"stable": 20})

    def test_other_values_are_ignored(self):
        d = self.canaryd(canary_weight=0)
        for value in ("yes", "true", "canary", "1", "alwaysx", "never-ish", ""):
            self.assertEqual(sets_of(keepalive_requests(d.listen, 10, headers={"X-Canary": value})),
                             {"stable": 10}, "X-Canary: %r at weight 0" % value)
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 100})[0], 200)
        for value in ("no", "false", "stable", "0", "nevermore"):
            self.assertEqual(sets_of(keepalive_requests(d.listen, 10, headers={"X-Canary": value})),
                             {"canary": 10}, "X-Canary: %r at weight 100" % value)

    def test_override_header_is_not_forwarded(self):
        d = self.canaryd(canary_weight=50)
        for value in ("always", "never", "yes"):
            for r in keepalive_requests(d.listen, 4, path="/headers", headers={"X-Canary": value}):
                self.assertEqual(r.status, 200)
                self.assertEqual(parse_echo(r.body)["canary"], "", "X-Canary: %s reached the upstream: %r"
                                 % (value, r.body))

    def test_configured_override_header_name(self):
        d = self.canaryd(canary_weight=0, routing={"override_header": "X-Track"})
        self.assertEqual(sets_of(keepalive_requests(d.listen, 10, headers={"X-Track": "always"})), {"canary": 10})
        # the default name no longer means anything
        self.assertEqual(sets_of(keepalive_requests(d.listen, 10, headers={"X-Canary": "always"})), {"stable": 10})


class FallbackTest(IntegrationTest):
    NGINX = True

    def test_canary_without_endpoint_falls_back_to_stable(self):
        d = self.canaryd(canary={"version": "v9"}, canary_weight=50)
        before = d.metrics().value("canaryd_fallback_total", **{"from": "canary"})
        rs = keepalive_requests(d.listen, 30, headers={"X-Canary": "always"})
        for r in rs:
            self.assertEqual((r.status, r.header("X-Version"), r.header("X-Canary-Set")), (200, "v1", "stable"), r)
        rs = keepalive_requests(d.listen, 100)
        self.assertEqual(sets_of(rs), {"stable": 100})
        # 30 forced + about 50 chosen by the split fell back
        got = wait_until(lambda: d.metrics().value("canaryd_fallback_total", **{"from": "canary"}) - before >= 30
                         and d.metrics().value("canaryd_fallback_total", **{"from": "canary"}) - before,
                         message="canaryd_fallback_total{from=canary} to count the fallbacks")
        self.assertLessEqual(abs(got - 80), BOUND, "fallback_total{from=canary} grew by %s, expected 80" % got)
        self.assertEqual(d.metrics().value("canaryd_fallback_total", **{"from": "stable"}), 0)

    def test_stable_without_endpoint_falls_back_to_canary(self):
        d = self.canaryd(stable={"version": "v8"}, canary_weight=0)
        rs = keepalive_requests(d.listen, 20)
        for r in rs:
            self.assertEqual((r.status, r.header("X-Version"), r.header("X-Canary-Set")), (200, "v2", "canary"), r)
        wait_until(lambda: d.metrics().value("canaryd_fallback_total", **{"from": "stable"}) == 20,
                   message="canaryd_fallback_total{from=stable} == 20")

    def test_neither_set_has_an_endpoint_gives_503(self):
        d = self.canaryd(stable={"version": "v8"}, canary={"version": "v9"}, canary_weight=50)
        rs = keepalive_requests(d.listen, 10)
        self.assertEqual([r.status for r in rs], [503] * 10)
        rs = keepalive_requests(d.listen, 3, headers={"X-Canary": "always"})
        self.assertEqual([r.status for r in rs], [503] * 3)

    def test_no_canary_defined_serves_stable(self):
        d = self.canaryd(canary=None)
        self.assertEqual(sets_of(keepalive_requests(d.listen, 20, headers={"X-Canary": "always"})), {"stable": 20})


class UpstreamFailureTest(IntegrationTest):
    NGINX = True

    def test_connect_failure_is_retried_on_another_endpoint(self):
        dead1, dead2 = support.free_port(), support.free_port()
        d = self.canaryd(endpoints=[(dead1, "v1"), (dead2, "v1"), (self.v1[0], "v1"), (self.v2[0], "v2")],
                         routing={"retries": 2})
        for fn in (keepalive_requests, new_connection_requests):
            rs = fn(d.listen, 60)
            self.assertEqual(collections.Counter(r.status for r in rs), {200: 60}, fn.__name__)
            self.assertEqual({r.header("X-Endpoint") for r in rs}, {str(self.v1[0])})
        self.assertGreater(d.metrics().value("canaryd_upstream_errors_total", set="stable", kind="connect"), 0)

    def test_without_retries_a_connect_failure_is_502(self):
        dead = support.free_port()
        d = self.canaryd(endpoints=[(dead, "v1"), (self.v1[0], "v1"), (self.v2[0], "v2")], routing={"retries": 0})
        codes = collections.Counter(r.status for r in keepalive_requests(d.listen, 40))
        self.assertEqual(set(codes), {200, 502}, "one of two stable endpoints dead, retries 0: %s" % codes)

    def test_retries_are_bounded_by_routing_retries(self):
        # Two of three stable endpoints dead and one retry: a request that starts on a dead endpoint and
        # retries onto the other dead one gets 502 (with retries 2 every request would succeed).
        dead1, dead2 = support.free_port(), support.free_port()
        d = self.canaryd(endpoints=[(dead1, "v1"), (dead2, "v1"), (self.v1[0], "v1"), (self.v2[0], "v2")],
                         routing={"retries": 1})
        codes = collections.Counter(r.status for r in keepalive_requests(d.listen, 60))
        self.assertEqual(set(codes), {200, 502}, "retries 1 with two of three endpoints dead: %s" % codes)

    def test_all_endpoints_of_the_set_dead_gives_502(self):
        dead = [support.free_port() for _ in range(3)]
        d = self.canaryd(endpoints=[(p, "v1") for p in dead] + [(self.v2[0], "v2")], canary_weight=0,
                         routing={"retries": 2}, timeouts={"connect": "1s"})
        t = time.monotonic()
        rs = keepalive_requests(d.listen, 5)
        self.assertEqual([r.status for r in rs], [502] * 5)
        self.assertLess(time.monotonic() - t, 10)
        for r in rs:
            self.assertEqual(r.header("X-Canary-Set"), "stable", "502 responses still name the chosen set")
        # the canary still works
        self.assertEqual(keepalive_requests(d.listen, 1, headers={"X-Canary": "always"})[0].status, 200)

    def test_no_response_within_upstream_timeout_gives_504(self):
        slow = self.raw_upstream(serve_slow(4))
        d = self.canaryd(endpoints=[(slow.port, "v1"), (self.v2[0], "v2")], timeouts={"upstream": "1s"})
        t = time.monotonic()
        r = d.get("/")
        took = time.monotonic() - t
        self.assertEqual(r.status, 504, r)
        self.assertTrue(0.8 <= took < 3.0, "504 after %.2f s with timeouts.upstream 1s" % took)
        wait_until(lambda: d.metrics().value("canaryd_upstream_errors_total", set="stable", kind="timeout") == 1,
                   message="canaryd_upstream_errors_total{kind=timeout} == 1")

    def test_post_is_not_resent_after_the_upstream_dropped_it(self):
        def hang_up(conn, up):
            if conn.read_request() is not None:
                conn.reset()
        up = self.raw_upstream(hang_up)
        up2 = self.raw_upstream(hang_up)
        d = self.canaryd(endpoints=[(up.port, "v1"), (up2.port, "v1"), (self.v2[0], "v2")], routing={"retries": 2})
        r = support.http_request(d.listen, "POST", "/order", body=b'{"buy": 1}')
        self.assertEqual(r.status, 502, r)
        sent = [q for q in up.requests + up2.requests if q.method == "POST"]
        self.assertEqual(len(sent), 1, "a POST that reached an upstream was sent %d times" % len(sent))

    def test_upstream_closing_without_response_gives_502(self):
        def hang_up(conn, up):
            if conn.read_request() is not None:
                conn.reset()
        up = self.raw_upstream(hang_up)
        d = self.canaryd(endpoints=[(up.port, "v1"), (self.v2[0], "v2")])
        r = d.get("/")
        self.assertEqual(r.status, 502, r)
        # canaryd serves the next request normally
        self.assertEqual(d.get("/", headers={"X-Canary": "always"}).status, 200)


if __name__ == "__main__":
    support.main()
