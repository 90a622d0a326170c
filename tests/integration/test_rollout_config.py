#!/usr/bin/env python3
"""The rollout plan in the config and the rollout record in the state file (contract section 7), with the
real binaries: `canaryd -t` accepts the contract's `rollout:` map and names the field of each mistake
(`rollout.steps[2].pause`, `rollout.analysis.alpha`); a bad plan on SIGHUP is a failed reload that keeps
serving; a state file whose revisions carry a rollout record loads at start-up, and the record travels
on to the next revision that canaryd writes."""

import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, run_canaryd  # noqa: E402

PLAN = """rollout:
  steps:
    - {weight: 5, pause: 2m}
    - {weight: 25, pause: manual}
    - {weight: 50, pause: 5m}
    - {promote: true}
  analysis:
    interval: 10s
    window: 1m
    min_requests: 50
    max_error_rate: 1
    max_error_ratio: 2
    alpha: 0.01
    max_p99_ratio: 1.5
    failure_limit: 2
"""


def record(phase="completed", step=2):
    """A rollout record as the state file holds it."""
    return {"plan": {"steps": [{"weight": 33.33, "pause": "2m"}, {"promote": True}],
                     "analysis": {"interval": "10s", "window": "1m", "min_requests": 50, "max_error_rate": 1.0,
                                  "max_error_ratio": 2.0, "alpha": 0.01, "max_p99_ratio": 1.5, "failure_limit": 2}},
            "phase": phase, "step": step, "pause_until": "2026-12-05T10:02:00.250Z", "reason": "promoted",
            "driver": "replica-a", "started_revision": 2}


class RolloutConfigCheckTest(IntegrationTest):
    def check(self, extra):
        d = support.Canaryd(self.work.path, "check", [(18081, "v1"), (18082, "v2")], extra=extra)
        return d.config, run_canaryd(["-t", "-c", d.config])

    def test_the_contracts_plan_is_valid(self):
        _, p = self.check(PLAN)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "")

    def test_each_mistake_names_its_field(self):
        bad = (PLAN.replace("{weight: 50, pause: 5m}", "{weight: 50, pause: soon}")
                   .replace("alpha: 0.01", "alpha: high")
                   .replace("{weight: 5, pause: 2m}", "{weight: 10.125, pause: 2m}"))
        path, p = self.check(bad)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = [line for line in p.stderr.splitlines() if line.strip()]
        fields = [re.match(re.escape(path) + r": ([A-Za-z0-9_.\[\]]+): ", line) for line in lines]
        self.assertTrue(all(fields), lines)
        self.assertEqual(sorted(m.group(1) for m in fields),
                         ["rollout.analysis.alpha", "rollout.steps[0].weight", "rollout.steps[2].pause"], lines)

    def test_rules_between_fields_name_the_step(self):
        path, p = self.check("rollout:\n  steps: [{promote: true}, {weight: 5}]\n")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr.strip(), path + ": rollout.steps[0]: promote must be the last step")


class RolloutConfigReloadTest(IntegrationTest):
    def test_a_bad_plan_fails_the_reload_and_canaryd_keeps_serving(self):
        d = self.canaryd(endpoints=[(support.free_port(), "v1")], extra=PLAN)
        offset = len(d.log())
        d.write_config(extra=PLAN.replace("alpha: 0.01", "alpha: 2"))
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reload failed", after=offset)
        self.assertIn("rollout.analysis.alpha: must be between 0 and 1", d.log()[offset:])
        self.assertTrue(d.alive())
        self.assertEqual(d.api("GET", "/api/status")[0], 200)


class RolloutRecordStateFileTest(IntegrationTest):
    def state_file(self, rollout):
        revisions = [
            {"revision": 1, "time": "2026-12-05T09:00:00Z", "stable": "version=v1", "canary": "version=v2",
             "canary_weight_bp": 0, "cause": "initial"},
            {"revision": 2, "time": "2026-12-05T10:00:00Z", "stable": "version=v1", "canary": "version=v2",
             "canary_weight_bp": 3333, "cause": "rollout step 1/2: weight 33.33", "rollout": rollout},
        ]
        path = os.path.join(self.work.path, self.id().rsplit(".", 1)[-1] + ".state.json")
        with open(path, "w") as f:
            json.dump({"format": 1, "history_limit": 10, "revisions": revisions}, f)
        return path

    def test_a_record_in_the_state_file_loads_and_travels_to_the_next_revision(self):
        path = self.state_file(record())
        d = self.canaryd(endpoints=[(support.free_port(), "v1"), (support.free_port(), "v2")], state_file=path)
        st = d.status()
        self.assertEqual((st["revision"], st["canary_weight"]), (2, 33.33))
        # The rollout is over (completed), so a manual weight is allowed; the new revision carries the
        # record forward, as every revision after a rollout does.
        s, doc = d.api("PUT", "/api/weight", {"canary_weight": 10})
        self.assertEqual(s, 200, doc)
        with open(path) as f:
            saved = json.load(f)
        self.assertEqual([r["revision"] for r in saved["revisions"]], [1, 2, 3])
        self.assertNotIn("rollout", saved["revisions"][0])
        self.assertEqual(saved["revisions"][2]["rollout"], record())
        self.assertEqual(saved["revisions"][2]["canary_weight_bp"], 1000)

    def test_a_corrupt_record_is_a_start_up_error_naming_it(self):
        path = self.state_file(record(step=3))  # the plan has 2 steps
        d = self.canaryd(endpoints=[(support.free_port(), "v1")], state_file=path, start=False)
        line = d.startup_error()
        self.assertIn("revisions[1].rollout.step: must be an integer from 1 to 2", line)


if __name__ == "__main__":
    support.main()
