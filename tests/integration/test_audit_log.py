#!/usr/bin/env python3
"""The audit log (issue 11, contract section 7): every control call that changes or fails to change the
state leaves one line in canaryd's log with the caller's address, the call, the status, the revisions
before and after and the cause; reads leave none; failed authentication is logged at most once a
second per source. And /metrics names the build: canaryd_build_info{version} 1."""

import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest  # noqa: E402

AUDIT = re.compile(r'^\S+ canaryd: audit remote=(?P<remote>\S+) call="(?P<call>[^"]*)" status=(?P<status>\d+) '
                   r'revision=(?P<before>\d+)->(?P<after>\d+) cause="(?P<cause>(?:[^"\\]|\\.)*)"'
                   r'(?: error="(?P<error>(?:[^"\\]|\\.)*)")?(?: suppressed=(?P<suppressed>\d+))?$')


def audit_lines(d):
    lines = [line for line in d.log().splitlines() if " canaryd: audit " in line]
    parsed = [AUDIT.match(line) for line in lines]
    for line, m in zip(lines, parsed):
        assert m, "an audit line out of format: %r" % line
    return [m.groupdict() for m in parsed]


class AuditLogTest(IntegrationTest):
    NGINX = True

    def test_changes_and_refusals_leave_a_line_and_reads_none(self):
        d = self.canaryd(canary_weight=0)
        rev = d.status()["revision"]
        d.api("GET", "/api/history")
        self.assertEqual(audit_lines(d), [], "reads leave no audit line")

        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 10, "cause": "ramp \"one\""})[0], 200)
        support.wait_until(lambda: len(audit_lines(d)) == 1, message="the PUT's audit line")
        line = audit_lines(d)[0]
        self.assertEqual((line["remote"], line["call"], line["status"]), ("127.0.0.1", "PUT /api/weight", "200"))
        self.assertEqual((int(line["before"]), int(line["after"])), (rev, rev + 1))
        self.assertEqual(line["cause"], 'ramp \\"one\\"')
        self.assertIsNone(line["error"])

        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 150})[0], 400)
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 20, "if_revision": rev,
                                                      "cause": "stale script"})[0], 409)
        # The same weight again: 200, unchanged, no new revision.
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 10})[0], 200)
        support.wait_until(lambda: len(audit_lines(d)) == 4, message="four audit lines")
        bad, conflict, same = audit_lines(d)[1:]
        self.assertEqual((bad["call"], bad["status"], bad["before"], bad["after"]),
                         ("PUT /api/weight", "400", str(rev + 1), str(rev + 1)))
        self.assertTrue(bad["error"], bad)
        self.assertEqual((conflict["status"], conflict["before"], conflict["after"], conflict["cause"]),
                         ("409", str(rev + 1), str(rev + 1), "stale script"))
        self.assertIn("if_revision", conflict["error"])
        self.assertEqual((same["status"], same["before"], same["after"]), ("200", str(rev + 1), str(rev + 1)))

        d.api("GET", "/api/status")
        d.metrics()
        support.http_request(d.control, "GET", "/healthz")
        time.sleep(0.2)
        self.assertEqual(len(audit_lines(d)), 4, "reads and probes leave no audit line")

    def test_failed_authentication_is_logged_at_most_once_a_second_per_source(self):
        d = self.canaryd(token="s3cret")
        start = time.monotonic()
        answered = 0
        while time.monotonic() - start < 2.5:
            self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 5}, token="wrong")[0], 401)
            answered += 1
        elapsed = time.monotonic() - start
        time.sleep(0.2)
        lines = audit_lines(d)
        self.assertGreater(answered, 10)
        self.assertGreaterEqual(len(lines), 2)
        self.assertLessEqual(len(lines), int(elapsed) + 1, lines)
        for line in lines:
            self.assertEqual((line["remote"], line["call"], line["status"]), ("127.0.0.1", "PUT /api/weight", "401"))
        # The lines after the first count the ones left out since the line before (those after the last
        # line wait for the next one).
        self.assertIsNone(lines[0]["suppressed"])
        for line in lines[1:]:
            self.assertGreater(int(line["suppressed"] or 0), 0, line)
        self.assertLessEqual(len(lines) + sum(int(line["suppressed"] or 0) for line in lines), answered)
        # A good token changes the state and is logged at once.
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 5})[0], 200)
        support.wait_until(lambda: audit_lines(d)[-1]["status"] == "200", message="the change's audit line")


class BuildInfoTest(IntegrationTest):
    NGINX = True

    def test_metrics_name_the_version_that_canaryd_prints(self):
        d = self.canaryd()
        printed = subprocess.run([d.bin, "--version"], capture_output=True, text=True, timeout=10).stdout
        version = printed.split()[1]
        text = support.http_request(d.control, "GET", "/metrics").body.decode()
        self.assertIn('canaryd_build_info{version="%s"} 1' % version, text)
        self.assertIn("# TYPE canaryd_build_info gauge", text)
        promtool = shutil.which("promtool")
        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    support.main()
