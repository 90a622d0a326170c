#!/usr/bin/env python3
"""What the access log costs: req/s of canaryd without and with `access_log: {path: FILE}`, 612 B,
64 keep-alive connections, one worker, interleaved rounds.

    python3 bench/access_log_cost.py [--rounds 5] [--duration 10] [--bin-dir build]

Both runs send the same requests (wrk with run.py's counting script); only canaryd's config differs.
The "on" run writes every line to a file in a temporary directory, and the script checks afterwards
that the file holds one line per answered request less the lines canaryd counted as dropped
(canaryd_access_log_dropped_total). Prints both req/s per round, the medians and on / off (the issue's
target: at least 0.95, i.e. the access log costs under 5 %). Instructions per request:
`python3 bench/callgrind.py` and `python3 bench/callgrind.py --access-log`.
"""

import argparse
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from canarybench import ab, common  # noqa: E402
from canarybench.environment import free_port  # noqa: E402
from canarybench.load import run_wrk, wrk_errors  # noqa: E402
from canarybench.peers import start_proxy  # noqa: E402


def dropped(control_port):
    text = urllib.request.urlopen("http://%s:%d/metrics" % (common.LOOPBACK, control_port), timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith("canaryd_access_log_dropped_total "):
            return int(float(line.split()[1]))
    raise RuntimeError("no canaryd_access_log_dropped_total in /metrics")


def run(workdir, canaryd_bin, up1, up2, log_path, duration, tag):
    port = free_port()
    extra = "access_log: {path: %s}\n" % log_path if log_path else ""
    srv = start_proxy("canaryd", workdir, port, up1, up2, canaryd_bin, extra=extra)
    try:
        srv.wait_ready("/612b")
        f, err = run_wrk(workdir, tag, port, "/612b", 612, 64, False, duration)
        lost = dropped(srv.control_port)
    finally:
        srv.stop()
    if err:
        raise RuntimeError(err)
    return f, lost


def count_lines(path):
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--bin-dir", default="build")
    args = ap.parse_args()
    canaryd_bin, base, html = ab.prepare(args.bin_dir, "canaryd-access-log-")
    results = {"off": [], "on": []}
    ok = True
    (p1, p2), ups = ab.start_upstreams(base, html)
    try:
        for rnd in range(1, args.rounds + 1):
            for mode in ("off", "on"):
                log_path = os.path.join(base, "access-%d.log" % rnd) if mode == "on" else ""
                f, lost = run(base, canaryd_bin, p1, p2, log_path, args.duration, "%s-%d" % (mode, rnd))
                rps = f["requests"] / (f["duration_us"] / 1e6)
                errors = sum(wrk_errors(f).values())
                note = ""
                if log_path:
                    # wait_ready's probe is logged too; wrk may count a request it cut off at the end.
                    lines = count_lines(log_path)
                    note = "  lines %d, dropped %d" % (lines, lost)
                    if abs(lines + lost - 1 - f["requests"]) > 64:
                        note += "  LINES MISSING"
                        ok = False
                    os.remove(log_path)
                ok = ok and errors == 0
                results[mode].append(rps)
                print("round %d access log %-3s %9.0f req/s  errors %d%s" % (rnd, mode, rps, errors, note), flush=True)
    finally:
        for u in ups:
            u.stop()
    print(ab.compare(results, "off", "on", 0.95))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
