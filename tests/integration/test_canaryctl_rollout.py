#!/usr/bin/env python3
"""canaryctl's rollout commands against real nginx and a real canaryd (contract section 7):
`rollout start` (the config's plan) and `rollout start -f plan.yaml` (the YAML plan sent as JSON,
numbers as written), `rollout status`
(table and -o json), pause, resume, abort; `wait` exiting 0 on a completed rollout, 1 on an abort, a
timeout or nothing to wait for, 3 against a dead port; `wait --for healthy`; `status --watch` and
`rollout status --watch` printing frames."""

import json
import os
import subprocess
import sys
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, LOOPBACK, free_port, run_ctl, wait_until  # noqa: E402

FAST_PROBES = "health: {path: /, interval: 100ms, timeout: 100ms, healthy_threshold: 1, unhealthy_threshold: 2}\n"

MANUAL_PLAN = """# the plan of a manual release: hold at 10 %, then 50 % for an hour, then promote
rollout:
  steps:
    - {weight: 10, pause: manual}
    - {weight: 33.33, pause: 1h}
    - {promote: true}
"""

SHORT_PLAN = """steps:
  - {weight: 20, pause: 1s}
  - {weight: 50, pause: 1s}
  - {promote: true}
"""


class RolloutCtlTest(IntegrationTest):
    NGINX = True

    def daemon(self, **kw):
        kw.setdefault("extra", FAST_PROBES)
        return self.canaryd(**kw)

    def start_configured(self, d):
        return self.ctl_ok(d, "rollout", "start")

    def plan(self, name, text):
        return self.work.file(name, text)

    def ctl_ok(self, d, *args):
        p = d.ctl(*args)
        self.assertEqual(p.returncode, 0, "canaryctl %s exited %d: %s%s" % (" ".join(args), p.returncode, p.stdout,
                                                                          p.stderr))
        return p.stdout

    def rollout(self, d):
        s, doc = d.api("GET", "/api/rollout")
        self.assertEqual(s, 200, doc)
        return doc

    def test_start_manual_pause_resume_pause_abort_and_wait(self):
        # without -f: the plan of canaryd's own config
        d = self.daemon(extra=FAST_PROBES + MANUAL_PLAN)
        out = self.start_configured(d)
        self.assertRegex(out, r"^rollout started: paused at step 1/3, weight 10%")
        out = self.ctl_ok(d, "rollout", "status")
        self.assertRegex(out, r"PHASE\s+paused")
        self.assertRegex(out, r"STEP\s+1/3\s+weight 10%")
        self.assertIn("canaryctl rollout resume", out)
        doc = json.loads(self.ctl_ok(d, "-o", "json", "rollout", "status"))
        self.assertEqual((doc["phase"], doc["step"], doc["steps"]), ("paused", 1, 3))
        self.assertEqual(doc["canary_weight"], 10)
        self.assertIsNone(doc["pause_until"])
        self.assertEqual(d.status()["canary_weight"], 10)

        # resume: step 2 at 33.33 % (the weight as written in the YAML), a timed pause of an hour
        # resume ends the manual pause; the driver then moves to step 2
        out = self.ctl_ok(d, "rollout", "resume")
        self.assertRegex(out, r"^rollout resumed: progressing at step [12]/3")
        wait_until(lambda: self.rollout(d)["step"] == 2, message="the rollout at step 2")
        doc = self.rollout(d)
        self.assertEqual((doc["phase"], doc["step"]), ("progressing", 2))
        self.assertIsNotNone(doc["pause_until"])
        self.assertEqual(d.status()["canary_weight"], 33.33)
        out = self.ctl_ok(d, "rollout", "status")
        self.assertRegex(out, r"PAUSE\s+until \S+Z \((59m\d+s|1h0m) left\)")

        out = self.ctl_ok(d, "rollout", "pause")
        self.assertIn("rollout paused: paused at step 2/3", out)
        self.assertEqual(self.rollout(d)["phase"], "paused")

        # a paused rollout is not completed: wait gives up at its timeout with exit 1
        started = time.monotonic()
        p = d.ctl("wait", "--timeout", "2s")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertGreaterEqual(time.monotonic() - started, 1.5)
        self.assertIn("timed out after 2s waiting for completed: rollout paused at step 2/3", p.stderr)

        out = self.ctl_ok(d, "rollout", "abort", "--cause", "bad canary")
        self.assertRegex(out, r"^rollout aborted: aborted at step 2/3")
        doc = self.rollout(d)
        self.assertEqual(doc["phase"], "aborted")
        self.assertIn("bad canary", doc["reason"])
        st = d.status()
        self.assertEqual(st["canary_weight"], 0)
        self.assertTrue(st["aborted"])

        p = d.ctl("wait")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r"^error: rollout aborted at step 2/3: .*bad canary")
        p = d.ctl("wait", "--for", "healthy", "--timeout", "5s")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("the canary is aborted", p.stderr)

    def test_a_plan_with_short_pauses_completes_and_wait_exits_0(self):
        d = self.daemon(extra=FAST_PROBES + "rollout:\n" + textwrap.indent(SHORT_PLAN, "  "))
        self.start_configured(d)
        started = time.monotonic()
        p = d.ctl("wait", "--timeout", "30s")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"^rollout completed")
        self.assertLess(time.monotonic() - started, 30)
        st = d.status()
        self.assertIsNone(st["canary"], st)
        self.assertIn("version=v2", st["stable"]["selector"])
        causes = [r["cause"] for r in d.history()]
        self.assertTrue(any("rollout step 1/3" in c for c in causes), causes)
        # the finished rollout: status says so, and watching it ends at once
        out = self.ctl_ok(d, "rollout", "status")
        self.assertRegex(out, r"PHASE\s+completed")
        p = subprocess.run([os.path.join(support.BIN_DIR, "canaryctl"), "-s", "%s:%d" % (LOOPBACK, d.control),
                            "rollout", "status", "--watch"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"PHASE\s+completed")
        # the last rollout stays completed: a later wait passes at once
        self.assertEqual(d.ctl("wait").returncode, 0)

    def test_a_plan_file_is_sent_as_json(self):
        d = self.daemon()
        out = self.ctl_ok(d, "rollout", "start", "-f", self.plan("file.yaml", MANUAL_PLAN), "--cause", "release 1.2")
        self.assertRegex(out, r"^rollout started: paused at step 1/3, weight 10%")
        self.ctl_ok(d, "rollout", "resume")
        wait_until(lambda: self.rollout(d)["step"] == 2, message="the rollout at step 2")
        # 33.33 reached the server as written (canaryd refuses a weight it would have to round)
        self.assertEqual(d.status()["canary_weight"], 33.33)
        self.ctl_ok(d, "rollout", "abort")
        # a plan from standard input (-f -), the map alone
        p = subprocess.run([os.path.join(support.BIN_DIR, "canaryctl"), "-s", "%s:%d" % (LOOPBACK, d.control),
                            "rollout", "start", "-f", "-"], input=SHORT_PLAN, capture_output=True, text=True,
                           timeout=10)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"^rollout started: progressing at step 1/3, weight 20%")
        self.assertEqual(d.ctl("wait", "--timeout", "30s").returncode, 0)

    def test_a_plan_the_server_refuses_shows_its_message(self):
        d = self.daemon()
        p = d.ctl("rollout", "start", "-f", self.plan("bad.yaml", "steps:\n  - {weight: 10, pause: soon}\n"))
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r"^error: .*steps\[0\]\.pause")
        # the same plan from standard input (-f -)
        p = subprocess.run([os.path.join(support.BIN_DIR, "canaryctl"), "-s", "%s:%d" % (LOOPBACK, d.control),
                            "rollout", "start", "-f", "-"], input="steps:\n  - {weight: 10, pause: soon}\n",
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r"^error: .*steps\[0\]\.pause")
        self.assertEqual(self.rollout(d)["phase"], "none")
        # a file that is not YAML never reaches the server
        p = d.ctl("rollout", "start", "-f", self.plan("broken.yaml", "steps: [{weight: 10\n"))
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("broken.yaml: not YAML", p.stderr)
        p = d.ctl("wait")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("no rollout to wait for", p.stderr)

class WaitAndWatchCtlTest(IntegrationTest):
    """What needs no rollout: wait --for healthy, a dead port, status --watch."""
    NGINX = True

    def test_status_watch_prints_frames_until_killed(self):
        d = self.canaryd(canary_weight=10, extra=FAST_PROBES)
        for _ in range(20):
            d.get("/")
        proc = subprocess.Popen([os.path.join(support.BIN_DIR, "canaryctl"), "-s", "%s:%d" % (LOOPBACK, d.control),
                                 "status", "--watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        headers = []
        deadline = time.monotonic() + 10
        while len(headers) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("canaryd %s:%d  revision " % (LOOPBACK, d.control)):
                headers.append(line)
            if line.startswith("stable "):
                self.assertRegex(line, r"\[#+\.*\] 90%")
                self.assertRegex(line, r"3/3$")
        proc.kill()
        proc.wait(5)
        self.assertEqual(len(headers), 2, "status --watch printed %d frames" % len(headers))
        self.assertNotIn("\x1b[", "".join(headers), "escape sequences although stdout is not a terminal")

    def test_wait_for_healthy(self):
        d = self.canaryd(extra=FAST_PROBES)
        p = d.ctl("wait", "--for", "healthy", "--timeout", "10s")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"^healthy: stable 3/3 endpoints healthy, canary 1/1 endpoints healthy")

    def test_wait_for_healthy_times_out_while_the_canary_is_down(self):
        closed = free_port()
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (closed, "v2")], extra=FAST_PROBES)
        wait_until(lambda: support.endpoint_health(d, closed) is False, message="the canary endpoint marked down")
        p = d.ctl("wait", "--for", "healthy", "--timeout", "1s")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("timed out after 1s waiting for healthy: canary has no healthy endpoint", p.stderr)

    def test_wait_against_a_dead_port_exits_3(self):
        p = run_ctl(["-s", "%s:%d" % (LOOPBACK, free_port()), "wait", "--timeout", "5s"])
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        self.assertIn("cannot reach canaryd", p.stderr)
        p = run_ctl(["-s", "%s:%d" % (LOOPBACK, free_port()), "status", "--watch"])
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)


if __name__ == "__main__":
    support.main()
