#!/usr/bin/env python3
"""Logs (issue 13, contract section 10): the access log's JSON lines (every field, escaped client text,
flushed within a second, off by default), SIGUSR1 reopening it after a logrotate-style move without
losing a line, SIGHUP turning it on, moving and off, the exit writing what was logged, the dropped-lines
counter from start; and the process log's lines operators need: each reload with what changed, a
changed canary_weight that the state overrides, health transitions, and log_format: json."""

import http.client
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, free_port, wait_until  # noqa: E402

FIELDS = ["time", "client", "method", "target", "status", "set", "reason", "endpoint", "bytes_in", "bytes_out",
          "duration_ms"]
FAST_PROBES = "health: {path: /, interval: 100ms, timeout: 100ms, healthy_threshold: 1, unhealthy_threshold: 2}\n"


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        return [json.loads(line) for line in f.read().decode().splitlines()]


class Load:
    """Requests from a thread until stopped; counts the answered ones."""

    def __init__(self, port):
        self.port, self.answered = port, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        conn = http.client.HTTPConnection(support.LOOPBACK, self.port, timeout=5)
        while not self.done.is_set():
            r = support.http_request(self.port, "GET", "/load", conn=conn)
            assert r.status == 200, r.status
            self.answered += 1

    def stop(self):
        self.done.set()
        self.thread.join(10)
        return self.answered


class AccessLogTest(IntegrationTest):
    NGINX = True

    def access(self, name="access.log"):
        path = os.path.join(self.work.path, self.id().rsplit(".", 1)[-1] + "-" + name)
        return path, "access_log: {path: %s, format: json}\n" % path

    def test_one_line_per_request_with_every_field_within_a_second(self):
        path, extra = self.access()
        d = self.canaryd(canary_weight=0, extra=extra)
        self.assertEqual(d.metrics().value("canaryd_access_log_dropped_total"), 0, "the counter exists from start")
        r = d.get('/a"b\\c?x=1', headers={"X-Canary": "always"})
        self.assertEqual(r.status, 200)
        start = time.monotonic()
        wait_until(lambda: len(read_lines(path)) == 1, timeout=3, message="the access log line")
        self.assertLess(time.monotonic() - start, 1.5, "the line was not flushed within a second")
        line = read_lines(path)[0]
        self.assertEqual(list(line), FIELDS)
        self.assertRegex(line["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual((line["client"], line["method"], line["target"], line["status"], line["set"], line["reason"]),
                         ("127.0.0.1", "GET", '/a"b\\c?x=1', 200, "canary", "header"))
        self.assertEqual(line["endpoint"], "127.0.0.1:%d" % self.v2[0])
        self.assertGreater(line["bytes_in"], 20)
        self.assertGreater(line["bytes_out"], len(r.body))
        self.assertGreaterEqual(line["duration_ms"], 0)

        # The byte counts are what went over the wire.
        req = b"POST /exact HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        raw, _ = support.raw_exchange(d.listen, req)
        self.assertTrue(raw.startswith(b"HTTP/1.1 "), raw[:40])
        wait_until(lambda: len(read_lines(path)) == 2, timeout=3, message="the POST's line")
        exact = read_lines(path)[1]
        self.assertEqual((exact["method"], exact["target"], exact["bytes_in"], exact["bytes_out"]),
                         ("POST", "/exact", len(req), len(raw)))

        # A request canaryd answers itself: no endpoint, set none, no reason.
        raw, _ = support.raw_exchange(d.listen, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 400"), raw[:40])
        wait_until(lambda: len(read_lines(path)) == 3, timeout=3, message="the 400's line")
        bad = read_lines(path)[2]
        self.assertEqual((bad["status"], bad["set"], bad["reason"], bad["endpoint"]), (400, "none", None, None))
        self.assertEqual(bad["bytes_out"], len(raw))

    def test_off_by_default(self):
        d = self.canaryd()
        self.assertEqual(d.get("/").status, 200)
        self.assertEqual(d.metrics().value("canaryd_access_log_dropped_total"), 0)
        self.assertEqual([f for f in os.listdir(self.work.path) if "access" in f and "off_by_default" in f], [])

    def test_sigusr1_reopens_after_a_move_and_no_line_is_lost_and_exit_writes_the_rest(self):
        path, extra = self.access()
        d = self.canaryd(extra=extra)
        load = Load(d.listen)
        try:
            wait_until(lambda: len(read_lines(path)) > 50, message="lines in the first file")
            os.rename(path, path + ".1")
            mark = len(d.log())
            d.send_signal(signal.SIGUSR1)
            d.wait_log(r"SIGUSR1: reopened the access log " + path, after=mark)
            wait_until(lambda: len(read_lines(path)) > 50, message="lines in the new file")
        finally:
            answered = load.stop()
        self.assertEqual(d.stop(), 0)
        old, new = read_lines(path + ".1"), read_lines(path)
        self.assertEqual(len(old) + len(new), answered, "every answered request has exactly one line")
        self.assertTrue(all(line["target"] == "/load" for line in old + new))

    def test_reload_turns_the_access_log_on_moves_it_and_off(self):
        d = self.canaryd()
        first, extra = self.access("first.log")
        second, extra2 = self.access("second.log")
        d.write_config(extra=extra)
        mark = len(d.log())
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reload: the access log goes to " + first, after=mark)
        d.wait_log(r"reloaded .*changed: access_log", after=mark)
        self.assertEqual(d.get("/one").status, 200)
        wait_until(lambda: [l["target"] for l in read_lines(first)] == ["/one"], message="/one in the first file")

        d.write_config(extra=extra2)
        mark = len(d.log())
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reload: the access log goes to " + second, after=mark)
        self.assertEqual(d.get("/two").status, 200)
        wait_until(lambda: [l["target"] for l in read_lines(second)] == ["/two"], message="/two in the second file")

        d.write_config(extra="")
        mark = len(d.log())
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reload: the access log is off", after=mark)
        self.assertEqual(d.get("/three").status, 200)
        self.assertEqual(d.stop(), 0)  # the exit writes whatever was handed over
        self.assertEqual([l["target"] for l in read_lines(second)], ["/two"])
        self.assertEqual([l["target"] for l in read_lines(first)], ["/one"])

    def test_a_reload_to_an_unopenable_path_changes_nothing(self):
        path, extra = self.access()
        d = self.canaryd(extra=extra)
        d.write_config(extra="access_log: {path: /nonexistent/dir/a.log}\n", canary_weight=0)
        mark = len(d.log())
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"access_log.path: cannot open /nonexistent/dir/a.log: No such file or directory", after=mark)
        self.assertEqual(d.get("/still").status, 200)
        wait_until(lambda: [l["target"] for l in read_lines(path)] == ["/still"], message="the old file still used")

    def test_an_unopenable_path_is_a_startup_error(self):
        d = self.canaryd(start=False, extra="access_log: {path: /nonexistent/dir/a.log}\n")
        line = d.startup_error()
        self.assertIn("access_log.path: cannot open /nonexistent/dir/a.log", line)


class ProcessLogTest(IntegrationTest):
    NGINX = True

    def test_reload_says_what_changed(self):
        d = self.canaryd(timeouts={"connect": "2s"})
        d.write_config(timeouts={"connect": "1s"}, endpoints=[(self.v1[0], "v1"), (self.v1[1], "v1"), (self.v2[0], "v2")])
        mark = len(d.log())
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reloaded \S+: 3 endpoint\(s\); changed: endpoints \(\+0 -1\), timeouts$", after=mark)
        mark = len(d.log())
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reloaded \S+: 3 endpoint\(s\); changed: nothing", after=mark)

    def test_a_changed_canary_weight_says_the_state_wins_and_how_to_apply_it(self):
        d = self.canaryd(canary_weight=10)
        d.write_config(canary_weight=30)
        mark = len(d.log())
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reload: service.canary_weight is now 30 in \S+, but the routing state in %s decides the weight "
                   r"and keeps 10%% .*; to apply it: canaryctl weight 30" % d.state_file, after=mark)
        self.assertEqual(d.status()["canary_weight"], 10)

    def test_endpoint_health_transitions_are_logged(self):
        solo = free_port()
        nginx = self.nginx_server([(solo, "v1")])
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (solo, "v1"), (self.v2[0], "v2")], extra=FAST_PROBES)
        nginx.stop()
        d.wait_log(r"endpoint 127.0.0.1:%d is now unhealthy" % solo)
        self.nginx_server([(solo, "v1")])
        d.wait_log(r"endpoint 127.0.0.1:%d is now healthy" % solo)

    def test_json_format_writes_one_object_a_line(self):
        d = self.canaryd(extra="log_format: json\n" + FAST_PROBES)
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 5, "cause": "json test"})[0], 200)

        def audit():
            return [o for o in map(json.loads, d.log().splitlines()) if o.get("audit")]
        wait_until(audit, message="the audit line as JSON")
        a = audit()[0]
        self.assertEqual((a["call"], a["status"], a["remote"], a["cause"]), ("PUT /api/weight", 200, "127.0.0.1",
                                                                           "json test"))
        self.assertEqual(a["revision_after"], a["revision_before"] + 1)
        self.assertTrue(a["msg"].startswith("audit remote=127.0.0.1"), a)
        d.write_config(extra=FAST_PROBES)  # back to text, by a reload
        mark = len(d.log())
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"canaryd: reloaded .*changed: log_format", after=mark)
        for line in d.log()[:mark].splitlines():
            obj = json.loads(line)
            self.assertEqual(list(obj)[:2], ["time", "msg"], line)


if __name__ == "__main__":
    support.main()
