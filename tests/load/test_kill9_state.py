#!/usr/bin/env python3
"""Load scenario 6: 20 rounds of kill -9 at a random moment during a stream of API changes.

Each round starts canaryd on the same state file; a thread sends PUT /api/weight back to back with
values rising by 0.01 from the weight in force (the stream of changes is the load). After 0.2-1.5 s
(seeded random: CANARYD_LOAD_SEED) canaryd gets SIGKILL; then it is started again on the same config
and state file.

Pass for each round: canaryd starts (the state file is readable; a corrupt one would make it exit 1),
and the last change acknowledged with 200 before the kill is present: canary_weight >= its value and
revision >= its revision -- in fact exactly that change, or the one that was in flight at the kill.
Also: every change that got an answer answered 200, and the final history is a run of consecutive
revisions.
"""

import glob
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadsupport  # noqa: E402
from loadsupport import LoadTest, report  # noqa: E402

ROUNDS = 20
SEED = int(os.environ.get("CANARYD_LOAD_SEED", "20261127"))


class Kill9DuringChanges(LoadTest):
    def test_kill9_rounds_keep_acknowledged_changes(self):
        rng = random.Random(SEED)
        d = self.canaryd("kill9", canary_weight=0, history_limit=50)
        rounds = []
        problems = []
        total_acked = 0
        total_non200 = 0
        known = (d.status()["canary_weight"], d.status()["revision"])   # the last state we know was applied
        for rnd in range(ROUNDS):
            if rnd > 0:
                try:
                    d.start(timeout=10)
                except (AssertionError, RuntimeError) as e:
                    problems.append("round %d: canaryd did not start after kill -9: %s" % (rnd, e))
                    break
                st = d.status()
                w, rev = known
                in_flight = rounds[-1]["in_flight"]
                # Exactly the last acknowledged change, or the one in flight at the kill after it.
                allowed = {(w, rev)}
                if in_flight is not None:
                    allowed.add((in_flight, rev + 1))
                if st["canary_weight"] < w or st["revision"] < rev:
                    problems.append("round %d: after restart weight=%s revision=%s, but the last acknowledged "
                                    "change before the kill was weight=%s revision=%s"
                                    % (rnd, st["canary_weight"], st["revision"], w, rev))
                elif (st["canary_weight"], st["revision"]) not in allowed:
                    problems.append("round %d: after restart weight=%s revision=%s, expected one of %r"
                                    % (rnd, st["canary_weight"], st["revision"], sorted(allowed)))
                known = (st["canary_weight"], st["revision"])
            stop = threading.Event()
            info = {"last_ack": None, "acked": 0, "non200": [], "in_flight": None, "kill_at": None}
            # Rising values within the round, all above the weight in force at its start (0.01 steps;
            # the round stops at 100).
            base = int(round(known[0] * 100))

            def stream(info=info, base=base):
                deadline = time.monotonic() + 5
                step = 0
                while not stop.is_set() and time.monotonic() < deadline and base + step < 10000:
                    step += 1
                    w = (base + step) / 100.0
                    info["in_flight"] = w
                    try:
                        s, doc = d.api("PUT", "/api/weight", {"canary_weight": w, "cause": "kill9 round %d" % rnd})
                    except OSError:
                        return                  # the call in flight when the process died
                    if s == 200:
                        info["last_ack"] = (doc["canary_weight"], doc["revision"])
                        info["acked"] += 1
                        info["in_flight"] = None
                    else:
                        info["non200"].append((w, s, doc))
                        info["in_flight"] = None
                        return

            if base >= 10000:                   # start again from 0 once 100 % is reached
                s, doc = d.api("PUT", "/api/weight", {"canary_weight": 0, "cause": "kill9 reset"})
                self.assertEqual(s, 200, doc)
                known = (doc["canary_weight"], doc["revision"])
                base = 0
            t = threading.Thread(target=stream, kwargs={"info": info, "base": base}, daemon=True)
            t.start()
            info["kill_at"] = rng.uniform(0.2, 1.5)
            time.sleep(info["kill_at"])
            os.kill(d.pid, signal.SIGKILL)
            d.proc.wait(5)
            stop.set()
            t.join(10)
            if info["last_ack"] is not None:
                known = info["last_ack"]
            rounds.append(info)
            total_acked += info["acked"]
            total_non200 += len(info["non200"])
            if info["non200"]:
                problems.append("round %d: changes not answered 200: %r" % (rnd, info["non200"][:3]))
        # Final start: the history must be a run of consecutive revisions.
        final = None
        if len(rounds) == ROUNDS:
            try:
                if not d.alive():
                    d.start(timeout=10)
                final = d.status()
                hist = [h["revision"] for h in d.history()]
                if hist != list(range(hist[0], hist[0] + len(hist))):
                    problems.append("history revisions not consecutive: %r" % hist)
            except (AssertionError, RuntimeError) as e:
                problems.append("final start failed: %s" % e)
        leftovers = glob.glob(d.state_file + ".tmp*")
        # requests: the API calls that got an answer (the one in flight at each kill gets none).
        report("6-kill9-state", requests=total_acked + total_non200, rounds=len(rounds), changes_acked=total_acked,
               changes_not_200=total_non200, errors=len(problems), final_revision=final and final["revision"],
               final_weight=final and final["canary_weight"], leftover_tmp_files=len(leftovers),
               result="PASS" if not problems and len(rounds) == ROUNDS else "FAIL")
        for p in problems:
            print("  " + p)
        self.assertEqual(problems, [])
        self.assertEqual(len(rounds), ROUNDS)
        self.assertGreater(total_acked, ROUNDS, "too few acknowledged changes to mean anything")


if __name__ == "__main__":
    loadsupport.main()
