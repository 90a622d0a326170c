#!/usr/bin/env python3
"""State that is written always loads, and the API's rules for scripts (issue 9; contract section 7,
"Scripts"), against the real canaryd and canaryctl: weights judged by their text, duplicate keys,
bounded causes, if_revision, unchanged changes that write nothing, error kinds, a state bounded when
written that loads after a restart, a planted symlink at the temporary file's name, and canaryctl
output that server text cannot forge or drive."""

import json
import os
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, http_request  # noqa: E402

KINDS = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
         413: "too_large"}


class StateRobustnessTest(IntegrationTest):
    NGINX = True

    def assert_refused(self, reply, status, what):
        s, doc = reply
        self.assertEqual(s, status, "%s answered %d %r" % (what, s, doc))
        self.assertIsInstance(doc.get("error"), str, what)
        self.assertEqual(doc.get("kind"), KINDS[status], "%s: %r" % (what, doc))

    def test_weights_are_never_rounded_and_duplicate_keys_are_refused(self):
        d = self.canaryd(canary_weight=10)
        before = d.status()
        for body in (b'{"canary_weight": 0.000000001}', b'{"canary_weight": 33.3300000001}',
                     b'{"canary_weight": 33.3300000000000001}', b'{"canary_weight": 1e1}',
                     b'{"canary_weight": 20, "canary_weight": 30}',
                     b'{"selector": {"version": "v2", "version": "v3"}}'):
            path = "/api/canary" if b"selector" in body else "/api/weight"
            self.assert_refused(d.api("PUT", path, body), 400, body)
        self.assertEqual(d.status(), before)
        # What the server prints reads back: 33.33 stays 33.33.
        self.assertEqual(d.api("PUT", "/api/weight", b'{"canary_weight": 33.33}')[0], 200)
        self.assertEqual(d.status()["canary_weight"], 33.33)

    def test_errors_carry_a_kind(self):
        d = self.canaryd(canary=None, token="s3cret")
        self.assert_refused(d.api("GET", "/api/status", token="wrong"), 401, "a wrong token")
        self.assert_refused(d.api("GET", "/api/nope"), 404, "an unknown path")
        self.assert_refused(d.api("POST", "/api/status"), 405, "a wrong method")
        self.assert_refused(d.api("PUT", "/api/weight", {"canary_weight": 10}), 409, "a weight without canary")
        self.assert_refused(d.api("PUT", "/api/weight", b"{"), 400, "torn JSON")

    def test_if_revision_and_unchanged(self):
        d = self.canaryd(canary_weight=10)
        rev = d.status()["revision"]
        s, doc = d.api("PUT", "/api/weight", {"canary_weight": 20, "if_revision": rev})
        self.assertEqual((s, doc["revision"]), (200, rev + 1), doc)
        self.assertNotIn("unchanged", doc)
        self.assert_refused(d.api("PUT", "/api/weight", {"canary_weight": 30, "if_revision": rev}), 409,
                            "a stale if_revision")
        self.assertEqual(d.status()["canary_weight"], 20)

        # The same weight again, a second rollback, a second canary removal: 200, unchanged, nothing written.
        for method, path, body in (("PUT", "/api/weight", {"canary_weight": 20, "cause": "again"}),
                                   ("PUT", "/api/canary", {"selector": "version=v2", "canary_weight": 20})):
            s, doc = d.api(method, path, body)
            self.assertEqual(s, 200, doc)
            self.assertIs(doc.get("unchanged"), True, doc)
            self.assertEqual(doc["revision"], rev + 1)
        self.assertEqual(d.api("POST", "/api/rollback")[0], 200)
        s, doc = d.api("POST", "/api/rollback", {"if_revision": rev + 2})
        self.assertEqual((s, doc.get("unchanged"), doc["revision"]), (200, True, rev + 2), doc)
        self.assertEqual(d.api("DELETE", "/api/canary")[0], 200)
        s, doc = d.api("DELETE", "/api/canary")
        self.assertEqual((s, doc.get("unchanged")), (200, True), doc)
        self.assertEqual([r["revision"] for r in d.history()][-3:], [rev + 1, rev + 2, rev + 3])
        self.assertNotIn("again", [r["cause"] for r in d.history()])
        written = os.stat(d.state_file)
        self.assertEqual(d.api("DELETE", "/api/canary")[1].get("unchanged"), True)
        self.assertEqual((os.stat(d.state_file).st_ino, os.stat(d.state_file).st_mtime_ns),
                         (written.st_ino, written.st_mtime_ns), "an unchanged call wrote the state file")

    def test_causes_are_bounded_utf8_without_control_characters(self):
        d = self.canaryd(canary_weight=10)
        before = d.status()
        for cause in ("x" * 1025, "two\nlines", "\x1b[2J", "tab\there", "c1\u009b"):
            self.assert_refused(d.api("PUT", "/api/weight", {"canary_weight": 20, "cause": cause}), 400,
                                "cause %r" % cause[:20])
        self.assertEqual(d.status(), before)
        s, doc = d.api("PUT", "/api/weight", {"canary_weight": 20, "cause": "\u00e9" * 512})
        self.assertEqual(s, 200, doc)
        self.assertEqual(d.history()[-1]["cause"], "\u00e9" * 512)

    def test_a_state_written_with_many_long_causes_loads_after_a_restart(self):
        # On tmpfs: every change fsyncs, and only the size matters here.
        shm = tempfile.mkdtemp(prefix="canaryd-state-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.addCleanup(support.shutil.rmtree, shm, True)
        cause = "c" * 1024
        # The history starts just under its bound (written here: 450 changes through the API cost a minute
        # under ASan, each writing the whole state), and canaryd's own changes carry it over.
        state = os.path.join(shm, "state.json")
        preloaded = 380
        with open(state, "w") as f:
            json.dump({"format": 1, "history_limit": 1000, "revisions": [{
                "revision": r, "time": "2024-01-02T03:%02d:%02dZ" % (r // 60 % 60, r % 60),
                "stable": "version=v1", "canary": "version=v2", "canary_weight_bp": 100 * (1 + r % 2),
                "cause": cause, "affinity_salt": "a53ae7a3e65de4e8"} for r in range(1, preloaded + 1)]}, f)
        d = self.canaryd(canary_weight=10, history_limit=1000, state_file=state)
        first = d.status()["revision"]
        self.assertEqual(first, preloaded)
        self.assertEqual(len(d.history()), preloaded, "the preloaded history is under the bound")
        changes = 70
        for i in range(changes):  # the preloaded history ends at 1 %: every change is one
            s, doc = d.api("PUT", "/api/weight", {"canary_weight": 2 - i % 2, "cause": cause})
            self.assertEqual(s, 200, doc)
        before = d.status()
        self.assertEqual(before["revision"], first + changes, "a change is never refused for the history's size")
        kept = d.history()
        self.assertLess(len(kept), preloaded + changes, "the oldest revisions gave way")
        self.assertEqual(kept[-1]["revision"], before["revision"])
        self.assertLessEqual(os.path.getsize(d.state_file), 480 * 1024 + 100)
        d.stop(support.signal.SIGKILL)
        d.start()
        self.assertEqual(d.status()["revision"], before["revision"])
        self.assertEqual(d.history(), kept)

    def test_a_symlink_planted_at_the_temporary_name_is_never_written_through(self):
        d = self.canaryd(canary_weight=10, start=False)
        victim = os.path.join(self.work.path, "victim")
        with open(victim, "w") as f:
            f.write("untouched\n")
        d.start()
        # The name earlier versions wrote through: <state>.tmp.<pid>.
        planted = "%s.tmp.%d" % (d.state_file, d.pid)
        os.symlink(victim, planted)
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 20})[0], 200)
        with open(victim) as f:
            self.assertEqual(f.read(), "untouched\n")
        self.assertTrue(os.path.islink(planted))
        self.assertEqual(stat.S_IMODE(os.stat(d.state_file).st_mode), 0o600)
        with open(d.state_file) as f:
            self.assertEqual(json.load(f)["revisions"][-1]["canary_weight_bp"], 2000)


class CtlScriptsTest(IntegrationTest):
    NGINX = True

    def test_if_revision_unchanged_and_exit_codes(self):
        d = self.canaryd(canary_weight=10)
        rev = d.status()["revision"]
        p = d.ctl("weight", "20", "--if-revision", str(rev))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = d.ctl("weight", "30", "--if-revision", str(rev))
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("if_revision", p.stderr)
        p = d.ctl("weight", "20")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("unchanged: "), p.stdout)
        p = d.ctl("-o", "json", "rollback", "--if-revision", str(rev))
        self.assertEqual(p.returncode, 1)
        self.assertEqual(json.loads(p.stdout)["kind"], "conflict")
        self.assertEqual(d.status()["revision"], rev + 1)

    def test_history_cannot_be_forged_by_a_cause(self):
        d = self.canaryd(canary_weight=10)
        # Older versions recorded any cause; the state file may still hold one like this.
        d.stop()
        with open(d.state_file) as f:
            state = json.load(f)
        state["revisions"][-1]["cause"] = "x\n99        100%    forged\x1b[2J\x1b]0;title\x07\r\u009b"
        with open(d.state_file, "w") as f:
            json.dump(state, f)
        d.start()
        p = d.ctl("history")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), 1 + len(d.history()), p.stdout)
        for ch in ("\x1b", "\r", "\x07", "\u009b"):
            self.assertNotIn(ch, p.stdout)
        self.assertIn("x\\n99", p.stdout)
        p = d.ctl("-o", "json", "history")
        self.assertNotIn("\x1b", p.stdout)
        self.assertEqual(json.loads(p.stdout)["revisions"][-1]["cause"], state["revisions"][-1]["cause"])

    def test_default_cause_is_always_accepted(self):
        d = self.canaryd(canary_weight=10)
        p = d.ctl("canary", "version=v3", "--weight", "5", "--cause", "ok")
        self.assertEqual(p.returncode, 0, p.stderr)
        # A selector with a newline: the server refuses the selector, not the recorded command line.
        p = d.ctl("canary", "version=v4\nx")
        self.assertEqual(p.returncode, 1)
        self.assertIn("selector", p.stderr)
        self.assertNotIn("cause", p.stderr)
        p = d.ctl("rollback", "--cause", "y" * 2000)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cause", p.stderr)
        # A command line over 1,024 bytes: the recorded cause is cut to fit, the change applies.
        selector = "version in (%s)" % ",".join("w%d" % i for i in range(300))
        p = d.ctl("canary", selector)
        self.assertEqual(p.returncode, 0, p.stderr)
        cause = d.history()[-1]["cause"]
        self.assertEqual(len(cause.encode()), 1024)
        self.assertTrue(cause.startswith("canaryctl canary 'version in (w0,w1,"), cause[:60])


if __name__ == "__main__":
    support.main()
