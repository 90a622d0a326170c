#!/usr/bin/env python3
"""Who may use the control API (issue 9): a non-loopback control.address needs a token unless
control.allow_unauthenticated says otherwise; a reload never drops the token; the token file is
private (group access is fine); `canaryd -t` opens every file the config names; every shipped example
passes `-t` on a fresh checkout."""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Helpers(IntegrationTest):
    def expose_control(self, d, extra=""):
        """Rewrites d's config with control on 0.0.0.0 (plus `extra` lines under control:)."""
        text = d.config_text().replace("  address: %s:%d\n" % (support.LOOPBACK, d.control),
                                       "  address: 0.0.0.0:%d\n%s" % (d.control, extra))
        with open(d.config, "w") as f:
            f.write(text)

    def check(self, d):
        return d.check_config()


class UnauthenticatedControlTest(Helpers):
    def test_a_reachable_control_port_needs_a_token(self):
        d = self.canaryd(endpoints=[(1, "v1")], start=False)
        self.expose_control(d)
        line = d.startup_error()
        self.assertTrue(line.startswith("%s: control.address: 0.0.0.0:%d is not a loopback address"
                                        % (d.config, d.control)), line)
        self.assertFalse(support.port_open(d.listen), "the data port was bound before the refusal")
        p = self.check(d)
        self.assertEqual(p.returncode, 1)
        self.assertIn("%s: control.address: " % d.config, p.stderr)

    def test_the_opt_out_serves_the_api_to_anyone(self):
        d = self.canaryd(endpoints=[(1, "v1")], start=False)
        self.expose_control(d, "  allow_unauthenticated: true\n")
        self.assertEqual(self.check(d).returncode, 0)
        d.start()
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 5})[0], 200)

    def test_a_token_is_enough(self):
        d = self.canaryd(endpoints=[(1, "v1")], start=False, token="t0k")
        self.expose_control(d)
        d.start()
        self.assertEqual(d.api("GET", "/api/status", token="nope")[0], 401)
        self.assertEqual(d.api("GET", "/api/status")[0], 200)


class TokenReloadTest(Helpers):
    def test_a_reload_never_turns_the_token_off(self):
        d = self.canaryd(endpoints=[(1, "v1")], token="secret")
        token_file = d.token_file
        d.token_file = None
        d.write_config()
        offset = len(d.log())
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reload failed: .*control\.token_file: a reload never turns the token requirement off",
                   after=offset)
        self.assertEqual(d.api("GET", "/api/status", token="")[0], 401)
        self.assertEqual(d.api("GET", "/api/status", token="secret")[0], 200)
        # a new token is fine
        with open(token_file, "w") as f:
            f.write("rotated\n")
        d.token_file = token_file
        d.write_config()
        offset = len(d.log())
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reloaded", after=offset)
        self.assertEqual(d.api("GET", "/api/status", token="secret")[0], 401)
        self.assertEqual(d.api("GET", "/api/status", token="rotated")[0], 200)


class TokenFileTest(Helpers):
    def test_modes_group_access_symlinks_and_empty_files(self):
        d = self.canaryd(endpoints=[(1, "v1")], start=False, token="t")
        for mode, ok in ((0o600, True), (0o440, True), (0o640, True), (0o644, False), (0o606, False),
                         (0o602, False)):
            with self.subTest(mode=oct(mode)):
                os.chmod(d.token_file, mode)
                p = self.check(d)
                self.assertEqual(p.returncode, 0 if ok else 1, p.stderr)
                if not ok:
                    self.assertIn("%s: control.token_file: %s: " % (d.config, d.token_file), p.stderr)
                    self.assertIn("by everyone (mode 0%o); chmod o-rw it" % mode, p.stderr)
        # a Kubernetes Secret volume: the file is a symlink to a 0440 file
        target = os.path.join(self.work.path, "secret-data-token")
        with open(target, "w") as f:
            f.write("via-link\n")
        os.chmod(target, 0o440)
        os.remove(d.token_file)
        os.symlink(target, d.token_file)
        self.assertEqual(self.check(d).returncode, 0)
        d.start()
        self.assertEqual(d.api("GET", "/api/status", token="via-link")[0], 200)
        d.stop()
        # an empty token file
        os.remove(d.token_file)
        with open(d.token_file, "w") as f:
            f.write("\n")
        os.chmod(d.token_file, 0o600)
        p = self.check(d)
        self.assertEqual(p.returncode, 1)
        self.assertIn("control.token_file: %s: the file is empty" % d.token_file, p.stderr)
        self.assertIn("the file is empty", d.startup_error())

    def test_check_opens_the_token_file_and_the_state_directory(self):
        d = self.canaryd(endpoints=[(1, "v1")], start=False, token="t",
                         state_file=os.path.join(self.work.path, "no-such-dir", "state.json"))
        os.remove(d.token_file)
        p = self.check(d)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(sorted(p.stderr.strip().splitlines()), sorted([
            "%s: control.token_file: %s: No such file or directory" % (d.config, d.token_file),
            "%s: state_file: cannot create a file in %s: No such file or directory"
            % (d.config, os.path.join(self.work.path, "no-such-dir")),
        ]))
        if os.geteuid() != 0:   # root writes anywhere
            ro = os.path.join(self.work.path, "read-only")
            os.mkdir(ro, 0o555)
            d.state_file = os.path.join(ro, "state.json")
            d.write_config()
            p = self.check(d)
            self.assertIn("state_file: cannot create a file in %s: Permission denied" % ro, p.stderr)


class ExamplesTest(Helpers):
    def test_every_example_passes_check_from_a_fresh_directory(self):
        examples = sorted(glob.glob(os.path.join(ROOT, "config", "examples", "*.yaml")))
        self.assertTrue(examples)
        for path in examples:
            with self.subTest(example=os.path.basename(path)):
                cwd = tempfile.mkdtemp(prefix="canaryd-example-")
                self.addCleanup(shutil.rmtree, cwd, True)
                p = support.checked_for_sanitizer_report(subprocess.run(
                    [os.path.join(support.BIN_DIR, "canaryd"), "-t", "-c", path], cwd=cwd,
                    capture_output=True, text=True, timeout=20))
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(os.listdir(cwd), [], "-t left files behind")


if __name__ == "__main__":
    support.main()
