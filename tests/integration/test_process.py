#!/usr/bin/env python3
"""The canaryd program (contract sections 1 and 2): -t with `FILE: field.path: message`, --version,
--demo, start-up errors (exit 1, one line naming file and field), SIGHUP reload, SIGTERM/SIGINT drain."""

import collections
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import (IntegrationTest, RawClient, http_request, keepalive_requests, port_open,  # noqa: E402
                     run_canaryd, serve_slow, wait_until)


class ConfigCheckTest(IntegrationTest):
    def base(self, **kw):
        d = support.Canaryd(self.work.path, "check", [(18081, "v1"), (18082, "v2")], **kw)
        return d, d.config_text()

    def check_text(self, text, name="c.yaml"):
        path = self.work.file(name, text)
        return path, run_canaryd(["-t", "-c", path])

    def assert_invalid(self, text, *fields):
        path, p = self.check_text(text)
        self.assertEqual(p.returncode, 1, "-t accepted (exit %d):\n%s" % (p.returncode, text))
        lines = [line for line in p.stderr.splitlines() if line.strip()]
        self.assertTrue(lines, "nothing on stderr")
        for line in lines:
            self.assertTrue(line.startswith(path + ": "), "not `FILE: field.path: message`: %r" % line)
        found = [re.match(re.escape(path) + r": ([A-Za-z0-9_.\[\]-]+): (.+)$", line) for line in lines]
        self.assertTrue(all(found), "not `FILE: field.path: message`: %r" % lines)
        paths = [m.group(1) for m in found]
        for f in fields:
            self.assertIn(f, paths, "expected an error for %s, got %r" % (f, lines))
        return lines

    def test_valid_config(self):
        d, text = self.base()
        p = run_canaryd(["-t", "-c", d.config])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "")

    def test_valid_variants(self):
        d, text = self.base()
        variants = [
            text.replace("canary_weight: 0", "canary_weight: 33.33"),
            text.replace("canary_weight: 0", "canary_weight: 100"),
            text.replace("canary_weight: 0", "canary_weight: 0.01"),
            text.replace("  stable: {version: v1}", "  stable: \"version=v1\""),
            text.replace("  stable: {version: v1}", "  stable: \"version in (v1,v1.1)\""),
            text.replace("  stable: {version: v1}", "  stable: \"version notin (v2),!beta\""),
            text.replace("  stable: {version: v1}", "  stable: \"version!=v2\"")
                .replace("  canary: {version: v2}", "  canary: \"version=v2\""),
            text.replace("  canary: {version: v2}\n", ""),
            text + "timeouts: {connect: 250ms, upstream: 1m, client_header: 2s, keepalive_idle: 1h, drain: 0s}\n",
            text + "limits: {max_header_bytes: 1024, max_body_bytes: 0}\nrouting: {override_header: \"\", "
                   "response_header: \"\", retries: 0}\nhistory_limit: 1000\n",
            text.replace("threads: 2", "threads: 0"),
        ]
        for i, v in enumerate(variants):
            path, p = self.check_text(v, "valid-%d.yaml" % i)
            self.assertEqual(p.returncode, 0, "variant %d rejected: %s\n%s" % (i, p.stderr, v))

    def test_each_error_names_file_and_field(self):
        d, good = self.base()
        cases = [
            (good.replace("canary_weight: 0", "canary_weight: 101"), "service.canary_weight"),
            (good.replace("canary_weight: 0", "canary_weight: 10.125"), "service.canary_weight"),
            (good.replace("canary_weight: 0", "canary_weight: -1"), "service.canary_weight"),
            (good.replace("canary_weight: 0", "canary_weight: \"ten\""), "service.canary_weight"),
            (good + "no_such_key: 1\n", "no_such_key"),
            (good + "timeouts: {conect: 2s}\n", "timeouts.conect"),
            (good + "timeouts: {connect: soon}\n", "timeouts.connect"),
            (good + "timeouts: {drain: 5}\n", "timeouts.drain"),
            (good.replace("threads: 2", "threads: -1"), "threads"),
            (good + "history_limit: 0\n", "history_limit"),
            (good + "limits: {max_header_bytes: 10}\n", "limits.max_header_bytes"),
            (good + "limits: {max_body_bytes: -5}\n", "limits.max_body_bytes"),
            (good + "routing: {retries: many}\n", "routing.retries"),
            (good.replace("'127.0.0.1:18081'", "'127.0.0.1:notaport'"), "endpoints[0].address"),
            (good.replace("'127.0.0.1:18082'", "nope"), "endpoints[1].address"),
            (good.replace("  stable: {version: v1}", "  stable: \"version in (v1\""), "service.stable"),
            (good.replace("  canary: {version: v2}", "  canary: \"=v2\""), "service.canary"),
        ]
        cases.append((good.replace("  - address: 127.0.0.1:%d" % d.listen, "  - address: 127.0.0.1:99999"),
                      "listen[0].address"))
        for text, field in cases:
            with self.subTest(field=field, text=text[-60:]):
                self.assert_invalid(text, field)

    def test_overlapping_sets_are_rejected(self):
        d, good = self.base()
        lines = self.assert_invalid(good.replace("canary: {version: v2}", "canary: {name: nginx}"))
        self.assertTrue(any("service" in line for line in lines), lines)

    def test_several_errors_at_once(self):
        d, good = self.base()
        text = (good.replace("canary_weight: 0", "canary_weight: 101").replace("threads: 2", "threads: -3")
                + "timeouts: {connect: soon}\nbogus: true\n")
        lines = self.assert_invalid(text, "service.canary_weight", "threads", "timeouts.connect", "bogus")
        self.assertGreaterEqual(len(lines), 4)

    def test_extension_keys_validate_their_values(self):
        d, good = self.base()
        for text, field in (
                (good.replace("  - address: 127.0.0.1:%d" % d.listen,
                              "  - address: 127.0.0.1:%d\n    tls: {cert: a.crt, key: a.key}" % d.listen),
                 "listen[0].tls.cert"),  # built: a certificate that does not load fails
                (good + "health: {path: healthz}\n", "health.path"),  # built: only a bad value fails
                (good + "limits: {max_connections: -1}\n", "limits.max_connections"),  # built: bad values fail
                (good + "discovery: {kubernetes: {namespace: default}}\n", "discovery.kubernetes.port"),  # built
                (good + "state: {kubernetes_configmap: x}\n", "state.kubernetes_configmap")):  # built: needs discovery
            with self.subTest(field=field):
                self.assert_invalid(text, field)

    def test_yaml_syntax_error_and_missing_file(self):
        path, p = self.check_text("listen: [\n  - a: b\n")
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith(path + ": "), p.stderr)
        missing = os.path.join(self.work.path, "missing.yaml")
        p = run_canaryd(["-t", "-c", missing])
        self.assertEqual(p.returncode, 1)
        self.assertIn(missing, p.stderr)

    def test_check_does_not_bind(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        self.addCleanup(s.close)
        d = support.Canaryd(self.work.path, "nobind", [(18081, "v1")], listen_port=s.getsockname()[1])
        p = run_canaryd(["-t", "-c", d.config])
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_version(self):
        p = run_canaryd(["--version"])
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^canaryd \d+\.\d+\.\d+\n$")


class StartupErrorTest(IntegrationTest):
    def assert_startup_error(self, d, field, *words):
        d.start(wait=False)
        try:
            code = d.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.fail("canaryd kept running (%s): %s" % (field, d.log()))
        self.assertEqual(code, 1, d.log())
        lines = [line for line in d.log().splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, "expected one line on stderr, got %r" % lines)
        self.assertIn(d.config, lines[0], "the line does not name the config file: %r" % lines[0])
        self.assertIn(field, lines[0], "the line does not name the field: %r" % lines[0])
        for w in words:
            self.assertIn(w, lines[0])

    def busy_port(self):
        s = socket.socket()  # plain bind, no SO_REUSEPORT: canaryd cannot share it
        s.bind(("127.0.0.1", 0))
        s.listen()
        self.addCleanup(s.close)
        self.busy = s.getsockname()[1]
        return self.busy

    def test_listen_port_in_use(self):
        d = self.canaryd(endpoints=[(1, "v1")], start=False, listen_port=self.busy_port())
        self.assert_startup_error(d, "listen[0].address", str(self.busy))

    def test_control_port_in_use(self):
        d = self.canaryd(endpoints=[(1, "v1")], start=False, control_port=self.busy_port())
        self.assert_startup_error(d, "control.address", str(self.busy))

    def test_state_file_is_a_directory(self):
        path = os.path.join(self.work.path, "state-dir")
        os.mkdir(path)
        d = self.canaryd(endpoints=[(1, "v1")], start=False, state_file=path)
        self.assert_startup_error(d, "state_file", path)

    def test_corrupt_state_file(self):
        for i, text in enumerate(('{"revision": 3, "canary_weight": ', "garbage", "", "[]",
                                  '{"revision": "x"}')):
            path = self.work.file("corrupt-%d.json" % i, text)
            d = self.canaryd(name="corrupt-%d" % i, endpoints=[(1, "v1")], start=False, state_file=path)
            with self.subTest(state=text):
                self.assert_startup_error(d, "state_file", path)
                with open(path) as f:
                    self.assertEqual(f.read(), text, "canaryd rewrote a corrupt state file")

    def test_missing_token_file(self):
        d = self.canaryd(endpoints=[(1, "v1")], start=False, token="t")
        os.remove(d.token_file)
        self.assert_startup_error(d, "control.token_file", d.token_file)

    def test_world_readable_token_file(self):
        d = self.canaryd(endpoints=[(1, "v1")], start=False, token="t")
        os.chmod(d.token_file, 0o644)
        self.assert_startup_error(d, "control.token_file", "readable by everyone")

    def test_invalid_config_exits_1_with_file_and_field(self):
        d = self.canaryd(endpoints=[(1, "v1")], start=False, canary_weight=250)
        d.start(wait=False)
        self.assertEqual(d.proc.wait(10), 1)
        self.assertRegex(d.log(), re.escape(d.config) + r": service\.canary_weight: ")


class ReloadTest(IntegrationTest):
    NGINX = True

    def reload(self, d, ok=True):
        offset = len(d.log())
        d.send_signal(signal.SIGHUP)
        if ok:
            d.wait_log(r"reloaded", after=offset)
        else:
            d.wait_log(r"reload failed", after=offset)
        return d.log()[offset:]

    def test_sighup_adds_and_removes_endpoints_and_keeps_the_state(self):
        a, b = self.v1[0], self.v1[1]
        d = self.canaryd(endpoints=[(a, "v1"), (self.v2[0], "v2")])
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 20})[0], 200)
        before = d.status()
        d.write_config(endpoints=[(a, "v1"), (b, "v1"), (self.v2[0], "v2")], canary_weight=70)
        self.reload(d)
        st = d.status()
        self.assertEqual(sorted(e["address"] for e in st["stable"]["endpoints"]),
                         sorted(["127.0.0.1:%d" % a, "127.0.0.1:%d" % b]))
        self.assertEqual((st["revision"], st["canary_weight"]), (before["revision"], 20), "a reload changed the state")
        seen = collections.Counter(r.header("X-Endpoint") for r in
                                   keepalive_requests(d.listen, 60, headers={"X-Canary": "never"}))
        self.assertEqual(set(seen), {str(a), str(b)}, seen)
        d.write_config(endpoints=[(b, "v1"), (self.v2[0], "v2")])
        self.reload(d)
        st = d.status()
        self.assertEqual([e["address"] for e in st["stable"]["endpoints"]], ["127.0.0.1:%d" % b])
        seen = collections.Counter(r.header("X-Endpoint") for r in
                                   keepalive_requests(d.listen, 30, headers={"X-Canary": "never"}))
        self.assertEqual(set(seen), {str(b)}, seen)
        self.assertEqual(d.status()["canary_weight"], 20)
        wait_until(lambda: d.metrics().value("canaryd_endpoints", set="stable", health="healthy") == 1,
                   message="canaryd_endpoints{set=stable,healthy} == 1 after the reload")

    def test_sighup_applies_limits_and_timeouts(self):
        slow = self.raw_upstream(serve_slow(3))
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (slow.port, "v2")])
        big = {"X-Big": "a" * 4000}
        self.assertEqual(d.get("/", headers=big).status, 200)
        d.write_config(limits={"max_header_bytes": 2048}, timeouts={"upstream": "1s"})
        self.reload(d)
        self.assertEqual(d.get("/", headers=big).status, 431)
        t = time.monotonic()
        self.assertEqual(d.get("/", headers={"X-Canary": "always"}).status, 504)
        self.assertLess(time.monotonic() - t, 2.8)

    def test_bad_reload_is_logged_and_the_old_config_stays(self):
        d = self.canaryd(endpoints=[(self.v1[0], "v1"), (self.v2[0], "v2")], canary_weight=30)
        before = d.status()
        good = d.config_text()
        for i, bad in enumerate(("this is: [not valid\n",
                                 d.config_text(endpoints=[(self.v1[0], "v1"), (self.v1[1], "v1"), (self.v2[0], "v2")])
                                 + "unknown_key: 1\n",
                                 good.replace("canary_weight: 30", "canary_weight: 101"))):
            with open(d.config, "w") as f:
                f.write(bad)
            offset = len(d.log())
            self.reload(d, ok=False)
            # The reasons follow the "reload failed" line; one of them names the file.
            d.wait_log(re.escape(d.config), after=offset)
            self.assertTrue(d.alive(), "canaryd died on a bad reload")
            self.assertEqual(d.status(), before, "bad reload %d changed the state" % i)
            rs = keepalive_requests(d.listen, 30, headers={"X-Canary": "never"})
            self.assertEqual({r.header("X-Endpoint") for r in rs}, {str(self.v1[0])})
        with open(d.config, "w") as f:
            f.write(good)
        self.reload(d)
        self.assertEqual(d.status(), before)


class StopTest(IntegrationTest):
    def slow_request(self, port, path="/"):
        """Starts a GET in a thread; returns (thread, result dict)."""
        result = {}

        def run():
            t = time.monotonic()
            try:
                c = RawClient(port, timeout=30)
                c.send(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n\r\n")
                result["response"] = c.read_response()
                result["closed_after"] = c.closed_within(5)
            except Exception as e:  # noqa: BLE001
                result["error"] = e
            result["took"] = time.monotonic() - t
        th = threading.Thread(target=run, daemon=True)
        th.start()
        return th, result

    def test_sigterm_lets_in_flight_requests_finish(self):
        up = self.raw_upstream(serve_slow(2))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        th, result = self.slow_request(d.listen)
        wait_until(lambda: len(up.requests) == 1, message="the slow request to reach the upstream")
        t = time.monotonic()
        d.send_signal(signal.SIGTERM)
        wait_until(lambda: not port_open(d.listen), timeout=1.5, message="the listener to close after SIGTERM")
        self.assertIsNone(d.proc.poll(), "canaryd exited with a request in flight")
        code = d.wait_exit(10)
        th.join(10)
        self.assertEqual(code, 0, d.log())
        self.assertNotIn("error", result, result)
        r = result["response"]
        self.assertEqual((r.status, r.body, r.complete), (200, b"slow done\n", True))
        self.assertTrue(result["closed_after"], "the client connection stayed open while draining")
        self.assertGreater(time.monotonic() - t, 1.0)

    def test_sigint_drains_the_same_way(self):
        up = self.raw_upstream(serve_slow(1))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        th, result = self.slow_request(d.listen)
        wait_until(lambda: len(up.requests) == 1, message="the slow request to reach the upstream")
        d.send_signal(signal.SIGINT)
        self.assertEqual(d.wait_exit(10), 0)
        th.join(10)
        self.assertEqual(result["response"].status, 200)

    def test_idle_keepalive_client_is_closed_on_sigterm(self):
        up = self.raw_upstream(support.serve_fixed())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, timeouts={"keepalive_idle": "60s"})
        c = self.raw(d.listen)
        for _ in range(2):  # a keep-alive connection, open and idle
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
        t = time.monotonic()
        d.send_signal(signal.SIGTERM)
        self.assertTrue(c.closed_within(3), "the idle keep-alive connection stayed open after SIGTERM")
        self.assertEqual(d.wait_exit(5), 0)
        self.assertLess(time.monotonic() - t, 3.0, "an idle connection held up the stop")

    def test_parked_keepalive_client_is_closed_on_sigterm_and_still_counted(self):
        up = self.raw_upstream(support.serve_fixed())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, timeouts={"keepalive_idle": "60s"})
        c = self.raw(d.listen)
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        time.sleep(0.8)  # idle past the half second after which a keep-alive connection parks
        self.assertEqual(d.metrics().value("canaryd_active_connections", side="client"), 1,
                         "a parked connection is still an open client connection")
        t = time.monotonic()
        d.send_signal(signal.SIGTERM)
        self.assertTrue(c.closed_within(3), "the parked keep-alive connection stayed open after SIGTERM")
        self.assertEqual(d.wait_exit(5), 0)
        self.assertLess(time.monotonic() - t, 3.0, "a parked connection held up the stop")

    def test_drain_deadline_cuts_long_requests(self):
        up = self.raw_upstream(serve_slow(10))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, timeouts={"drain": "1s"})
        th, result = self.slow_request(d.listen)
        wait_until(lambda: len(up.requests) == 1, message="the slow request to reach the upstream")
        t = time.monotonic()
        d.send_signal(signal.SIGTERM)
        code = d.wait_exit(8)
        took = time.monotonic() - t
        self.assertEqual(code, 0, d.log())
        self.assertTrue(0.8 <= took <= 3.0, "exit %.2f s after SIGTERM with timeouts.drain 1s" % took)
        th.join(5)
        r = result.get("response")
        self.assertTrue(r is None or r.status != 200, "a request cut by the drain deadline got %r" % r)

    def test_graceful_stop_when_idle(self):
        d = self.canaryd(endpoints=[(1, "v1")])
        t = time.monotonic()
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - t, 2)


class DemoTest(IntegrationTest):
    def test_demo(self):
        if port_open(8080) or port_open(9901):
            self.skipTest("ports 8080/9901 are in use")
        out = os.path.join(self.work.path, "demo.out")
        with open(out, "wb") as f:
            p = subprocess.Popen([os.path.join(support.BIN_DIR, "canaryd"), "--demo"], stdout=f,
                                 stderr=subprocess.STDOUT, cwd=self.work.path)

        def stop():
            if p.poll() is None:
                p.kill()
                p.wait()
        self.addCleanup(stop)
        wait_until(lambda: http_request(9901, "GET", "/healthz", timeout=1).status == 200 and port_open(8080),
                   message="the demo on 8080/9901")
        s, st = support.api(9901, "GET", "/api/status")
        self.assertEqual(s, 200)
        self.assertEqual(st["canary_weight"], 10)
        self.assertEqual(len(st["stable"]["endpoints"]), 3)
        self.assertEqual(len(st["canary"]["endpoints"]), 1)
        self.assertIn("version=v1", st["stable"]["selector"])
        self.assertIn("version=v2", st["canary"]["selector"])
        sets = collections.Counter(r.header("X-Canary-Set") for r in keepalive_requests(8080, 200))
        self.assertEqual(set(sets), {"stable", "canary"})
        self.assertLessEqual(abs(sets["canary"] - 20), 3, sets)
        with open(out) as f:
            text = f.read()
        self.assertIn("curl", text)
        self.assertIn("canaryctl", text)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), 0)


if __name__ == "__main__":
    support.main()
