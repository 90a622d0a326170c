#!/usr/bin/env python3
"""POST /api/explain and `canaryctl route` (contract section 8) against the real data plane: for each
reason (header, cookie, affinity, weight, fallback, aborted) explain names the set and the reason that
curl then sees in X-Canary-Set / X-Canary-Reason for the same cookies and headers; overrides from outside
override_sources are ignored in both; explain is a read (no revision, no audit line) with a strict body."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import LOOPBACK, IntegrationTest  # noqa: E402

ROUTING = {"override_header": "X-Canary", "override_cookie": "canary", "affinity": {"key": "cookie:user"}}
USERS = ["user-%d" % i for i in range(40)]


def curl(d, cookies=None, headers=None):
    """One request through canaryd with curl: (X-Canary-Set, X-Canary-Reason)."""
    args = ["curl", "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "10"]
    if cookies:
        args += ["-b", "; ".join("%s=%s" % kv for kv in cookies.items())]
    for k, v in (headers or {}).items():
        args += ["-H", "%s: %s" % (k, v)]
    args.append("http://%s:%d/" % (LOOPBACK, d.listen))
    out = subprocess.run(args, capture_output=True, text=True, timeout=20, check=True).stdout
    fields = {}
    for line in out.splitlines()[1:]:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), value.strip())
    return fields.get("x-canary-set"), fields.get("x-canary-reason")


def explain(d, cookies=None, headers=None, client_ip=None):
    body = {}
    if cookies:
        body["cookies"] = cookies
    if headers:
        body["headers"] = headers
    if client_ip:
        body["client_ip"] = client_ip
    status, doc = d.api("POST", "/api/explain", body)
    assert status == 200, "POST /api/explain %r answered %d %r" % (body, status, doc)
    return doc


class ExplainTest(IntegrationTest):
    NGINX = True

    def assert_agrees(self, d, cookies=None, headers=None, times=5):
        """explain's set and reason are what the data plane does for the same request, every time."""
        doc = explain(d, cookies, headers, client_ip=LOOPBACK)
        for _ in range(times):
            self.assertEqual(curl(d, cookies, headers), (doc["set"], doc["reason"]),
                             "cookies %r headers %r: explain said %r" % (cookies, headers, doc))
        return doc

    def test_each_reason_agrees_with_the_data_plane(self):
        d = self.canaryd(canary_weight=30, routing=ROUTING)
        self.assertEqual(self.assert_agrees(d, headers={"X-Canary": "always"})["reason"], "header")
        self.assertEqual(self.assert_agrees(d, headers={"x-canary": "NEVER"}, cookies={"canary": "always"})["set"],
                         "stable")
        self.assertEqual(self.assert_agrees(d, cookies={"canary": "always", "user": "u"})["reason"], "cookie")
        sets = set()
        for user in USERS:
            doc = self.assert_agrees(d, cookies={"user": user}, times=3)
            self.assertEqual(doc["reason"], "affinity")
            self.assertEqual(doc["set"], "canary" if doc["bucket"] < 3000 else "stable", doc)
            sets.add(doc["set"])
        self.assertEqual(sets, {"stable", "canary"})  # 40 users at 30 %: both sets are used
        # Without a key the weight draws: the reason agrees, the set is a draw with the weight's odds.
        doc = explain(d, cookies={"other": "x"})
        self.assertEqual((doc["reason"], doc["bucket"], doc["canary_probability"]), ("weight", None, 0.3))
        self.assertEqual(curl(d, cookies={"other": "x"})[1], "weight")
        for weight, only in ((0, "stable"), (100, "canary")):
            self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": weight})[0], 200)
            self.assertEqual(self.assert_agrees(d)["set"], only)

    def test_fallback_and_abort(self):
        d = self.canaryd(canary_weight=50, routing=ROUTING)
        canary_user = next(u for u in USERS if explain(d, cookies={"user": u})["set"] == "canary")
        # Rolled back: no override, cookie or key reaches the canary, and explain says so.
        self.assertEqual(d.api("POST", "/api/rollback")[0], 200)
        for cookies, headers in (({"user": canary_user}, None), ({"canary": "always"}, None),
                                 (None, {"X-Canary": "always"}), (None, None)):
            doc = self.assert_agrees(d, cookies, headers)
            self.assertEqual((doc["set"], doc["reason"], doc["canary_probability"]), ("stable", "aborted", 0), doc)
        out = d.ctl("route", "--cookie", "user=" + canary_user, "--header", "X-Canary=always")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("stable (aborted: "), out.stdout)
        # A canary set without endpoints: what would go there falls back to stable.
        self.assertEqual(d.api("PUT", "/api/canary", {"selector": "version=v9", "canary_weight": 50})[0], 200)
        doc = self.assert_agrees(d, headers={"X-Canary": "always"})
        self.assertEqual((doc["set"], doc["reason"]), ("stable", "fallback"))

    def test_overrides_from_outside_the_sources_are_ignored(self):
        routing = dict(ROUTING, override_sources=["10.0.0.0/8"])
        d = self.canaryd(canary_weight=0, routing=routing)
        forced = {"headers": {"X-Canary": "always"}, "cookies": {"canary": "always"}}
        # curl comes from 127.0.0.1: outside the sources, so the weight (0) decides in both.
        self.assertEqual(curl(d, forced["cookies"], forced["headers"]), ("stable", "weight"))
        self.assertEqual(explain(d, client_ip=LOOPBACK, **forced)["reason"], "weight")
        self.assertEqual(explain(d, **forced)["reason"], "weight")  # no client_ip: outside
        doc = explain(d, client_ip="10.1.2.3", **forced)
        self.assertEqual((doc["set"], doc["reason"]), ("canary", "header"))

    def test_canaryctl_route_says_what_explain_says(self):
        d = self.canaryd(canary_weight=30, routing=ROUTING)
        for user in USERS[:10]:
            doc = explain(d, cookies={"user": user})
            out = d.ctl("route", "--cookie", "user=" + user)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertTrue(out.stdout.startswith("%s (affinity: bucket %d " % (doc["set"], doc["bucket"])),
                            out.stdout)
        out = d.ctl("route", "--header", "X-Canary=always", "-o", "json")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('"reason":"header"', out.stdout)

    def test_a_read_with_a_strict_body(self):
        d = self.canaryd(canary_weight=30, routing=ROUTING)
        before = d.status()["revision"]
        explain(d, cookies={"user": "alice"})
        self.assertEqual(d.status()["revision"], before)
        for body, message in (({"cookie": {}}, 'unknown field "cookie"'),
                              ({"client_ip": "10.0.0.300"}, "client_ip: not an IPv4 or IPv6 address"),
                              ({"headers": {"X-Canary": 1}}, "headers.X-Canary must be a string")):
            status, doc = d.api("POST", "/api/explain", body)
            self.assertEqual(status, 400, doc)
            self.assertIn(message, doc["error"])
        self.assertEqual(d.api("GET", "/api/explain")[0], 405)
        # Reads leave no audit line; a change does.
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 31})[0], 200)
        d.wait_log("PUT /api/weight")
        self.assertNotIn("/api/explain", d.log())


if __name__ == "__main__":
    support.main()
