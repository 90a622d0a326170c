#!/usr/bin/env python3
"""canaryd benchmark: canaryd against HAProxy 2.6 and nginx, in front of real nginx upstreams.

    python3 bench/run.py [--rounds 3] [--duration 10] [--scenarios LIST] [--bin-dir build] [--threads N] [--pin]

Installs nginx, haproxy and wrk from Debian when one is missing (apt-get, as root or through sudo),
starts two nginx upstreams on 127.0.0.1 (v1 and v2, one worker each, a 612-byte and a 64 KiB file,
every response tagged `X-Version: v1|v2`), then measures, interleaved
(round 1: scenario 1: direct canaryd haproxy nginx, scenario 2: ..., round 2: ...):

    direct    wrk straight to the v1 nginx (the ceiling)
    canaryd   threads: 1, stable v1 / canary v2 at canary_weight 10
    haproxy   nbthread 1, balance roundrobin, weights 90/10, http-reuse always
    nginx     worker_processes 1, upstream weight 9/1, keepalive 512, keepalive_requests 1000000,
              proxy_http_version 1.1, proxy_set_header Connection ""

Every run starts fresh processes (upstreams and proxy), so peak RSS (VmHWM) belongs to that run only.
Per run: requests/s, p50/p99 latency (wrk --latency, from its Lua done()), CPU seconds of the proxy
process per 100k requests (utime+stime from /proc/PID/stat; nginx: master + workers), peak RSS (VmHWM of
the proxy process; nginx: the worker), the v2 share (counted by a wrk Lua script from X-Version) and the
errors (socket errors, non-2xx, bodies of the wrong length, responses without X-Version, a proxy that
died). A run with an error, or with a v2 share outside 10 % +- 1, is invalid; the table shows medians
over the valid runs of each (scenario, proxy). The idle scenario opens N keep-alive connections (each
sends one request and reads the response, then stays open) and reports the RSS growth per connection.

Two pairs of canaryd-only scenarios (the other proxies have no counterpart), each pair run back to back
inside every round, with its own table and target:

    612b-c64-ep4 / -ep1000      4 vs 1,000 endpoints per set (127.0.X.Y addresses, the upstream nginx
                                listen on every address); an uncounted 3 s wrk warm-up fills the pools
                                first; target: req/s ep1000 / ep4 >= 0.95
    612b-c64-steady / -weights  -weights: a thread sends 100 PUT /api/weight per second (9.99 and 10.01
                                in turn, one keep-alive connection) during the whole wrk run; every
                                call must answer 200; target: req/s weights / steady >= 0.95

--threads N runs every proxy with N threads (canaryd `threads: N`, HAProxy `nbthread N`, nginx
`worker_processes N`; the upstream nginx keep one worker each). --pin binds the proxy to N cores and wrk,
h2load, the upstreams and the harness to the others, when the machine has more than N; otherwise nothing is
pinned, and the report says which it was. Without --pin nothing is pinned (2 cores are shared by wrk, the
proxy and the two upstreams).

Standard library only.
This file is the command line; the benchmark itself is the package next to it, bench/canarybench/:
scenarios (what is measured), peers (the proxies, upstreams and their configs), load, idle and
weight_changer (the measurements), procfs (CPU and RSS from /proc), runs (one run, its validity, the
rounds), report (the Markdown), environment and common.
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from canarybench import common, placement
from canarybench.common import log, write
from canarybench.environment import ensure_packages, find_exe, first_line, machine_info, raise_nofile, snapshot_binary
from canarybench.peers import ALL_PROXIES, PROXIES, write_bodies
from canarybench.report import report
from canarybench.runs import run_rounds
from canarybench.scenarios import SCENARIOS, proxies_of

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3); medians over them")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="comma-separated, from: %s (default: all)" % ", ".join(SCENARIOS))
    ap.add_argument("--proxies", default=",".join(PROXIES), help="comma-separated, from: %s (default: all but "
                    "canaryd-uring)" % ", ".join(ALL_PROXIES))
    ap.add_argument("--bin-dir", default="build", help="directory holding canaryd (default build)")
    ap.add_argument("--uring-bin-dir", default="build-uring", help="directory holding the canaryd built with "
                    "-DCANARYD_IO_URING=ON, measured as the proxy canaryd-uring (default build-uring)")
    ap.add_argument("--idle-connections", type=int, default=10000, help="idle scenario size (default 10000)")
    ap.add_argument("--idle-hold", type=float, default=2.0, help="seconds the idle connections are held "
                    "before RSS is read (default 2)")
    ap.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"),
                    help="Markdown report (default bench/RESULTS.md; '-' for stdout only)")
    ap.add_argument("--workdir", help="keep configs, logs, wrk outputs and results.json here "
                    "(default: a temporary directory, removed when every run was valid)")
    ap.add_argument("--max-foreign-cpu", type=float, default=0.25,
                    help="a run during which other processes of the machine used more than this many cores "
                    "is disturbed: invalid, and run again (default 0.25)")
    ap.add_argument("--retries", type=int, default=2, help="runs again a disturbed run up to this many times "
                    "(default 2)")
    ap.add_argument("--quiet-wait", type=float, default=120.0, help="before each run, wait up to this many "
                    "seconds for other processes to use less than --max-foreign-cpu (default 120)")
    ap.add_argument("--threads", type=int, default=1, help="threads of every proxy: canaryd threads, HAProxy "
                    "nbthread, nginx worker_processes (default 1)")
    ap.add_argument("--pin", action="store_true", help="pin the proxy to --threads cores and wrk/h2load and the "
                    "upstreams to the others, when the machine has a core left over (else nothing is pinned)")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install missing tools")
    ap.add_argument("--report-only", metavar="RESULTS_JSON", help="measure nothing: render the report again "
                    "from the results.json of an earlier run (with that run's settings) to --output")
    return ap, ap.parse_args()


def report_again(args):
    """--report-only: the report of an earlier run's results.json, with that run's settings."""
    with open(args.report_only) as f:
        saved = json.load(f)
    for k, v in saved.get("args", {}).items():
        if k not in ("output", "report_only"):
            setattr(args, k, v)
    text = report(args, saved["info"], saved["results"], saved.get("discarded", []),
                  args.scenarios.split(","), args.proxies.split(","),
                  datetime.datetime.fromisoformat(saved["started"]), saved.get("elapsed"), saved["command"])
    print(text)
    if args.output != "-":
        write(args.output, text)
    return 0


def selection(ap, args):
    """The scenarios and proxies asked for, without the canaryd-only scenarios when canaryd is not."""
    scen_names = [s for s in args.scenarios.split(",") if s]
    proxies = [p for p in args.proxies.split(",") if p]
    bad = [s for s in scen_names if s not in SCENARIOS] + [p for p in proxies if p not in ALL_PROXIES]
    if bad or args.rounds < 1 or args.duration < 1 or args.threads < 1:
        ap.error("unknown scenario/proxy %s (or rounds/duration/threads < 1)" % ", ".join(bad))
    skipped = [sn for sn in scen_names if not proxies_of(sn, proxies)]
    if skipped:
        log("bench: skipping %s (canaryd only, and canaryd is not in --proxies)" % ", ".join(skipped))
        scen_names = [sn for sn in scen_names if sn not in skipped]
    if not scen_names:
        ap.error("nothing to run")
    return scen_names, proxies


def canaryd_path(bin_dir, kind, proxies, configure=""):
    if not os.path.isabs(bin_dir) and not os.path.exists(bin_dir):
        bin_dir = os.path.join(REPO, bin_dir)
    canaryd_bin = os.path.abspath(os.path.join(bin_dir, "canaryd"))
    if kind in proxies and not os.access(canaryd_bin, os.X_OK):
        sys.exit("bench: %s not found; build it first: cmake -S . -B %s -DCMAKE_BUILD_TYPE=RelWithDebInfo%s "
                 "&& cmake --build %s -j" % (canaryd_bin, bin_dir, configure, bin_dir))
    return canaryd_bin


def prepare_tools(args):
    """nginx, haproxy, wrk and h2load present, and the descriptor limit raised for the idle scenario."""
    if not args.no_install:
        ensure_packages()
    for exe in ("nginx", "haproxy", "wrk", "h2load"):
        if not find_exe(exe):
            sys.exit("bench: %s is not installed" % exe)
    # The harness holds one socket per idle connection and a proxy two at most (HAProxy sizes for
    # client and server side): past 60,000 idle connections the default 131072 is not enough.
    common.NOFILE = max(common.NOFILE, 2 * args.idle_connections + 10000)
    common.FD_LIMIT = raise_nofile()
    common.MAXCONN = args.idle_connections + 2000
    if common.FD_LIMIT < args.idle_connections + 2000:
        sys.exit("bench: RLIMIT_NOFILE is %d (hard limit), too low for %d idle connections"
                 % (common.FD_LIMIT, args.idle_connections))


def place_processes(args):
    """--threads and --pin: the run's placement, and its sentence kept in the args for the report."""
    placement.CURRENT = placement.Placement(args.threads, args.pin)
    args.placement = placement.CURRENT.text()
    # The harness (its CPU watch, the weight changer) runs beside wrk, off the proxy's cores.
    placement.CURRENT.apply("other")
    log("bench: " + args.placement)


def machine_table(canaryd_bin, build_info, proxies):
    """The report's machine table: the machine, the tools, the binary measured and the git commit."""
    info = machine_info(canaryd_bin)
    info["canaryd binary"] = build_info
    head = first_line(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.strip()
    info["git"] = head + (" + uncommitted changes" if dirty else "")
    info["RLIMIT_NOFILE"] = str(common.FD_LIMIT)
    if "haproxy" in proxies and " 2.6." not in " " + info["haproxy"].split("version", 1)[-1]:
        log("bench: warning: the issue asks for HAProxy 2.6; found %s" % info["haproxy"])
    log("bench: " + "; ".join("%s: %s" % kv for kv in info.items()))
    return info


def main():
    ap, args = parse_args()
    if args.report_only:
        return report_again(args)
    scen_names, proxies = selection(ap, args)
    canaryd_bin = canaryd_path(args.bin_dir, "canaryd", proxies)
    uring_bin = canaryd_path(args.uring_bin_dir, "canaryd-uring", proxies, " -DCANARYD_IO_URING=ON")
    prepare_tools(args)
    place_processes(args)
    base = args.workdir or tempfile.mkdtemp(prefix="canaryd-bench-")
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o755)              # nginx workers may run as nobody
    write_bodies(os.path.join(base, "html"))
    # measure a copy: a rebuild of --bin-dir during the benchmark must not change the binary half-way
    canaryd_bin, build_info = snapshot_binary(canaryd_bin, base, REPO)
    info = machine_table(canaryd_bin, build_info, proxies)
    canaryd_bins = {"canaryd": canaryd_bin}
    if "canaryd-uring" in proxies:
        canaryd_bins["canaryd-uring"], info["canaryd-uring binary"] = snapshot_binary(uring_bin, base, REPO,
                                                                                      "canaryd-uring")

    command = " ".join(["python3", "bench/run.py"] + [shlex.quote(a) for a in sys.argv[1:]])
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    results, discarded = run_rounds(args, scen_names, proxies, canaryd_bins, base)
    elapsed = time.monotonic() - t0
    with open(os.path.join(base, "results.json"), "w") as f:
        json.dump({"info": info, "command": command, "started": started.isoformat(), "elapsed": elapsed,
                   "args": vars(args), "results": results, "discarded": discarded}, f, indent=1)
    text = report(args, info, results, discarded, scen_names, proxies, started, elapsed, command)
    print(text)
    if args.output != "-":
        write(args.output, text)
        log("bench: wrote %s" % args.output)
    all_valid = results and all(r["valid"] for r in results)
    if args.workdir or not all_valid:
        log("bench: configs, logs, wrk outputs and results.json in %s" % base)
    else:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if all_valid else 1


if __name__ == "__main__":
    sys.exit(main())
