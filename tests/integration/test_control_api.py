#!/usr/bin/env python3
"""The control API (contract section 4): every call and status code, bad input, revisions, history,
undo, token, serialised concurrent calls, durability across kill -9, and a failed durable write."""

import json
import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, api, http_request, keepalive_requests, wait_until  # noqa: E402

ISO_Z = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"


class ApiTest(IntegrationTest):
    NGINX = True

    def assert_error(self, status, doc, code, what):
        self.assertEqual(status, code, "%s answered %d %r" % (what, status, doc))
        self.assertIsInstance(doc, dict, what)
        self.assertIsInstance(doc.get("error"), str, "%s: error body %r" % (what, doc))
        self.assertTrue(doc["error"], what)

    def test_status_document(self):
        d = self.canaryd(canary_weight=12.5)
        s, doc = d.api("GET", "/api/status")
        self.assertEqual(s, 200)
        self.assertIsInstance(doc["revision"], int)
        self.assertEqual(doc["canary_weight"], 12.5)
        self.assertRegex(doc["updated_at"], ISO_Z)
        self.assertEqual(doc["stable"]["selector"], "name=nginx,version=v1")
        self.assertEqual(doc["canary"]["selector"], "name=nginx,version=v2")
        self.assertEqual(sorted(e["address"] for e in doc["stable"]["endpoints"]),
                         sorted("127.0.0.1:%d" % p for p in self.v1))
        self.assertEqual([e["address"] for e in doc["canary"]["endpoints"]], ["127.0.0.1:%d" % self.v2[0]])
        for e in doc["stable"]["endpoints"] + doc["canary"]["endpoints"]:
            self.assertEqual(set(e), {"address", "labels", "healthy"}, e)
            self.assertIs(e["healthy"], True)
            self.assertEqual(e["labels"]["name"], "nginx")
        r = http_request(d.control, "GET", "/api/status")
        self.assertIn("application/json", r.header("Content-Type") or "")

    def test_status_without_canary_is_null(self):
        d = self.canaryd(canary=None)
        self.assertIsNone(d.status()["canary"])
        self.assertEqual(d.status()["canary_weight"], 0)

    def test_put_weight_creates_a_revision(self):
        d = self.canaryd()
        before = d.status()
        for i, w in enumerate((30, 2.5, 33.33, 0.01, 100, 0), start=1):
            s, doc = d.api("PUT", "/api/weight", {"canary_weight": w, "cause": "step %d" % i})
            self.assertEqual(s, 200, doc)
            st = d.status()
            self.assertEqual((st["canary_weight"], st["revision"]), (w, before["revision"] + i))
            last = d.history()[-1]
            self.assertEqual((last["revision"], last["canary_weight"], last["cause"]),
                             (before["revision"] + i, w, "step %d" % i))
        # integers and floats of the same value are the same weight
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 7.0})[0], 200)
        self.assertEqual(d.status()["canary_weight"], 7)

    def test_weight_takes_effect_on_traffic(self):
        d = self.canaryd()
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 100})[0], 200)
        self.assertEqual({r.header("X-Canary-Set") for r in keepalive_requests(d.listen, 20)}, {"canary"})

    def test_bad_bodies_are_400_and_change_nothing(self):
        d = self.canaryd(canary_weight=10)
        before = d.status()
        hist = d.history()
        bodies = [{"canary_weight": -1}, {"canary_weight": -0.01}, {"canary_weight": 100.01},
                  {"canary_weight": 12.345}, {"canary_weight": 0.001}, {"canary_weight": "30"},
                  {"canary_weight": None}, {"canary_weight": True}, {}, {"canary_weight": [10]},
                  {"canary_weight": {"v": 1}}, [10], 10, "10", None, b"{not json", b"",
                  b'{"canary_weight": 1e400}', b'{"canary_weight": NaN}', b'{"canary_weight": 10',
                  b'{"canary_weight": 10} trailing', b'\xff\xfe']
        for body in bodies:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            s, doc = d.api("PUT", "/api/weight", raw)
            self.assert_error(s, doc, 400, "PUT /api/weight %r" % raw)
        self.assertEqual(d.status()["revision"], before["revision"])
        self.assertEqual(d.status()["canary_weight"], 10)
        self.assertEqual(d.history(), hist)

    def test_other_bad_bodies_are_400(self):
        d = self.canaryd()
        before = d.status()
        for method, path, body in (("PUT", "/api/canary", {}),
                                   ("PUT", "/api/canary", {"selector": "version in (v3"}),
                                   ("PUT", "/api/canary", {"selector": 5}),
                                   ("PUT", "/api/canary", {"selector": "version=v3", "canary_weight": 101}),
                                   ("PUT", "/api/canary", {"selector": "version=v3", "canary_weight": 1.234}),
                                   ("PUT", "/api/canary", b"[]"),
                                   ("POST", "/api/undo", {"to_revision": "x"}),
                                   ("POST", "/api/undo", {"to_revision": 1.5}),
                                   ("POST", "/api/undo", b"{"),
                                   ("POST", "/api/promote", b"{"),
                                   ("POST", "/api/rollback", b"not json")):
            s, doc = d.api(method, path, body)
            self.assert_error(s, doc, 400, "%s %s %r" % (method, path, body))
        self.assertEqual(d.status(), before)

    def test_body_over_64_kib_is_413(self):
        d = self.canaryd()
        before = d.status()
        # valid JSON that would set the weight, padded past 64 KiB
        body = b'{"canary_weight": 50' + b" " * (64 * 1024) + b"}"
        s, doc = d.api("PUT", "/api/weight", body)
        self.assert_error(s, doc, 413, "a %d-byte body" % len(body))
        self.assertEqual(d.status()["revision"], before["revision"])
        # just under the limit is fine
        body = b'{"canary_weight": 50' + b" " * (60 * 1024) + b"}"
        self.assertEqual(d.api("PUT", "/api/weight", body)[0], 200)

    def test_unknown_path_is_404_and_wrong_method_is_405(self):
        d = self.canaryd()
        for path in ("/api/nope", "/api/status/extra", "/api", "/api/weights"):
            s, doc = d.api("GET", path)
            self.assert_error(s, doc, 404, "GET %s" % path)
        for method, path in (("DELETE", "/api/status"), ("POST", "/api/status"), ("GET", "/api/weight"),
                             ("POST", "/api/weight"), ("GET", "/api/promote"), ("PUT", "/api/rollback"),
                             ("GET", "/api/undo"), ("POST", "/api/canary"), ("GET", "/api/canary"),
                             ("PUT", "/api/history")):
            s, doc = d.api(method, path, b"{}" if method in ("PUT", "POST") else None)
            self.assert_error(s, doc, 405, "%s %s" % (method, path))

    def test_weight_without_canary_is_409(self):
        d = self.canaryd(canary=None)
        s, doc = d.api("PUT", "/api/weight", {"canary_weight": 10})
        self.assert_error(s, doc, 409, "PUT /api/weight with no canary")
        self.assertEqual(d.status()["canary_weight"], 0)

    def test_promote(self):
        d = self.canaryd(canary_weight=10)
        rev = d.status()["revision"]
        s, doc = d.api("POST", "/api/promote", {"cause": "v2 is good"})
        self.assertEqual(s, 200, doc)
        st = d.status()
        self.assertEqual((st["stable"]["selector"], st["canary"], st["canary_weight"], st["revision"]),
                         ("name=nginx,version=v2", None, 0, rev + 1))
        self.assertEqual(d.history()[-1]["cause"], "v2 is good")
        self.assertIsNone(d.history()[-1]["canary"])
        self.assertEqual({r.header("X-Version") for r in keepalive_requests(d.listen, 30)}, {"v2"})
        s, doc = d.api("POST", "/api/promote")
        self.assert_error(s, doc, 409, "a second promote")
        self.assertEqual(d.status()["revision"], rev + 1)

    def test_promote_without_body(self):
        d = self.canaryd(canary_weight=10)
        r = http_request(d.control, "POST", "/api/promote")
        self.assertEqual(r.status, 200, r)

    def test_promote_a_canary_without_endpoint_is_409(self):
        d = self.canaryd()
        self.assertEqual(d.api("PUT", "/api/canary", {"selector": "version=v9"})[0], 200)
        before = d.status()
        s, doc = d.api("POST", "/api/promote")
        self.assert_error(s, doc, 409, "promote of an empty canary")
        self.assertEqual(d.status(), before)

    def test_rollback(self):
        d = self.canaryd(canary_weight=60)
        rev = d.status()["revision"]
        s, doc = d.api("POST", "/api/rollback", {"cause": "errors up"})
        self.assertEqual(s, 200, doc)
        st = d.status()
        self.assertEqual((st["canary_weight"], st["canary"]["selector"], st["revision"]),
                         (0, "name=nginx,version=v2", rev + 1))
        self.assertEqual(d.history()[-1]["cause"], "errors up")
        self.assertEqual({r.header("X-Canary-Set") for r in keepalive_requests(d.listen, 30)}, {"stable"})

    def test_define_and_remove_canary(self):
        d = self.canaryd(canary=None)
        s, doc = d.api("PUT", "/api/canary", {"selector": "version=v1"})
        self.assert_error(s, doc, 409, "a canary equal to stable")
        s, doc = d.api("PUT", "/api/canary", {"selector": "version in (v1,v2)"})
        self.assert_error(s, doc, 409, "a canary overlapping stable")
        s, doc = d.api("PUT", "/api/canary", {"selector": "version=v2"})
        self.assertEqual(s, 200, doc)
        st = d.status()
        self.assertEqual((st["canary"]["selector"], st["canary_weight"]), ("name=nginx,version=v2", 0))
        self.assertEqual([e["address"] for e in st["canary"]["endpoints"]], ["127.0.0.1:%d" % self.v2[0]])
        s, doc = d.api("PUT", "/api/canary", {"selector": {"version": "v2"}, "canary_weight": 100})
        self.assertEqual(s, 200, doc)
        self.assertEqual(d.status()["canary_weight"], 100)
        self.assertEqual({r.header("X-Version") for r in keepalive_requests(d.listen, 20)}, {"v2"})
        s, doc = d.api("DELETE", "/api/canary")
        self.assertEqual(s, 200, doc)
        st = d.status()
        self.assertEqual((st["canary"], st["canary_weight"]), (None, 0))
        self.assertEqual({r.header("X-Version") for r in keepalive_requests(d.listen, 20)}, {"v1"})

    def test_undo_toggles_and_restores_a_revision(self):
        d = self.canaryd()
        first = d.status()["revision"]
        d.api("PUT", "/api/weight", {"canary_weight": 10})
        d.api("PUT", "/api/weight", {"canary_weight": 50})
        self.assertEqual(d.api("POST", "/api/undo")[0], 200)
        self.assertEqual((d.status()["canary_weight"], d.status()["revision"]), (10, first + 3))
        self.assertEqual(d.api("POST", "/api/undo", {})[0], 200)
        self.assertEqual((d.status()["canary_weight"], d.status()["revision"]), (50, first + 4))
        self.assertEqual(d.api("POST", "/api/undo")[0], 200)
        self.assertEqual(d.status()["canary_weight"], 10)
        s, doc = d.api("POST", "/api/undo", {"to_revision": first})
        self.assertEqual(s, 200, doc)
        self.assertEqual((d.status()["canary_weight"], d.status()["revision"]), (0, first + 6))

    def test_undo_restores_selectors(self):
        d = self.canaryd(canary_weight=20)
        self.assertEqual(d.api("POST", "/api/promote")[0], 200)
        self.assertEqual(d.api("POST", "/api/undo")[0], 200)
        st = d.status()
        self.assertEqual((st["stable"]["selector"], st["canary"]["selector"], st["canary_weight"]),
                         ("name=nginx,version=v1", "name=nginx,version=v2", 20))
        self.assertEqual(d.api("DELETE", "/api/canary")[0], 200)
        self.assertEqual(d.api("POST", "/api/undo")[0], 200)
        self.assertEqual(d.status()["canary"]["selector"], "name=nginx,version=v2")

    def test_undo_to_an_unknown_revision_is_404(self):
        d = self.canaryd(history_limit=3)
        first = d.status()["revision"]
        for w in (1, 2, 3, 4):
            d.api("PUT", "/api/weight", {"canary_weight": w})
        before = d.status()
        for n in (first, first + 1, 99999):  # the first two have left the history
            s, doc = d.api("POST", "/api/undo", {"to_revision": n})
            self.assert_error(s, doc, 404, "undo to revision %d" % n)
        for n in (0, -1):  # never a revision: bad input or not found
            s, doc = d.api("POST", "/api/undo", {"to_revision": n})
            self.assertIn(s, (400, 404), "undo to revision %d answered %d" % (n, s))
        self.assertEqual(d.status(), before)

    def test_undo_with_no_earlier_revision(self):
        d = self.canaryd()
        before = d.status()
        s, doc = d.api("POST", "/api/undo")
        self.assertIn(s, (404, 409), "undo on a fresh state answered %d %r" % (s, doc))
        self.assertIsInstance(doc.get("error"), str)
        self.assertEqual(d.status(), before)

    def test_history_is_bounded_and_numbered(self):
        d = self.canaryd(history_limit=4)
        first = d.status()["revision"]
        for w in range(1, 8):
            self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": w, "cause": "w%d" % w})[0], 200)
        revs = d.history()
        self.assertEqual([r["revision"] for r in revs], list(range(first + 4, first + 8)))
        self.assertEqual([r["canary_weight"] for r in revs], [4, 5, 6, 7])
        self.assertEqual([r["cause"] for r in revs], ["w4", "w5", "w6", "w7"])
        for r in revs:
            self.assertEqual(set(r), {"revision", "time", "canary_weight", "stable", "canary", "cause"}, r)
            self.assertRegex(r["time"], ISO_Z)
            self.assertEqual((r["stable"], r["canary"]), ("name=nginx,version=v1", "name=nginx,version=v2"))
        self.assertEqual(revs[-1]["revision"], d.status()["revision"])

    def test_rejected_calls_create_no_revision(self):
        d = self.canaryd(canary=None)
        rev = d.status()["revision"]
        d.api("PUT", "/api/weight", {"canary_weight": 5})       # 409
        d.api("POST", "/api/promote")                            # 409
        d.api("PUT", "/api/canary", {"selector": "version=v1"})  # 409
        d.api("PUT", "/api/weight", b"{")                        # 400
        self.assertEqual(d.status()["revision"], rev)
        self.assertEqual(len(d.history()), 1)

    def test_health_endpoints(self):
        d = self.canaryd()
        for path in ("/healthz", "/readyz"):
            r = http_request(d.control, "GET", path)
            self.assertEqual(r.status, 200, path)
        self.assertEqual(http_request(d.control, "GET", "/healthz").body.strip(), b"ok")

    def test_readyz_is_503_without_a_stable_endpoint(self):
        d = self.canaryd(stable={"version": "v8"})
        self.assertEqual(http_request(d.control, "GET", "/readyz").status, 503)
        self.assertEqual(http_request(d.control, "GET", "/healthz").status, 200)
        # promoting the canary gives the stable set endpoints
        self.assertEqual(d.api("POST", "/api/promote")[0], 200)
        self.assertEqual(http_request(d.control, "GET", "/readyz").status, 200)


class TokenTest(IntegrationTest):
    def test_token_guards_every_api_call(self):
        d = self.canaryd(endpoints=[(1, "v1"), (2, "v2")], token="s3cret-token")
        calls = [("GET", "/api/status", None), ("GET", "/api/history", None),
                 ("PUT", "/api/weight", {"canary_weight": 50}), ("POST", "/api/rollback", None),
                 ("POST", "/api/promote", None), ("POST", "/api/undo", None),
                 ("PUT", "/api/canary", {"selector": "version=v3"}), ("DELETE", "/api/canary", None),
                 ("GET", "/api/nope", None)]
        rev = d.status()["revision"]
        for method, path, body in calls:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer s3cret-tokenX"},
                            {"Authorization": "Bearer s3cret-toke"}, {"Authorization": "Basic s3cret-token"},
                            {"Authorization": "s3cret-token"}, {"Authorization": "Bearer "}):
                s, doc = api(d.control, method, path, body, headers=headers)
                self.assertEqual(s, 401, "%s %s with %r answered %d" % (method, path, headers, s))
                self.assertIsInstance(doc.get("error"), str)
        self.assertEqual(d.status()["revision"], rev)
        s, doc = api(d.control, "PUT", "/api/weight", {"canary_weight": 50}, token="s3cret-token")
        self.assertEqual(s, 200, doc)
        for path in ("/healthz", "/readyz", "/metrics"):
            self.assertEqual(http_request(d.control, "GET", path).status, 200, "%s needs no token" % path)


class ConcurrencyTest(IntegrationTest):
    def test_racing_clients_never_lose_a_revision(self):
        d = self.canaryd(endpoints=[(1, "v1"), (2, "v2")], history_limit=200)
        initial = d.status()["revision"]
        errors = []
        answered = []

        def client(k):
            for i in range(50):
                try:
                    s, doc = api(d.control, "PUT", "/api/weight", {"canary_weight": k * 10 + (i % 10) / 100.0,
                                                                   "cause": "client %d call %d" % (k, i)})
                    if s != 200:
                        errors.append((k, i, s, doc))
                    else:
                        answered.append(doc.get("revision") if isinstance(doc, dict) else None)
                except Exception as e:  # noqa: BLE001
                    errors.append((k, i, repr(e)))
        threads = [threading.Thread(target=client, args=(k,)) for k in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        st = d.status()
        self.assertEqual(st["revision"], initial + 100)
        revs = d.history()
        nums = [r["revision"] for r in revs]
        self.assertEqual(nums, list(range(initial, initial + 101)), "history is not contiguous")
        causes = sorted(r["cause"] for r in revs[1:])
        self.assertEqual(causes, sorted("client %d call %d" % (k, i) for k in (1, 2) for i in range(50)))
        if all(isinstance(a, int) for a in answered):
            self.assertEqual(sorted(answered), list(range(initial + 1, initial + 101)),
                             "two answers named the same revision")
        # the last revision's weight is the one in force
        self.assertEqual(revs[-1]["canary_weight"], st["canary_weight"])


class DurabilityTest(IntegrationTest):
    def test_acknowledged_change_survives_kill_9(self):
        d = self.canaryd(endpoints=[(1, "v1"), (2, "v2")], history_limit=50)
        weights = [1, 2.5, 33.33, 50, 0.01, 99.99, 12, 0, 77.7, 100]
        for i, w in enumerate(weights):
            s, doc = d.api("PUT", "/api/weight", {"canary_weight": w, "cause": "crash %d" % i})
            self.assertEqual(s, 200, doc)
            d.kill9()  # immediately after the acknowledgement
            d.start()
            st = d.status()
            self.assertEqual(st["canary_weight"], w, "round %d: after kill -9 the weight is %r, not %r"
                             % (i, st["canary_weight"], w))
            self.assertEqual(d.history()[-1]["cause"], "crash %d" % i)
            self.assertEqual(st["revision"], d.history()[-1]["revision"])
        self.assertEqual(len(d.history()), len(weights) + 1)

    def test_changes_racing_a_sigterm_are_all_on_disk(self):
        # Changes that arrive while a write is under way share the next one; SIGTERM waits for it, so
        # every acknowledged change is in the state file the next start reads.
        d = self.canaryd(endpoints=[(1, "v1"), (2, "v2")], history_limit=500)
        initial = d.status()["revision"]
        acked, lock, enough = [], threading.Lock(), threading.Event()

        def client(k):
            for i in range(25):
                cause = "client %d call %d" % (k, i)
                try:
                    s, _ = api(d.control, "PUT", "/api/weight", {"canary_weight": k + i / 100.0, "cause": cause})
                except Exception:  # noqa: BLE001 - the port closes under the clients: not acknowledged
                    return
                if s == 200:
                    with lock:
                        acked.append(cause)
                        if len(acked) >= 20:
                            enough.set()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(1, 9)]
        for t in threads:
            t.start()
        self.assertTrue(enough.wait(60), "20 changes were not acknowledged")
        d.send_signal(support.signal.SIGTERM)
        self.assertEqual(d.wait_exit(), 0, d.log())
        for t in threads:
            t.join(60)
        d.start()
        revs = d.history()
        self.assertEqual([r["revision"] for r in revs], list(range(initial, initial + len(revs))),
                         "history is not contiguous")
        missing = set(acked) - set(r["cause"] for r in revs)
        self.assertEqual(missing, set(), "acknowledged before SIGTERM, missing after the restart")

    def test_selectors_survive_restart_and_config_weight_is_ignored(self):
        d = self.canaryd(endpoints=[(1, "v1"), (2, "v2"), (3, "v3")], canary_weight=5)
        self.assertEqual(d.api("PUT", "/api/canary", {"selector": "version=v3", "canary_weight": 40})[0], 200)
        before = d.status()
        self.assertEqual(d.stop(), 0)
        d.write_config(canary_weight=70)  # ignored once a state file exists
        d.start()
        after = d.status()
        self.assertEqual((after["revision"], after["canary_weight"], after["canary"]["selector"]),
                         (before["revision"], 40, "name=nginx,version=v3"))

    def test_failed_durable_write_is_500_and_changes_nothing(self):
        state_dir = os.path.join(self.work.path, "statedir")
        os.mkdir(state_dir)
        d = self.canaryd(endpoints=[(1, "v1"), (2, "v2")], canary_weight=10,
                         state_file=os.path.join(state_dir, "state.json"))
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 20})[0], 200)
        before = d.status()
        hist = d.history()
        moved = state_dir + ".moved"
        os.rename(state_dir, moved)
        with open(state_dir, "w") as f:  # a regular file where the directory was: no temp file possible
            f.write("not a directory\n")
        try:
            for method, path, body in (("PUT", "/api/weight", {"canary_weight": 30}), ("POST", "/api/rollback", None),
                                       ("POST", "/api/promote", None), ("POST", "/api/undo", None),
                                       ("DELETE", "/api/canary", None)):
                s, doc = d.api(method, path, body)
                self.assertEqual(s, 500, "%s %s with an unwritable state file answered %d %r" % (method, path, s, doc))
                self.assertIsInstance(doc.get("error"), str)
                self.assertEqual(d.status(), before, "a failed write changed the state")
            self.assertEqual(d.history(), hist)
            wait_until(lambda: d.metrics().value("canaryd_canary_weight_percent") == 20,
                       message="the weight gauge to stay at 20")
        finally:
            os.remove(state_dir)
            os.rename(moved, state_dir)
        # writable again: changes work and persist
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 30})[0], 200)
        self.assertEqual(d.status()["revision"], before["revision"] + 1)
        d.kill9()
        d.start()
        self.assertEqual(d.status()["canary_weight"], 30)

    def test_state_file_is_valid_json_after_changes(self):
        d = self.canaryd(endpoints=[(1, "v1"), (2, "v2")])
        d.api("PUT", "/api/weight", {"canary_weight": 42})
        with open(d.state_file) as f:
            json.load(f)
        leftovers = [n for n in os.listdir(os.path.dirname(d.state_file))
                     if re.search(r"tmp|\.new|~$", n) and n.startswith(os.path.basename(d.state_file))]
        self.assertEqual(leftovers, [], "temporary files left next to the state file")


if __name__ == "__main__":
    support.main()
