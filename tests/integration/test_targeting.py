#!/usr/bin/env python3
"""Who goes where (contract section 8), seen with real nginx and curl: a cookie-keyed client sticks to
one set and only ever moves stable -> canary when the weight rises, set_cookie gives one cookie and then
sticks, overrides from outside override_sources are ignored, X-Canary-Reason names the rule that
decided, and after a rollback no request of any kind reaches the canary."""

import collections
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import LOOPBACK, IntegrationTest  # noqa: E402

REASONS = {"header", "cookie", "affinity", "weight", "fallback", "aborted"}


def curl(port, *args, n=1):
    """n GETs of / with curl (one process, one kept-alive connection); each response's headers, as a
    list of {lower-case name: [values]}."""
    url = "http://%s:%d/" % (LOOPBACK, port)
    cmd = ["curl", "-s", "--max-time", "30"]
    for i in range(n):
        cmd += (["--next"] if i else []) + list(args) + ["-o", "/dev/null", "-D", "-", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    heads = []
    for block in re.split(r"\n\n", out):
        if not block.startswith("HTTP/"):
            continue
        h = collections.defaultdict(list)
        for line in block.split("\n")[1:]:
            name, _, value = line.partition(":")
            h[name.strip().lower()].append(value.strip())
        heads.append(h)
    assert len(heads) == n, "curl gave %d responses, wanted %d: %r" % (len(heads), n, out[:400])
    return heads


def served(h):
    """The set that served (from nginx's X-Version, checked against X-Canary-Set) and the reason."""
    version = {"v1": "stable", "v2": "canary"}[h["x-version"][0]]
    assert h["x-canary-set"] == [version], h
    return version, h["x-canary-reason"][0]


class TargetingTest(IntegrationTest):
    NGINX = True

    def keyed(self, **routing):
        base = {"override_cookie": "canary", "affinity": {"key": "cookie:user"}}
        base.update(routing)
        return base

    def test_cookie_keyed_client_sticks_for_1000_requests_and_never_leaves_the_canary(self):
        d = self.canaryd(canary_weight=30, routing=self.keyed())
        users = ["user-%d" % i for i in range(40)]
        at30 = {}
        for u in users:
            got = {served(h) for h in curl(d.listen, "-b", "user=" + u, n=25)}
            self.assertEqual(len(got), 1, "%s moved between sets at weight 30: %s" % (u, got))
            (s, reason), = got
            self.assertEqual(reason, "affinity")
            at30[u] = s
        self.assertTrue(set(at30.values()) == {"stable", "canary"}, at30)  # 40 keys at 30 %: both sets
        # One user, 1,000 requests on one connection: one set.
        one = {served(h) for h in curl(d.listen, "-b", "user=" + users[0], n=1000)}
        self.assertEqual(one, {(at30[users[0]], "affinity")})
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 50})[0], 200)
        for u in users:
            (s, _), = {served(h) for h in curl(d.listen, "-b", "user=" + u, n=5)}
            if at30[u] == "canary":
                self.assertEqual(s, "canary", "%s moved canary -> stable when the weight rose 30 -> 50" % u)

    def test_set_cookie_issues_one_cookie_and_then_sticks(self):
        d = self.canaryd(canary_weight=50, routing=self.keyed(affinity={"key": "cookie:user", "set_cookie": "user"}))
        jar = os.path.join(self.work.path, "jar.txt")
        first, = curl(d.listen, "-c", jar)
        cookies = first["set-cookie"]
        self.assertEqual(len(cookies), 1, first)
        self.assertRegex(cookies[0], r"^user=[0-9a-f]{32}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax$")
        s0, reason = served(first)
        self.assertEqual(reason, "affinity", "the first request is routed by the cookie it gets")
        later = curl(d.listen, "-b", jar, "-c", jar, n=50)
        self.assertEqual({served(h) for h in later}, {(s0, "affinity")})
        self.assertTrue(all("set-cookie" not in h for h in later), "a client with the cookie gets no other")
        # Distinct clients get distinct cookies.
        values = {curl(d.listen)[0]["set-cookie"][0].split(";")[0] for _ in range(5)}
        self.assertEqual(len(values), 5)

    def test_overrides_from_a_disallowed_source_are_ignored(self):
        d = self.canaryd(canary_weight=0, routing=self.keyed(override_sources=["10.0.0.0/8", "2001:db8::/32"]))
        for args in (["-H", "X-Canary: always"], ["-b", "canary=always"],
                     ["-H", "X-Canary: always", "-H", "X-Forwarded-For: 10.1.2.3"]):
            for h in curl(d.listen, *args, n=5):
                self.assertEqual(served(h), ("stable", "weight"), args)
        for h in curl(d.listen, "-b", "canary=always; user=u1", n=5):
            self.assertEqual(served(h), ("stable", "affinity"), "the key decides, the cookie is ignored")

    def test_overrides_from_an_allowed_source_and_the_reasons(self):
        d = self.canaryd(canary_weight=0, routing=self.keyed(override_sources=["127.0.0.0/8"]))
        self.assertEqual(served(curl(d.listen, "-H", "X-Canary: always")[0]), ("canary", "header"))
        self.assertEqual(served(curl(d.listen, "-b", "canary=always")[0]), ("canary", "cookie"))
        self.assertEqual(served(curl(d.listen, "-b", "canary=always", "-H", "X-Canary: never")[0]),
                         ("stable", "header"))
        self.assertEqual(served(curl(d.listen, "-b", "canary=sometimes")[0]), ("stable", "weight"))
        self.assertEqual(served(curl(d.listen, "-b", "user=x")[0]), ("stable", "affinity"))
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 100})[0], 200)
        self.assertEqual(served(curl(d.listen, "-b", "user=x")[0]), ("canary", "affinity"))
        for h in curl(d.listen, n=3):
            self.assertIn(h["x-canary-reason"][0], REASONS)
        metrics = d.metrics()
        self.assertGreaterEqual(metrics.value("canaryd_routing_decisions_total", set="canary", reason="header"), 1)
        self.assertGreaterEqual(metrics.value("canaryd_routing_decisions_total", set="canary", reason="cookie"), 1)

    def test_after_a_rollback_nothing_reaches_the_canary(self):
        d = self.canaryd(canary_weight=100, routing=self.keyed())
        self.assertEqual(d.api("POST", "/api/rollback")[0], 200)
        for args in ([], ["-H", "X-Canary: always"], ["-b", "canary=always"], ["-b", "user=u1"],
                     ["-b", "canary=always; user=u2", "-H", "X-Canary: always"]):
            for h in curl(d.listen, *args, n=10):
                self.assertEqual(served(h), ("stable", "aborted"), args)

    def test_client_ip_and_header_keys_stick(self):
        d = self.canaryd(canary_weight=50, routing={"affinity": {"key": "client_ip"}})
        self.assertEqual(len({served(h) for h in curl(d.listen, n=100)}), 1)
        self.assertEqual({served(h)[1] for h in curl(d.listen, n=3)}, {"affinity"})
        d2 = self.canaryd(name="by_header", canary_weight=50, routing={"affinity": {"key": "header:X-User"}})
        for u in ("a", "b", "c", "d"):
            got = {served(h) for h in curl(d2.listen, "-H", "X-User: " + u, n=20)}
            self.assertEqual(len(got), 1, got)
            self.assertEqual(next(iter(got))[1], "affinity")

    def test_a_reload_applies_the_targeting_keys(self):
        d = self.canaryd(canary_weight=0)
        self.assertEqual(served(curl(d.listen, "-b", "user=u1", "-H", "X-Canary: always")[0]), ("canary", "header"))
        offset = len(d.log())
        d.write_config(routing=self.keyed(override_sources=["10.0.0.0/8"]), canary_weight=0)
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reloaded", after=offset)
        for h in curl(d.listen, "-b", "user=u1; canary=always", "-H", "X-Canary: always", n=5):
            self.assertEqual(served(h), ("stable", "affinity"), "after the reload: key decides, overrides ignored")
        offset = len(d.log())
        d.write_config(routing={})
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reloaded", after=offset)
        self.assertEqual(served(curl(d.listen, "-b", "user=u1", "-H", "X-Canary: always")[0]), ("canary", "header"))
        self.assertEqual(served(curl(d.listen, "-b", "user=u1")[0]), ("stable", "weight"))

    def test_no_reason_without_response_header(self):
        d = self.canaryd(canary_weight=50, routing=self.keyed(response_header=""))
        h, = curl(d.listen, "-b", "user=u1")
        self.assertNotIn("x-canary-reason", h)
        self.assertNotIn("x-canary-set", h)


if __name__ == "__main__":
    support.main()
