#!/usr/bin/env python3
"""Metrics for dashboards and alerts: a fresh canaryd exports every family and every series the
dashboard and the alerts use, zero-valued, before its first request; process_* as client libraries
export them; reloads by result; the last change's time; canaryd_set_info follows a promote. Then
deploy/grafana/canaryd.json and deploy/prometheus/alerts.yaml: every metric name in their queries is on
a live /metrics (a static canaryd's and one with Kubernetes discovery), `promtool check rules` and
`promtool test rules` pass."""

import calendar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "k8s"))
import support  # noqa: E402
from support import IntegrationTest, keepalive_requests, wait_until  # noqa: E402
import fake_apiserver  # noqa: E402

DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "canaryd.json")
ALERTS = os.path.join(ROOT, "deploy", "prometheus", "alerts.yaml")
ALERT_TESTS = os.path.join(ROOT, "deploy", "prometheus", "alerts_test.yaml")

SETS, CODES, PROTOCOLS = ("stable", "canary", "none"), ("2xx", "3xx", "4xx", "5xx"), ("http1", "http2")
REASONS = ("header", "cookie", "affinity", "weight", "fallback", "aborted")
# Every series that exists from the start, zero-valued until its event: (name, labels).
ZERO_SERIES = (
    [("canaryd_requests_total", dict(set=s, code=c, protocol=p)) for s in SETS for c in CODES for p in PROTOCOLS]
    + [("canaryd_request_duration_seconds_count", dict(set=s)) for s in SETS]
    + [("canaryd_request_duration_seconds_bucket", dict(set=s, le="+Inf")) for s in SETS]
    + [("canaryd_upstream_errors_total", dict(set=s, kind=k)) for s in SETS[:2] for k in ("connect", "timeout", "reset")]
    + [("canaryd_fallback_total", {"from": s}) for s in SETS[:2]]
    + [("canaryd_routing_decisions_total", dict(set=s, reason=r)) for s in SETS for r in REASONS]
    + [("canaryd_rollout_phase", dict(phase=p)) for p in ("progressing", "paused", "completed", "aborted")]
    + [("canaryd_rollout_step", {}), ("canaryd_rollout_aborts_total", {})]
    + [("canaryd_config_reloads_total", dict(result=r)) for r in ("success", "failure")]
    + [("canaryd_endpoints", dict(set="canary", health="unhealthy")), ("canaryd_endpoints", dict(set="stable", health="unhealthy"))]
)
PROCESS = ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
           "process_open_fds", "process_max_fds", "process_start_time_seconds")

# PromQL words that are not metric names (functions are recognised by their parenthesis).
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                "offset", "inf", "nan"}


def metric_names(expr):
    """The metric names a PromQL expression selects: strings, label matchers, ranges and grouping lists
    removed, then every identifier that is neither a function nor a keyword."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def exported(metrics):
    """The sample names a /metrics page has, with each histogram's family name too."""
    names = {n for n, _, _ in metrics.samples}
    return names | {n for n, kind in metrics.types.items() if kind == "histogram"}


def dashboard_exprs():
    with open(DASHBOARD) as f:
        doc = json.load(f)
    exprs = []
    for panel in doc["panels"]:
        exprs += [("panel %r" % panel["title"], t["expr"]) for t in panel.get("targets", [])]
    exprs += [("annotation %r" % a["name"], a["expr"]) for a in doc.get("annotations", {}).get("list", []) if "expr" in a]
    for var in doc.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            exprs.append(("variable %r" % var["name"], re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", q)))
    return doc, exprs


def alert_exprs():
    """The rules' expr fields (the file is YAML; its exprs are block scalars or one-line values)."""
    exprs, current, block = [], None, None
    with open(ALERTS) as f:
        for line in f:
            m = re.match(r"^(\s*)(?:- )?alert: (\S+)", line)
            if m:
                current = m.group(2)
            m = re.match(r"^(\s*)expr: ?(.*)$", line)
            if m:
                if m.group(2).strip() == "|":
                    block = (current, len(m.group(1)), [])
                    exprs.append(block)
                else:
                    exprs.append((current, 0, [m.group(2)]))
                    block = None
                continue
            if block is not None:
                if line.strip() and len(line) - len(line.lstrip()) <= block[1]:
                    block = None
                else:
                    block[2].append(line)
    return [(name, "".join(lines)) for name, _, lines in exprs]


class FreshMetricsTest(IntegrationTest):
    NGINX = True

    def test_every_series_exists_zero_valued_before_any_request(self):
        d = self.canaryd(canary_weight=0)
        m = d.metrics()
        for name, labels in ZERO_SERIES:
            found = m.find(name, **labels)
            self.assertEqual(len(found), 1, "%s%s: %s" % (name, labels, found))
            self.assertEqual(found[0][1], 0, "%s%s" % (name, labels))
        self.assertEqual(m.value("canaryd_rollout_phase", phase="none"), 1)
        self.assertEqual(m.value("canaryd_endpoints", set="stable", health="healthy"), 3)
        self.assertEqual(m.value("canaryd_endpoints", set="canary", health="healthy"), 1)
        self.assertEqual(len(m.find("canaryd_build_info")), 1)
        self.assertEqual(m.types.get("canaryd_config_reloads_total"), "counter")
        self.assertEqual(m.types.get("canaryd_set_info"), "gauge")
        self.assertEqual(m.types.get("canaryd_last_change_timestamp_seconds"), "gauge")

    def test_process_families_describe_this_process(self):
        before = time.time()
        d = self.canaryd()
        m = d.metrics()
        for name in PROCESS:
            self.assertEqual(len(m.find(name)), 1, name)
        self.assertEqual(m.types["process_cpu_seconds_total"], "counter")
        # The start time is the process's, to the clock tick: between the test's start and now.
        self.assertGreaterEqual(m.value("process_start_time_seconds"), int(before) - 1)
        self.assertLessEqual(m.value("process_start_time_seconds"), time.time() + 1)
        rss_kib = d.proc_status("VmRSS")
        self.assertLess(abs(m.value("process_resident_memory_bytes") / 1024 - rss_kib), max(rss_kib * 0.2, 2048))
        fds = len(os.listdir("/proc/%d/fd" % d.pid))
        self.assertLessEqual(abs(m.value("process_open_fds") - fds), 2, (m.value("process_open_fds"), fds))
        with open("/proc/%d/limits" % d.pid) as f:
            soft = [line.split()[3] for line in f if line.startswith("Max open files")][0]
        self.assertEqual(m.value("process_max_fds"), float(soft))
        self.assertGreaterEqual(m.value("process_virtual_memory_bytes"), m.value("process_resident_memory_bytes"))

    def test_set_info_and_last_change_follow_the_routing_state(self):
        d = self.canaryd(canary_weight=10)
        m = d.metrics()
        self.assertEqual(sorted((lab["set"], lab["selector"], v) for lab, v in m.find("canaryd_set_info")),
                         [("canary", "name=nginx,version=v2", 1), ("stable", "name=nginx,version=v1", 1)])
        current = d.history()[-1]
        want = calendar.timegm(time.strptime(current["time"][:19], "%Y-%m-%dT%H:%M:%S"))
        self.assertLess(abs(m.value("canaryd_last_change_timestamp_seconds") - want), 1.5, current)
        s, body = d.api("POST", "/api/promote")
        self.assertEqual(s, 200, body)
        m = d.metrics()
        self.assertEqual([(lab["set"], lab["selector"]) for lab, _ in m.find("canaryd_set_info")],
                         [("stable", "name=nginx,version=v2")])
        promoted = d.history()[-1]
        self.assertGreater(promoted["revision"], current["revision"])
        want = calendar.timegm(time.strptime(promoted["time"][:19], "%Y-%m-%dT%H:%M:%S"))
        self.assertLess(abs(m.value("canaryd_last_change_timestamp_seconds") - want), 1.5, promoted)
        self.assertLess(abs(m.value("canaryd_last_change_timestamp_seconds") - time.time()), 5)

    def test_at_start_the_last_change_is_the_loaded_revisions_time(self):
        state = self.work.file("old.state.json", json.dumps({
            "format": 1, "history_limit": 10, "revisions": [{
                "revision": 7, "time": "2024-01-02T03:04:05Z", "stable": "version=v1", "canary": "version=v2",
                "canary_weight_bp": 2500, "cause": "PUT /api/weight", "affinity_salt": "a53ae7a3e65de4e8"}]}))
        d = self.canaryd(state_file=state)
        m = d.metrics()
        self.assertEqual(m.value("canaryd_revision"), 7)
        self.assertEqual(m.value("canaryd_canary_weight_percent"), 25)
        self.assertEqual(m.value("canaryd_last_change_timestamp_seconds"), calendar.timegm((2024, 1, 2, 3, 4, 5)))

    def test_reloads_count_by_result(self):
        d = self.canaryd()
        log_mark = len(d.log())
        d.write_config(canary_weight=0)
        d.send_signal(signal.SIGHUP)
        wait_until(lambda: d.metrics().value("canaryd_config_reloads_total", result="success") == 1,
                   message="a successful reload to be counted")
        with open(d.config, "a") as f:
            f.write("no_such_key: 1\n")
        d.send_signal(signal.SIGHUP)
        wait_until(lambda: d.metrics().value("canaryd_config_reloads_total", result="failure") == 1,
                   message="a refused reload to be counted")
        m = d.metrics()
        self.assertEqual(m.value("canaryd_config_reloads_total", result="success"), 1)
        self.assertIn("reload failed", d.log()[log_mark:])

    def test_traffic_moves_only_its_own_series(self):
        d = self.canaryd(canary_weight=0)
        keepalive_requests(d.listen, 20)
        wait_until(lambda: d.metrics().value("canaryd_requests_total", set="stable", code="2xx") == 20,
                   message="20 stable requests counted")
        m = d.metrics()
        self.assertEqual(m.value("canaryd_requests_total", set="canary"), 0)
        self.assertEqual(len(m.find("canaryd_requests_total")), len(SETS) * len(CODES) * len(PROTOCOLS))
        self.assertEqual(m.value("canaryd_requests_total", protocol="http2"), 0)


class DashboardAndAlertsTest(IntegrationTest):
    NGINX = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certs = fake_apiserver.make_certs(os.path.join(cls.work.path, "certs"))

    def live_names(self):
        """The metric names of a static canaryd's /metrics and of one with Kubernetes discovery."""
        static = self.canaryd(name="static")
        names = exported(static.metrics())
        api = fake_apiserver.FakeApiServer(tls=self.certs, tokens={"token-1"})
        api.start()
        self.addCleanup(api.stop)
        api.add_pod("web-1", "127.0.0.1", {"name": "nginx", "version": "v1"}, ready=True, port=self.v1[0])
        token = self.work.file("kube.token", "token-1\n", mode=0o600)
        kubeconfig = fake_apiserver.write_kubeconfig(os.path.join(self.work.path, "kubeconfig"), api.url,
                                                     ca_file=self.certs.ca_cert, token_file=token)
        kube = self.canaryd(name="kube", endpoints=[], extra="discovery:\n  kubernetes: {namespace: web, port: %d, "
                            "kubeconfig: %s}\n" % (self.v1[0], kubeconfig))
        names |= exported(kube.metrics())
        self.assertIn("canaryd_kubernetes_api_reachable", names)
        return names

    def test_metric_name_extraction(self):
        self.assertEqual(metric_names('histogram_quantile(0.99, sum by (set, le) (rate(a_bucket{x="y{z}"}[5m])))'),
                         {"a_bucket"})
        self.assertEqual(metric_names('abs(100 * sum(rate(a{set="c"}[$__rate_interval])) - on (job) max by (job) (b)) > 10'
                                      ' and on (job) c > 1'), {"a", "b", "c"})
        self.assertEqual(metric_names("time() - max(x) * on (job, instance) group_left y"), {"x", "y"})

    def test_every_dashboard_and_alert_query_uses_exported_metrics(self):
        doc, exprs = dashboard_exprs()
        self.assertEqual([v["type"] for v in doc["templating"]["list"] if v["name"] == "datasource"], ["datasource"])
        for panel in doc["panels"]:
            if panel["type"] != "row":
                self.assertEqual(panel["datasource"]["uid"], "${datasource}", panel["title"])
        alerts = alert_exprs()
        self.assertEqual(len(alerts), 6, alerts)
        names = self.live_names()
        used = set()
        for where, expr in exprs + [("alert %s" % n, e) for n, e in alerts]:
            found = metric_names(expr)
            self.assertTrue(found, "%s: no metric in %r" % (where, expr))
            used |= found
            self.assertEqual(found - names, set(), "%s uses metrics canaryd does not export: %r" % (where, expr))
        # What the issue asks the dashboard for.
        for name in ("canaryd_canary_weight_percent", "canaryd_requests_total", "canaryd_request_duration_seconds_bucket",
                     "canaryd_rollout_phase", "canaryd_rollout_step", "canaryd_endpoints"):
            self.assertIn(name, used)

    @unittest.skipUnless(shutil.which("promtool"), "promtool is not installed (Debian's prometheus package)")
    def test_promtool_checks_and_tests_the_rules(self):
        check = subprocess.run(["promtool", "check", "rules", ALERTS], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn("6 rules found", check.stdout)
        for rule in re.findall(r"alert: (\w+)", open(ALERTS).read()):
            block = open(ALERTS).read().split("alert: " + rule, 1)[1].split("- alert:", 1)[0]
            for needed in ("for:", "severity:", "summary:", "description:"):
                self.assertIn(needed, block, "%s has no %s" % (rule, needed))
        test = subprocess.run(["promtool", "test", "rules", ALERT_TESTS], capture_output=True, text=True,
                              cwd=os.path.dirname(ALERT_TESTS))
        self.assertEqual(test.returncode, 0, test.stdout + test.stderr)
        self.assertIn("SUCCESS", test.stdout)


if __name__ == "__main__":
    support.main()
