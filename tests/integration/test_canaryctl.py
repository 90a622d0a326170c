#!/usr/bin/env python3
"""canaryctl against a real canaryd (contract section 4): every command and option, tables and
-o json, --cause and the recorded command line, token and server options, exit codes 0/1/2/3."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, free_port, http_request, run_ctl  # noqa: E402


class CtlTest(IntegrationTest):
    E1, E2, E3 = 18081, 18083, 18082   # endpoints need not answer: canaryctl only talks to the API

    def daemon(self, **kw):
        kw.setdefault("endpoints", [(self.E1, "v1"), (self.E2, "v1"), (self.E3, "v2")])
        return self.canaryd(**kw)

    def ok(self, d, *args, **kw):
        p = d.ctl(*args, **kw)
        self.assertEqual(p.returncode, 0, "canaryctl %s exited %d: %s%s" % (" ".join(args), p.returncode, p.stdout,
                                                                          p.stderr))
        return p.stdout

    def test_status_table(self):
        d = self.daemon(canary_weight=10)
        out = self.ok(d, "status")
        self.assertRegex(out, r"\bREVISION\b\s+1\b")
        stable = [line for line in out.splitlines() if line.startswith("stable")]
        canary = [line for line in out.splitlines() if line.startswith("canary ")]
        self.assertEqual(len(stable), 1, out)
        self.assertEqual(len(canary), 1, out)
        self.assertIn("name=nginx,version=v1", stable[0])
        self.assertRegex(stable[0], r"\b90(\.0+)?%")
        self.assertIn("127.0.0.1:%d" % self.E1, stable[0])
        self.assertIn("127.0.0.1:%d" % self.E2, stable[0])
        self.assertIn("healthy", stable[0])
        self.assertIn("name=nginx,version=v2", canary[0])
        self.assertRegex(canary[0], r"\b10(\.0+)?%")
        self.assertIn("127.0.0.1:%d" % self.E3, canary[0])
        # fractional weights show their decimals
        self.ok(d, "weight", "33.33")
        out = self.ok(d, "status")
        self.assertIn("33.33%", out)
        self.assertIn("66.67%", out)

    def test_status_without_canary(self):
        d = self.daemon(canary=None)
        out = self.ok(d, "status")
        self.assertIn("name=nginx,version=v1", out)
        self.assertRegex(out, r"stable\s+\S+\s+100(\.0+)?%")

    def test_json_output_is_the_servers_json(self):
        d = self.daemon(canary_weight=10)
        self.ok(d, "weight", "20")
        for cmd, path in (("status", "/api/status"), ("history", "/api/history")):
            out = self.ok(d, "-o", "json", cmd)
            server = http_request(d.control, "GET", path).body.decode()
            self.assertEqual(json.loads(out), json.loads(server))
            self.assertEqual(out.strip(), server.strip(), "-o json is not the server's JSON as is")
        out = self.ok(d, "--output", "json", "weight", "30")
        self.assertEqual(json.loads(out)["canary_weight"], 30)

    def test_history_table(self):
        d = self.daemon(canary_weight=10)
        self.ok(d, "weight", "20")
        self.ok(d, "weight", "2.5", "--cause", "slow start")
        out = self.ok(d, "history")
        lines = out.strip().splitlines()
        self.assertRegex(lines[0], r"^REVISION\s+WEIGHT\s+STABLE\s+CANARY\s+CHANGE-CAUSE\s*$")
        rows = [re.split(r"\s{2,}", line.strip(), maxsplit=4) for line in lines[1:]]
        self.assertEqual([r[0] for r in rows], ["1", "2", "3"])
        self.assertEqual([r[1] for r in rows], ["10%", "20%", "2.5%"])
        self.assertEqual(rows[1][2:4], ["name=nginx,version=v1", "name=nginx,version=v2"])
        self.assertEqual(rows[2][4], "slow start")

    def test_default_cause_is_the_command_line(self):
        d = self.daemon(canary_weight=10)
        self.ok(d, "weight", "20")
        self.ok(d, "-o", "json", "canary", "version=v3", "--weight", "5")
        hist = d.history()
        self.assertRegex(hist[-2]["cause"], r"^canaryctl .*weight 20$")
        self.assertRegex(hist[-1]["cause"], r"^canaryctl .*canary version=v3 --weight 5$")

    def test_cause_option_on_every_change(self):
        d = self.daemon(canary_weight=10)
        for args in (["weight", "20"], ["rollback"], ["undo"], ["canary", "version=v3"], ["canary", "--remove"],
                     ["canary", "version=v2"], ["promote"]):
            cause = "because %s" % args[0]
            self.ok(d, *args, "--cause", cause)
            self.assertEqual(d.history()[-1]["cause"], cause, args)

    def test_every_command_changes_the_state(self):
        d = self.daemon(canary_weight=10)
        self.ok(d, "weight", "42.5")
        self.assertEqual(d.status()["canary_weight"], 42.5)
        self.ok(d, "rollback")
        st = d.status()
        self.assertEqual((st["canary_weight"], st["canary"]["selector"]), (0, "name=nginx,version=v2"))
        self.ok(d, "undo")
        self.assertEqual(d.status()["canary_weight"], 42.5)
        self.ok(d, "undo", "--to-revision", "1")
        self.assertEqual(d.status()["canary_weight"], 10)
        self.ok(d, "canary", "version=v3", "--weight", "5")
        st = d.status()
        self.assertEqual((st["canary"]["selector"], st["canary_weight"]), ("name=nginx,version=v3", 5))
        self.ok(d, "canary", "version in (v2)")
        st = d.status()
        self.assertEqual((st["canary"]["selector"], st["canary_weight"]), ("name=nginx,version in (v2)", 0))
        self.ok(d, "canary", "--remove")
        self.assertIsNone(d.status()["canary"])
        self.ok(d, "canary", "version=v2", "--weight", "15")
        self.ok(d, "promote")
        st = d.status()
        self.assertEqual((st["stable"]["selector"], st["canary"]), ("name=nginx,version=v2", None))
        self.assertEqual(st["revision"], 10)

    def test_server_refusals_exit_1_with_the_error(self):
        d = self.daemon(canary=None)
        for args in (["weight", "20"], ["promote"], ["weight", "200"], ["weight", "1.234"], ["undo", "--to-revision", "99"],
                     ["canary", "version=v1"]):
            p = d.ctl(*args)
            self.assertEqual(p.returncode, 1, "canaryctl %s exited %d" % (" ".join(args), p.returncode))
            self.assertTrue(p.stderr.strip() or p.stdout.strip(), "no error printed for %s" % args)
        p = d.ctl("weight", "200")
        self.assertIn("100", p.stderr + p.stdout, "the server's message is not printed: %r" % p.stderr)
        self.assertEqual(d.status()["revision"], 1)

    def test_usage_errors_exit_2(self):
        d = self.daemon()
        for args in (["frobnicate"], [], ["weight"], ["weight", "abc"], ["weight", "1", "2"], ["-o", "yaml", "status"],
                     ["--no-such-option", "status"], ["undo", "--to-revision"], ["undo", "--to-revision", "x"],
                     ["canary"], ["status", "extra"], ["canary", "version=v3", "--weight"]):
            p = d.ctl(*args)
            self.assertEqual(p.returncode, 2, "canaryctl %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr))
            self.assertTrue(p.stderr.strip(), "no usage message for %s" % args)
        self.assertEqual(d.status()["revision"], 1)

    def test_unreachable_server_exits_3(self):
        port = free_port()
        for args in (["status"], ["weight", "10"]):
            p = run_ctl(["-s", "http://127.0.0.1:%d" % port] + args, env={"PATH": os.environ.get("PATH", "")})
            self.assertEqual(p.returncode, 3, "%s against nothing exited %d" % (args, p.returncode))
            self.assertTrue(p.stderr.strip())

    def test_server_option_and_environment(self):
        d = self.daemon()
        dead = "http://127.0.0.1:%d" % free_port()
        url = "http://127.0.0.1:%d" % d.control
        base = {"PATH": os.environ.get("PATH", "")}
        p = run_ctl(["status"], env=dict(base, CANARYD_URL=url))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run_ctl(["-s", url, "status"], env=base)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run_ctl(["--server", url, "status"], env=dict(base, CANARYD_URL=dead))
        self.assertEqual(p.returncode, 0, "-s does not win over CANARYD_URL: %s" % p.stderr)
        p = run_ctl(["status"], env=dict(base, CANARYD_URL=dead))
        self.assertEqual(p.returncode, 3)

    def test_token_file_and_environment(self):
        d = self.daemon(token="ctl-token-123")
        p = d.ctl("status")
        self.assertEqual(p.returncode, 1, "no token: exit %d" % p.returncode)
        self.assertTrue(p.stderr.strip())
        p = d.ctl("status", token="wrong")
        self.assertEqual(p.returncode, 1)
        self.ok(d, "status", token="ctl-token-123")
        self.ok(d, "--token-file", d.token_file, "weight", "25")
        self.assertEqual(d.status()["canary_weight"], 25)
        wrong = self.work.file("wrong.token", "nope\n")
        p = d.ctl("--token-file", wrong, "status")
        self.assertEqual(p.returncode, 1)

    def test_missing_token_file_is_an_error(self):
        d = self.daemon(token="t")
        p = d.ctl("--token-file", os.path.join(self.work.path, "no-such-file"), "status")
        self.assertIn(p.returncode, (1, 2), "a missing token file: exit %d" % p.returncode)
        self.assertTrue(p.stderr.strip())

    def test_help_and_version(self):
        p = run_ctl(["--help"])
        self.assertEqual(p.returncode, 0)
        for word in ("status", "weight", "promote", "rollback", "undo", "history", "canary", "--cause", "-o"):
            self.assertIn(word, p.stdout)
        p = run_ctl(["--version"])
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"canaryctl \d+\.\d+\.\d+")


if __name__ == "__main__":
    support.main()
