#!/usr/bin/env python3
"""canaryctl against a real canaryd (contract section 4): every command and option, tables and
-o json, --cause and the recorded command line, token and server options, exit codes 0/1/2/3; the
kubectl habits: COMMAND --help, completion bash|zsh (sourced by the real shells), version (client and
server), history --revision N, and the token hint under a 401."""

import json
import os
import re
import shutil
import subprocess
import sys
import unittest

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

    # ------------------------------------------------------------ kubectl habits

    COMMANDS = ("status", "history", "weight", "promote", "rollback", "undo", "canary", "version", "completion",
                "route", "wait", "rollout start", "rollout status", "rollout pause", "rollout resume",
                "rollout abort", "rollout promote")

    def test_every_command_has_its_help(self):
        for command in self.COMMANDS:
            with self.subTest(command=command):
                for flag in ("--help", "-h"):
                    p = run_ctl(command.split() + [flag], env={"CANARYD_URL": "http://127.0.0.1:1"})
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertTrue(p.stdout.startswith("usage: canaryctl " + command), p.stdout)
                    self.assertNotIn("\ncommands:\n", p.stdout, "the whole help instead of the command's")
                self.assertEqual(run_ctl(["help"] + command.split()).stdout, p.stdout)

    def completion_script(self, shell):
        p = run_ctl(["completion", shell])
        self.assertEqual(p.returncode, 0, p.stderr)
        path = self.work.file("canaryctl." + shell, p.stdout)
        return path

    def bash_complete(self, script, *words):
        """What bash completes for the command line `words` (the last one being completed), with the
        script sourced as a user's ~/.bashrc would: the function `complete -p canaryctl` names is called
        with COMP_WORDS/COMP_CWORD set as readline sets them."""
        quoted = " ".join("'%s'" % w for w in words)
        program = ('source "$1"; set -- $(complete -p canaryctl); while [ $# -gt 0 ] && [ "$1" != -F ]; do shift; '
                   'done; [ "$2" = _canaryctl ] || exit 9; COMP_WORDS=(%s); COMP_CWORD=%d; COMPREPLY=(); "$2"; '
                   'printf "%%s\n" "${COMPREPLY[@]}"' % (quoted, len(words) - 1))
        r = subprocess.run(["bash", "--norc", "-c", program, "bash", script], capture_output=True, text=True,
                           timeout=10)
        self.assertNotEqual(r.returncode, 9, "the script registers no completion function for canaryctl")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return sorted(w for w in r.stdout.split("\n") if w)

    def test_bash_completion(self):
        script = self.completion_script("bash")
        # compgen sees what bash would offer for `canaryctl ro<TAB>`
        self.assertEqual(self.bash_complete(script, "canaryctl", "ro"), ["rollback", "rollout", "route"])
        self.assertIn("status", self.bash_complete(script, "canaryctl", ""))
        self.assertEqual(self.bash_complete(script, "canaryctl", "rollout", "p"), ["pause", "promote"])
        self.assertEqual(self.bash_complete(script, "canaryctl", "-s", "http://x:1", "rollout", "res"), ["resume"])
        self.assertEqual(self.bash_complete(script, "canaryctl", "-o", ""), ["json", "table"])
        self.assertEqual(self.bash_complete(script, "canaryctl", "status", "--w"), ["--watch", "--weight"])
        self.assertEqual(self.bash_complete(script, "canaryctl", "wait", "--for", "h"), ["healthy"])
        self.assertEqual(self.bash_complete(script, "canaryctl", "completion", ""), ["bash", "zsh"])
        self.assertEqual(self.bash_complete(script, "canaryctl", "weight", ""), [])
        self.assertEqual(self.bash_complete(script, "canaryctl", "history", "--rev"), ["--revision"])

    def test_zsh_completion(self):
        zsh = shutil.which("zsh")
        if not zsh:
            # Not in CI's package list: the script is then only checked by the unit tests' word lists.
            raise unittest.SkipTest("zsh is not installed (Debian: zsh)")
        script = self.completion_script("zsh")
        r = subprocess.run([zsh, "-n", script], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        # sourced after compinit, as a ~/.zshrc line does: it registers _canaryctl for canaryctl
        home = self.work.path
        r = subprocess.run([zsh, "-f", "-c", 'autoload -U compinit; compinit -u -d "$2/zcompdump"; source "$1"; '
                                             'print -r -- "${_comps[canaryctl]}"; whence -w _canaryctl',
                            "zsh", script, home], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["_canaryctl", "_canaryctl:", "function"])

    def test_version_prints_client_and_server(self):
        d = self.daemon(token="v-token")      # the version is read without the token
        server = subprocess.run([d.bin, "--version"], capture_output=True, text=True, timeout=10).stdout.split()[-1]
        client = run_ctl(["--version"]).stdout.split()[-1]
        p = d.ctl("version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "canaryctl %s\ncanaryd %s (http://127.0.0.1:%d)\n" % (client, server, d.control))
        p = d.ctl("-o", "json", "version", token="v-token")
        self.assertEqual(json.loads(p.stdout), {"client": client, "server": server})
        p = d.ctl("version", "--client")
        self.assertEqual(p.stdout, "canaryctl %s\n" % client)
        # no server: the client's version, then exit 3 as for every unreachable server
        p = run_ctl(["-s", "http://127.0.0.1:%d" % free_port(), "version"])
        self.assertEqual(p.returncode, 3)
        self.assertEqual(p.stdout, "canaryctl %s\n" % client)
        self.assertIn("cannot reach canaryd", p.stderr)

    def test_history_revision_in_full(self):
        d = self.daemon(canary_weight=10)
        cause = "a cause long enough to be worth reading in full: " + "x" * 200
        self.ok(d, "weight", "20", "--cause", cause)
        self.ok(d, "weight", "25")
        out = self.ok(d, "history", "--revision", "2")
        fields = dict(re.match(r"^([a-z -]+):\s+(.*)$", line).groups() for line in out.splitlines())
        server = [r for r in json.loads(http_request(d.control, "GET", "/api/history").body)["revisions"]
                  if r["revision"] == 2][0]
        self.assertEqual(fields["revision"], "2")
        self.assertEqual(fields["time"], server["time"])
        self.assertEqual(fields["canary weight"], "20%")
        self.assertEqual(fields["stable"], "name=nginx,version=v1")
        self.assertEqual(fields["canary"], "name=nginx,version=v2")
        self.assertEqual(fields["change-cause"], cause)
        self.assertEqual(fields["changes"], "since revision 1: canary weight 10% -> 20%")
        self.assertEqual(json.loads(self.ok(d, "-o", "json", "history", "--revision", "2")), server)
        # a revision the history does not hold: a clear error, exit 1 (as the server's 404 for undo)
        p = d.ctl("history", "--revision", "99")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertIn("revision 99 is not in the history (it keeps revisions 1 to 3", p.stderr)
        self.assertEqual(d.ctl("history", "--revision", "0").returncode, 2)

    def test_unauthorized_hints_at_the_token(self):
        d = self.daemon(token="hint-token")
        for args in (("status",), ("weight", "5"), ("-o", "json", "status"), ("wait", "--for", "healthy")):
            with self.subTest(args=args):
                p = d.ctl(*args)
                self.assertEqual(p.returncode, 1)
                self.assertIn("hint: ", p.stderr)
                self.assertIn("--token-file", p.stderr)
                self.assertIn("CANARYD_TOKEN", p.stderr)
        p = d.ctl("status", token="wrong")
        self.assertIn("refused the token sent", p.stderr)
        p = d.ctl("status", token="hint-token")
        self.assertEqual(p.returncode, 0)
        self.assertNotIn("hint", p.stderr)


if __name__ == "__main__":
    support.main()
