#!/usr/bin/env python3
"""Rollouts that canaryd drives by itself (contract section 7), against real nginx and the real canaryd
under steady load: a v2 that answers 500 to 20 % of requests is aborted by the analysis (weight 0, phase
aborted, the reason in GET /api/rollout, the history and the log; X-Canary: always then reaches stable);
a healthy v2 goes through every step to completed and is promoted; a restart continues at the same step
with the same pause deadline; pause, resume, promote early and abort; what POST /api/rollout refuses;
low traffic never passes a step; steps never move while the canary has no healthy endpoint; manual
changes are refused while a rollout runs; the rollout metrics; `canaryctl wait`.

Each test starts its own canaryd with a fast analysis (interval 1s, window 10s, min_requests 20) and
waits on events (GET /api/rollout polled with a deadline)."""

import calendar
import os
import subprocess
import sys
import threading
import time
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, free_port, wait_until  # noqa: E402

FAST_PROBES = "health: {path: /, interval: 100ms, timeout: 100ms, healthy_threshold: 1, unhealthy_threshold: 2}\n"
ANALYSIS = {"interval": "1s", "window": "10s", "min_requests": 20}
RATE = 80  # requests per second of the steady load


# ---------------------------------------------------------------- helpers


class Load:
    """A steady load of keep-alive GETs through canaryd from a few threads, paced to `rate` requests per
    second in all; counts the answers per (status, X-Version)."""

    def __init__(self, port, rate=RATE, threads=4):
        self.port = port
        self.period = threads / float(rate)
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.counts = {}
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self, i):
        conn = None
        next_at = time.monotonic() + i * self.period / len(self.threads)
        while not self.done.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                self.done.wait(delay)  # pacing the load, not synchronisation
            next_at = max(next_at + self.period, time.monotonic() - self.period)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(support.LOOPBACK, self.port, timeout=10)
                conn.request("GET", "/")
                r = conn.getresponse()
                r.read()
                key = (r.status, r.getheader("X-Version"))
            except (OSError, http.client.HTTPException) as e:
                key = ("error", type(e).__name__)
                if conn is not None:
                    conn.close()
                conn = None
            with self.lock:
                self.counts[key] = self.counts.get(key, 0) + 1

    def total(self):
        with self.lock:
            return sum(self.counts.values())

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(15)
        return dict(self.counts)


def rfc3339_seconds(text):
    """Seconds since the epoch of an RFC 3339 UTC time ("2026-12-05T10:00:00Z", fraction optional)."""
    base, _, rest = text.rstrip("Z").partition(".")
    whole = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return whole + (float("0." + rest) if rest else 0.0)


def plan(*steps, analysis=None):
    doc = {"steps": list(steps)}
    if analysis is not None:
        doc["analysis"] = analysis
    return doc


def bad_canary_servers(stable_ports, canary_port, bad_percent=20):
    """nginx server blocks: a healthy v1 on each stable port, and a v2 on canary_port that answers 500
    to bad_percent % of requests (split_clients on the request id: a fresh draw per request)."""
    servers = ['\n    split_clients "${request_id}" $bad { %d%% 1; * 0; }' % bad_percent]
    for port in stable_ports:
        servers.append(f"""
    server {{
        listen {support.LOOPBACK}:{port} reuseport;
        add_header X-Version v1 always;
        location / {{ return 200 "v1 {port}\\n"; }}
    }}""")
    servers.append(f"""
    server {{
        listen {support.LOOPBACK}:{canary_port} reuseport;
        add_header X-Version v2 always;
        location / {{
            if ($bad) {{ return 500 "v2 failed\\n"; }}
            return 200 "v2 {canary_port}\\n";
        }}
    }}""")
    return servers


class RolloutTestBase(IntegrationTest):
    """Helpers over GET/POST /api/rollout."""

    def rollout(self, d):
        s, doc = d.api("GET", "/api/rollout")
        self.assertEqual(s, 200, doc)
        return doc

    def start_rollout(self, d, body, expect=200):
        s, doc = d.api("POST", "/api/rollout", body)
        self.assertEqual(s, expect, doc)
        return doc

    def call(self, d, path, body=None, expect=200):
        s, doc = d.api("POST", path, body if body is not None else {})
        self.assertEqual(s, expect, "%s answered %d %r" % (path, s, doc))
        return doc

    def wait_rollout(self, d, predicate, timeout=30.0, message="the rollout"):
        """Polls GET /api/rollout until predicate(doc); a timeout names the last document seen."""
        seen = [None]

        def check():
            seen[0] = self.rollout(d)
            return seen[0] if predicate(seen[0]) else None
        try:
            return wait_until(check, timeout=timeout, interval=0.05, message=message)
        except AssertionError as e:
            raise AssertionError("%s; GET /api/rollout: %r" % (e, seen[0])) from None

    def wait_phase(self, d, phase, timeout=30.0):
        return self.wait_rollout(d, lambda r: r["phase"] == phase, timeout, "phase %s" % phase)

    def wait_step(self, d, step, timeout=30.0):
        return self.wait_rollout(d, lambda r: r["step"] >= step, timeout, "step %d" % step)

    def load(self, d, rate=RATE):
        load = Load(d.listen, rate)
        self.addCleanup(load.stop)
        return load

    def rollout_causes(self, d):
        return [h["cause"] for h in d.history() if h.get("cause", "").startswith("rollout")]

    def served_by(self, d, n=20, headers=None):
        sets = set()
        for _ in range(n):
            r = d.get("/", headers=headers)
            sets.add((r.status, r.header("X-Canary-Set"), r.header("X-Version")))
        return sets

    def ctl_wait(self, d, *args):
        """`canaryctl wait ARGS` in the background (a Popen), or None when this canaryctl has no wait
        command yet (canaryctl's rollout commands are built in parallel: said on stderr, not failed)."""
        probe = d.ctl("--help")
        if "wait" not in probe.stdout + probe.stderr:
            print("canaryctl has no wait command in this build: not checked", file=sys.stderr)
            return None
        env = dict(os.environ, CANARYD_URL="http://%s:%d" % (support.LOOPBACK, d.control))
        env.pop("CANARYD_TOKEN", None)
        p = subprocess.Popen([os.path.join(support.BIN_DIR, "canaryctl"), "wait"] + list(args), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        return p

    def ctl_exit(self, p, timeout=60):
        out, err = p.communicate(timeout=timeout)
        support.checked_for_sanitizer_report(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        return p.returncode, out + err


# ---------------------------------------------------------------- a bad canary


class BadCanaryTest(RolloutTestBase):
    """Stable v1 answers 200; canary v2 answers 500 to 20 % of requests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.v1 = [free_port() for _ in range(2)]
        cls.v2 = [free_port()]
        cls.bad_nginx = support.start_nginx(os.path.join(cls.work.path, "nginx-bad"),
                                            bad_canary_servers(cls.v1, cls.v2[0]),
                                            [(support.LOOPBACK, p) for p in cls.v1 + cls.v2])

    @classmethod
    def tearDownClass(cls):
        support.stop_nginx(cls.bad_nginx)
        super().tearDownClass()

    def test_the_analysis_aborts_a_canary_failing_20_percent(self):
        d = self.canaryd()
        load = self.load(d)
        wait_until(lambda: load.total() >= 20, message="the load running")
        doc = self.start_rollout(d, plan({"weight": 50, "pause": "5m"}, {"promote": True}, analysis=ANALYSIS))
        self.assertEqual((doc["phase"], doc["step"], doc["steps"], doc["canary_weight"]),
                         ("progressing", 1, 2, 50.0), doc)
        wait_ctl = self.ctl_wait(d, "--for", "completed", "--timeout", "2m")
        started = time.monotonic()
        r = self.wait_phase(d, "aborted", timeout=60)
        print("bad canary aborted %.1f s after the start" % (time.monotonic() - started), file=sys.stderr)
        load.stop()

        # GET /api/rollout: phase aborted, weight 0, the analysis's reason, its verdict.
        self.assertEqual(r["canary_weight"], 0.0, r)
        self.assertTrue(r["reason"], r)
        self.assertRegex(r["reason"], r"error", r)
        self.assertIsNone(r["pause_until"], r)
        self.assertEqual(r["analysis"]["verdict"], "fail", r)
        self.assertGreater(r["analysis"]["canary"]["requests"], 0, r)
        self.assertGreater(r["analysis"]["canary"]["error_rate"], 1.0, r)
        # Status: abort means zero.
        st = d.status()
        self.assertEqual(st["canary_weight"], 0.0)
        self.assertTrue(st["aborted"], st)
        # History: the abort is a revision whose cause carries the reason.
        last = d.history()[-1]
        self.assertTrue(last["cause"].startswith("rollout aborted:"), last)
        self.assertIn(r["reason"], last["cause"])
        # The log: the abort's audit/log line.
        d.wait_log(r"rollout aborted")
        # Not even an override reaches the aborted canary.
        self.assertEqual(self.served_by(d, headers={"X-Canary": "always"}), {(200, "stable", "v1")})
        # Metrics.
        m = d.metrics()
        self.assertEqual(m.value("canaryd_rollout_aborts_total"), 1)
        self.assertEqual(m.value("canaryd_rollout_phase", phase="aborted"), 1)
        self.assertEqual(m.value("canaryd_rollout_phase", phase="progressing"), 0)
        # canaryctl wait --for completed: 1 on the abort.
        if wait_ctl is not None:
            code, out = self.ctl_exit(wait_ctl)
            self.assertEqual(code, 1, out)


# ---------------------------------------------------------------- a healthy canary


class HealthyRolloutTest(RolloutTestBase):
    NGINX = True

    def test_a_healthy_canary_goes_through_every_step_and_is_promoted(self):
        d = self.canaryd(extra=FAST_PROBES)
        load = self.load(d)
        wait_until(lambda: load.total() >= 20, message="the load running")
        before = d.status()["revision"]
        doc = self.start_rollout(d, plan({"weight": 20, "pause": "2s"}, {"weight": 50, "pause": "2s"},
                                         {"promote": True}, analysis=ANALYSIS))
        self.assertEqual((doc["phase"], doc["step"], doc["steps"]), ("progressing", 1, 3), doc)
        self.assertIsNotNone(doc["pause_until"], doc)
        wait_ctl = self.ctl_wait(d, "--for", "completed", "--timeout", "2m")

        m = d.metrics()
        self.assertEqual(m.value("canaryd_rollout_phase", phase="progressing"), 1)
        self.assertEqual(m.value("canaryd_rollout_phase", phase="paused"), 0)
        self.assertEqual(m.value("canaryd_rollout_step"), 1)
        self.assertTrue(m.has("canaryd_build_info"))

        r = self.wait_step(d, 2, timeout=60)
        self.assertEqual(r["canary_weight"], 50.0, r)
        self.assertIn(r["analysis"]["verdict"], ("pass", "inconclusive"), r)
        r = self.wait_phase(d, "completed", timeout=60)
        counts = load.stop()
        self.assertEqual(r["step"], 3, r)

        st = d.status()
        self.assertIn("version=v2", st["stable"]["selector"])
        self.assertIsNone(st["canary"])
        self.assertFalse(st["aborted"])
        causes = self.rollout_causes(d)
        self.assertEqual(len(causes), 3, causes)
        self.assertRegex(causes[0], r"^rollout step 1/3: weight 20\b")
        self.assertRegex(causes[1], r"^rollout step 2/3: weight 50\b")
        self.assertRegex(causes[2], r"^rollout step 3/3: promote\b")
        self.assertEqual(d.status()["revision"], before + 3)
        self.assertEqual({k for k in counts if k[0] != 200}, set(), counts)
        self.assertEqual(d.metrics().value("canaryd_rollout_phase", phase="completed"), 1)
        self.assertEqual(d.metrics().value("canaryd_rollout_aborts_total"), 0)
        if wait_ctl is not None:
            code, out = self.ctl_exit(wait_ctl)
            self.assertEqual(code, 0, out)

    def restarted_mid_step(self, pause="6s"):
        """A rollout at step 1 with a timed pause, and its canaryd restarted (SIGTERM, then the same state
        file) before the pause ends; returns (canaryd, GET /api/rollout before the restart, deadline)."""
        d = self.canaryd()
        self.start_rollout(d, plan({"weight": 10, "pause": pause}, {"weight": 40, "pause": "1h"}, {"promote": True}))
        before = self.rollout(d)
        self.assertEqual((before["phase"], before["step"]), ("progressing", 1), before)
        deadline = rfc3339_seconds(before["pause_until"])
        self.assertGreater(deadline, time.time() + 2)
        self.assertEqual(d.stop(), 0)
        d.start()
        return d, before, deadline

    def test_a_restart_keeps_the_step_and_the_pause_deadline(self):
        d, before, deadline = self.restarted_mid_step("1h")
        after = self.rollout(d)
        self.assertEqual((after["phase"], after["step"], after["pause_until"]),
                         ("progressing", 1, before["pause_until"]), after)
        self.assertEqual(d.status()["canary_weight"], 10.0)
        self.assertEqual(self.rollout_causes(d), ["rollout step 1/3: weight 10"])

    def test_after_a_restart_the_step_moves_at_its_deadline(self):
        d, _, deadline = self.restarted_mid_step("6s")
        r = self.wait_step(d, 2, timeout=30)
        moved = time.time()
        self.assertGreaterEqual(moved, deadline - 1.0, "the step moved before its deadline")
        self.assertLess(moved, deadline + 10, "the step moved %.1f s after its deadline" % (moved - deadline))
        self.assertEqual(r["canary_weight"], 40.0, r)
        self.assertRegex(self.rollout_causes(d)[-1], r"^rollout step 2/3: weight 40\b")

    def test_manual_pause_resume_pause_and_promote_early(self):
        d = self.canaryd()
        doc = self.start_rollout(d, plan({"weight": 10, "pause": "manual"}, {"weight": 30, "pause": "1h"},
                                         {"weight": 60, "pause": "1h"}, {"promote": True}))
        self.assertEqual((doc["phase"], doc["step"], doc["steps"], doc["pause_until"]), ("paused", 1, 4, None), doc)
        self.assertEqual(d.status()["canary_weight"], 10.0)
        m = d.metrics()
        self.assertEqual(m.value("canaryd_rollout_phase", phase="paused"), 1)
        self.assertEqual(m.value("canaryd_rollout_phase", phase="progressing"), 0)

        # resume ends the manual pause: step 2, a timed pause of an hour.
        self.call(d, "/api/rollout/resume")
        r = self.wait_step(d, 2)
        self.assertEqual((r["phase"], r["canary_weight"]), ("progressing", 30.0), r)
        until = rfc3339_seconds(r["pause_until"])
        self.assertAlmostEqual(until, time.time() + 3600, delta=60)

        # pause holds the step (pause_until null), resume continues with the time that was left.
        rev = d.status()["revision"]
        doc = self.call(d, "/api/rollout/pause")
        r = self.rollout(d)
        self.assertEqual((r["phase"], r["step"], r["pause_until"]), ("paused", 2, None), r)
        self.assertGreater(d.status()["revision"], rev, "a pause is a revision")
        self.assertEqual(d.metrics().value("canaryd_rollout_phase", phase="paused"), 1)
        self.call(d, "/api/rollout/resume")
        r = self.rollout(d)
        self.assertEqual((r["phase"], r["step"]), ("progressing", 2), r)
        self.assertAlmostEqual(rfc3339_seconds(r["pause_until"]), until, delta=15)
        self.assertEqual(d.metrics().value("canaryd_rollout_step"), 2)

        # promote skips the rest.
        self.call(d, "/api/rollout/promote")
        r = self.wait_phase(d, "completed")
        st = d.status()
        self.assertIn("version=v2", st["stable"]["selector"])
        self.assertIsNone(st["canary"])
        # With no canary left, no new rollout can start.
        s, doc = d.api("POST", "/api/rollout", plan({"weight": 10, "pause": "1m"}))
        self.assertEqual((s, doc.get("kind")), (409, "conflict"), doc)

    def test_abort_with_a_cause(self):
        d = self.canaryd()
        self.start_rollout(d, plan({"weight": 25, "pause": "1h"}, {"promote": True}))
        self.call(d, "/api/rollout/abort", {"cause": "dashboards look wrong"})
        r = self.rollout(d)
        self.assertEqual((r["phase"], r["canary_weight"]), ("aborted", 0.0), r)
        self.assertIn("dashboards look wrong", r["reason"])
        st = d.status()
        self.assertTrue(st["aborted"])
        self.assertEqual(st["canary_weight"], 0.0)
        self.assertEqual(d.history()[-1]["cause"], "rollout aborted: dashboards look wrong")
        self.assertEqual(self.served_by(d, headers={"X-Canary": "always"}), {(200, "stable", "v1")})
        # A second abort changes nothing; pause of a finished rollout is refused.
        rev = d.status()["revision"]
        s, doc = d.api("POST", "/api/rollout/abort", {})
        self.assertEqual((s, doc.get("unchanged"), doc.get("phase")), (200, True, "aborted"), doc)
        self.assertEqual(d.status()["revision"], rev)
        s, doc = d.api("POST", "/api/rollout/pause", {})
        self.assertEqual((s, doc.get("kind")), (409, "conflict"), doc)
        # A new rollout may start after an abort, and clears it.
        doc = self.start_rollout(d, plan({"weight": 5, "pause": "1h"}, {"promote": True}))
        self.assertEqual((doc["phase"], doc["step"]), ("progressing", 1), doc)
        st = d.status()
        self.assertFalse(st["aborted"])
        self.assertEqual(st["canary_weight"], 5.0)

    def test_manual_changes_are_refused_while_a_rollout_runs_and_rollback_aborts_it(self):
        d = self.canaryd()
        self.start_rollout(d, plan({"weight": 20, "pause": "1h"}, {"promote": True}))
        rev = d.status()["revision"]
        for method, path, body in (("PUT", "/api/weight", {"canary_weight": 50}),
                                   ("PUT", "/api/canary", {"selector": "version=v2", "canary_weight": 5}),
                                   ("DELETE", "/api/canary", None),
                                   ("POST", "/api/undo", {})):
            s, doc = d.api(method, path, body)
            self.assertEqual((s, doc.get("kind")), (409, "conflict"), "%s %s: %r" % (method, path, doc))
            self.assertIn("rollout", doc["error"])
        self.assertEqual(d.status()["revision"], rev, "a refused change made a revision")
        self.assertEqual(self.rollout(d)["phase"], "progressing")
        p = d.ctl("weight", "50")
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)

        s, doc = d.api("POST", "/api/rollback", {})
        self.assertEqual(s, 200, doc)
        r = self.rollout(d)
        self.assertEqual((r["phase"], r["canary_weight"]), ("aborted", 0.0), r)
        st = d.status()
        self.assertTrue(st["aborted"])
        self.assertEqual(st["canary_weight"], 0.0)
        # With the rollout over, manual changes work again.
        s, doc = d.api("PUT", "/api/weight", {"canary_weight": 5})
        self.assertEqual(s, 200, doc)

    def test_promote_through_the_control_api_completes_a_running_rollout(self):
        d = self.canaryd(extra=FAST_PROBES)
        self.start_rollout(d, plan({"weight": 20, "pause": "1h"}, {"weight": 50, "pause": "1h"}, {"promote": True}))
        s, doc = d.api("POST", "/api/promote", {})
        self.assertEqual(s, 200, doc)
        r = self.rollout(d)
        self.assertEqual(r["phase"], "completed", r)
        self.assertIsNone(d.status()["canary"])


# ---------------------------------------------------------------- what POST /api/rollout refuses


class StartRefusedTest(RolloutTestBase):
    NGINX = True

    def test_409_while_one_runs(self):
        d = self.canaryd()
        self.start_rollout(d, plan({"weight": 10, "pause": "1h"}, {"promote": True}))
        rev = d.status()["revision"]
        s, doc = d.api("POST", "/api/rollout", plan({"weight": 50, "pause": "1m"}))
        self.assertEqual((s, doc.get("kind")), (409, "conflict"), doc)
        self.assertEqual(d.status()["revision"], rev)
        self.assertEqual(self.rollout(d)["canary_weight"], 10.0)

    def test_409_without_a_canary(self):
        d = self.canaryd(canary=None)
        s, doc = d.api("POST", "/api/rollout", plan({"weight": 10, "pause": "1m"}))
        self.assertEqual((s, doc.get("kind")), (409, "conflict"), doc)
        self.assertEqual(self.rollout(d)["phase"], "none")

    def test_409_when_every_canary_endpoint_is_down(self):
        closed = free_port()
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (closed, "v2")], extra=FAST_PROBES)
        wait_until(lambda: support.endpoint_health(d, closed) is False, message="the canary endpoint marked down")
        rev = d.status()["revision"]
        s, doc = d.api("POST", "/api/rollout", plan({"weight": 10, "pause": "1m"}))
        self.assertEqual((s, doc.get("kind")), (409, "conflict"), doc)
        self.assertIn("healthy", doc["error"])
        self.assertEqual(d.status()["revision"], rev)
        self.assertEqual(self.rollout(d)["phase"], "none")

    def test_400_naming_the_field_of_a_bad_plan_and_nothing_changes(self):
        d = self.canaryd()
        rev = d.status()["revision"]
        for body, field in ((plan({"weight": 150, "pause": "1m"}), "steps[0].weight"),
                            (plan({"weight": 10, "pause": "soon"}), "steps[0].pause"),
                            (plan({"promote": True}, {"weight": 10}), "steps[0]"),
                            (plan({"weight": 10}, analysis={"alpha": 2}), "analysis.alpha"),
                            ({"steps": []}, "steps")):
            s, doc = d.api("POST", "/api/rollout", body)
            self.assertEqual((s, doc.get("kind")), (400, "bad_request"), "%r: %r" % (body, doc))
            self.assertIn(field, doc["error"], body)
        self.assertEqual(d.status()["revision"], rev)
        r = self.rollout(d)
        self.assertEqual(r["phase"], "none", r)

    def test_an_empty_body_starts_the_configs_plan(self):
        d = self.canaryd(extra="rollout:\n  steps:\n    - {weight: 15, pause: manual}\n    - {promote: true}\n")
        self.assertEqual(self.rollout(d)["phase"], "none")
        s, doc = d.api("POST", "/api/rollout", None)
        self.assertEqual(s, 200, doc)
        self.assertEqual((doc["phase"], doc["step"], doc["steps"], doc["canary_weight"]), ("paused", 1, 2, 15.0), doc)
        self.assertRegex(self.rollout_causes(d)[-1], r"^rollout step 1/2: weight 15\b")


# ---------------------------------------------------------------- when steps hold


class HoldTest(RolloutTestBase):
    NGINX = True

    def test_low_traffic_never_passes_a_step(self):
        d = self.canaryd()
        doc = self.start_rollout(d, plan({"weight": 50, "pause": "1s"}, {"weight": 80, "pause": "1h"},
                                         {"promote": True}, analysis=ANALYSIS))
        deadline = rfc3339_seconds(doc["pause_until"])
        # No requests: past the pause, and past a few checks, the step holds and says why.
        r = self.wait_rollout(d, lambda r: time.time() > deadline + 3 and "canary requests" in r["reason"],
                              message="the step holding for want of requests")
        self.assertRegex(r["reason"], r"hold|low traffic", r)
        self.assertEqual((r["phase"], r["step"], r["canary_weight"]), ("progressing", 1, 50.0), r)
        self.assertEqual(r["analysis"]["verdict"], "inconclusive", r)
        self.assertEqual(d.status()["revision"], self.rollout_revision(d))
        # Traffic arrives: the step passes.
        load = self.load(d)
        r = self.wait_step(d, 2, timeout=30)
        load.stop()
        self.assertEqual(r["canary_weight"], 80.0, r)
        self.assertGreaterEqual(r["analysis"]["canary"]["requests"], 20, r)

    def rollout_revision(self, d):
        """The revision of the rollout's latest step."""
        return [h["revision"] for h in d.history() if h.get("cause", "").startswith("rollout step")][-1]

    def test_steps_never_move_while_the_canary_has_no_healthy_endpoint(self):
        canary_port = free_port()
        canary = self.nginx_server([(canary_port, "v2")])
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (canary_port, "v2")], extra=FAST_PROBES)
        doc = self.start_rollout(d, plan({"weight": 10, "pause": "5s"}, {"weight": 50, "pause": "1h"},
                                         {"promote": True}))
        deadline = rfc3339_seconds(doc["pause_until"])
        canary.stop()
        wait_until(lambda: support.endpoint_health(d, canary_port) is False, message="the canary marked down")
        self.assertLess(time.time(), deadline, "the canary went down too late for this test")
        # Past the pause, the step holds while the canary is down (and says why).
        r = self.wait_rollout(d, lambda r: time.time() > deadline + 2, message="past the pause")
        self.assertEqual((r["phase"], r["step"], r["canary_weight"]), ("progressing", 1, 10.0), r)
        self.assertRegex(r["reason"], r"healthy", r)
        # The canary comes back: the step moves.
        self.nginx_server([(canary_port, "v2")])
        r = self.wait_step(d, 2, timeout=30)
        self.assertEqual(r["canary_weight"], 50.0, r)


if __name__ == "__main__":
    support.main()
