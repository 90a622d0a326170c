#!/usr/bin/env python3
"""Renders the panels of deploy/grafana/canaryd.json from a real run, for the README's screenshot
(docs/img/dashboard.png). Grafana is not in Debian, so this script plays Prometheus and Grafana: it runs
the built canaryd with two real nginx upstreams (stable v1, canary v2) under steady load, starts a
rollout (weight 10 %, then 50 %), makes the canary answer 8 % 5xx at 50 % so that the rollout's analysis
aborts it (the rollback), scrapes /metrics every second, computes the panels' queries over 5-second
windows as PromQL's rate() and histogram_quantile() would, and draws them with gnuplot (pngcairo).

    scripts/render_dashboard.py --bin-dir build [--out docs/img/dashboard.png] [--keep-data DIR]
    scripts/render_dashboard.py --replot DIR/scrapes.json   # draw a kept run again

Needs nginx and gnuplot (`apt-get install gnuplot-nox`); not a test, and not a CI dependency."""

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import support  # noqa: E402

RATE = 150          # requests per second the load aims at
WINDOW = 5          # seconds: the rate() window of every panel
PHASES = ["none", "progressing", "paused", "completed", "aborted"]
CANARY_OK = "map $request_id $fail { default 0; }"
CANARY_FAILING = 'split_clients "${request_id}" $fail { 8% 1; * 0; }'


def canary_nginx(workdir, port):
    """The canary v2: an nginx that answers 500 to the requests $fail picks (none until failing())."""
    directory = os.path.join(workdir, "nginx-canary")
    server = f"""
    {CANARY_OK}
    server {{
        listen {support.LOOPBACK}:{port} reuseport;
        keepalive_requests 100000;
        location / {{ add_header X-Version v2 always; if ($fail) {{ return 500 "failing\\n"; }} return 200 "v2\\n"; }}
    }}"""
    proc = support.start_nginx(directory, [server], [(support.LOOPBACK, port)])
    conf = os.path.join(directory, "nginx.conf")

    def failing():
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace(CANARY_OK, CANARY_FAILING))
        proc.send_signal(signal.SIGHUP)  # nginx reloads its config gracefully
    return proc, failing


class Load:
    """Keep-alive GETs at about RATE per second from four threads."""

    def __init__(self, port):
        self.port, self.done = port, threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(4)]
        for t in self.threads:
            t.start()

    def run(self):
        conn, period, due = None, len(self.threads) / RATE, time.monotonic()
        while not self.done.is_set():
            try:
                conn = conn or http.client.HTTPConnection(support.LOOPBACK, self.port, timeout=5)
                conn.request("GET", "/")
                conn.getresponse().read()
            except OSError:
                conn = None
            due += period
            time.sleep(max(0.0, due - time.monotonic()))

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(10)


def scrape(d):
    m = d.metrics()
    return {"t": time.time(), "samples": [(n, lab, v) for n, lab, v in m.samples]}


def value(scr, name, **labels):
    return sum(v for n, lab, v in scr["samples"] if n == name and all(lab.get(k) == x for k, x in labels.items()))


def quantile(q, buckets):
    """histogram_quantile: `buckets` [(le, cumulative count)] sorted by le, interpolated linearly."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank, prev_le, prev_n = q * buckets[-1][1], 0.0, 0.0
    for le, n in buckets:
        if n >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_n) / (n - prev_n) if n > prev_n else le
        prev_le, prev_n = le, n
    return prev_le


def panel_rows(scrapes, t0):
    """One row per scrape (after the first WINDOW seconds): the panels' values at that time."""
    rows = []
    for i, now in enumerate(scrapes):
        past = next((s for s in scrapes[:i] if now["t"] - s["t"] <= WINDOW), None)
        if past is None or now["t"] - past["t"] < WINDOW - 1.5:
            continue
        dt = now["t"] - past["t"]

        def delta(name, **labels):
            return value(now, name, **labels) - value(past, name, **labels)
        row = {"t": now["t"] - t0, "weight": value(now, "canaryd_canary_weight_percent")}
        both = delta("canaryd_requests_total", set="stable") + delta("canaryd_requests_total", set="canary")
        row["served"] = 100 * delta("canaryd_requests_total", set="canary") / both if both else float("nan")
        for s in ("stable", "canary"):
            n = delta("canaryd_requests_total", set=s)
            row["rps_" + s] = n / dt
            row["err_" + s] = 100 * delta("canaryd_requests_total", set=s, code="5xx") / n if n else float("nan")
            les = sorted({lab["le"] for name, lab, _ in now["samples"]
                          if name == "canaryd_request_duration_seconds_bucket" and lab.get("set") == s},
                         key=float)
            buckets = [(float(le), delta("canaryd_request_duration_seconds_bucket", set=s, le=le)) for le in les]
            p99 = quantile(0.99, buckets)
            row["p99_" + s] = 1000 * p99 if p99 is not None else float("nan")
            for h in ("healthy", "unhealthy"):
                row["ep_%s_%s" % (s, h)] = value(now, "canaryd_endpoints", set=s, health=h)
        row["phase"] = next((k for k, p in enumerate(PHASES) if value(now, "canaryd_rollout_phase", phase=p) == 1), 0)
        row["step"] = value(now, "canaryd_rollout_step")
        rows.append(row)
    return rows


COLUMNS = ["t", "weight", "served", "rps_stable", "rps_canary", "err_stable", "err_canary", "p99_stable",
           "p99_canary", "phase", "step", "ep_stable_healthy", "ep_stable_unhealthy", "ep_canary_healthy",
           "ep_canary_unhealthy"]


def col(name):
    return COLUMNS.index(name) + 1


def gnuplot_script(data, out, events):
    marks = "\n".join('set arrow from %.1f, graph 0 to %.1f, graph 1 nohead dt 3 lc rgb "#999999"' % (t, t)
                      for t, _ in events)
    labels = "\n".join('set label "%s" at %.1f, graph 0.97 right rotate by 90 font ",8" tc rgb "#666666"'
                       % (text, t - 1) for t, text in events)
    stable, canary = 'lc rgb "#1f77b4" lw 2', 'lc rgb "#ff7f0e" lw 2'

    def c(name):
        return col(name)
    return f"""
set terminal pngcairo size 1400,860 font "DejaVu Sans,10"
set output "{out}"
set datafile missing "nan"
set multiplot layout 3,2 title "canaryd dashboard: a rollout 0 -> 10 -> 50 %, the canary fails, the analysis rolls it back (rendered from a real run)" font ",12"
set grid lc rgb "#dddddd"
set key top right font ",9" opaque
set xlabel "seconds" offset 0,0.5
{marks}
{labels}
set title "Canary share: configured vs served (%)"
set yrange [0:60]
plot "{data}" u 1:{c("weight")} w steps t "configured" lc rgb "#888888" lw 2 dt 2, "" u 1:{c("served")} w l t "served" {canary}
set title "Requests per second by set"
set yrange [0:*]
plot "{data}" u 1:{c("rps_stable")} w l t "stable" {stable}, "" u 1:{c("rps_canary")} w l t "canary" {canary}
set title "Error rate (5xx) by set (%)"
set yrange [0:*]
plot "{data}" u 1:{c("err_stable")} w l t "stable" {stable}, "" u 1:{c("err_canary")} w l t "canary" {canary}
set title "p99 latency by set (ms)"
set yrange [0:*]
plot "{data}" u 1:{c("p99_stable")} w l t "stable" {stable}, "" u 1:{c("p99_canary")} w l t "canary" {canary}
set title "Rollout phase and step"
set yrange [-0.3:4.3]
set ytics ("none" 0, "progressing" 1, "paused" 2, "completed" 3, "aborted" 4)
set y2range [-0.5:9]
set y2tics 0,1,4
set y2label "step"
plot "{data}" u 1:{c("phase")} w steps t "phase" lc rgb "#2ca02c" lw 3, "" u 1:{c("step")} axes x1y2 w steps t "step" lc rgb "#9467bd" lw 2 dt 2
unset y2tics
unset y2label
set ytics autofreq
set title "Endpoints by health"
set yrange [0:4]
plot "{data}" u 1:{c("ep_stable_healthy")} w steps t "stable healthy" {stable}, "" u 1:{c("ep_stable_unhealthy")} w steps t "stable unhealthy" lc rgb "#d62728" lw 2, "" u 1:{c("ep_canary_healthy")} w steps t "canary healthy" {canary} dt 2, "" u 1:{c("ep_canary_unhealthy")} w steps t "canary unhealthy" lc rgb "#8c564b" lw 2 dt 2
unset multiplot
"""


def run(args):
    work = support.Workdir("canaryd-dashboard-")
    stable_ports, canary_port = [support.free_port(), support.free_port()], support.free_port()
    stable = support.Nginx(work.path, [(p, "v1") for p in stable_ports])
    canary, make_canary_fail = canary_nginx(work.path, canary_port)
    d = support.Canaryd(work.path, "dashboard", [(p, "v1") for p in stable_ports] + [(canary_port, "v2")])
    load, scrapes, events = None, [], []
    try:
        d.start()
        load = Load(d.listen)
        t0 = time.time()
        plan = {"steps": [{"weight": 10, "pause": "40s"}, {"weight": 50, "pause": "manual"}],
                "analysis": {"interval": "5s", "window": "20s", "min_requests": 50, "max_error_rate": 2,
                             "failure_limit": 2}}
        started = failing = aborted = False
        while time.time() - t0 < args.seconds:
            scrapes.append(scrape(d))
            t = time.time() - t0
            if not started and t >= 20:
                status, body = d.api("POST", "/api/rollout", plan)
                assert status == 200, (status, body)
                started = True
                events.append((t, "rollout starts"))
            if started and not failing and t >= 85:
                make_canary_fail()
                failing = True
                events.append((t, "canary answers 8 % 5xx"))
            if failing and not aborted and value(scrapes[-1], "canaryd_rollout_phase", phase="aborted") == 1:
                aborted = True
                events.append((t, "analysis aborts: rollback"))
            time.sleep(max(0.0, 1 - (time.time() - t0 - t) % 1))
    finally:
        if load:
            load.stop()
        d.stop()
        stable.stop()
        support.stop_nginx(canary)
    work.cleanup()
    if not aborted:
        print("warning: the analysis did not abort the rollout within the run", file=sys.stderr)
    draw(args, t0, scrapes, events)


def draw(args, t0, scrapes, events):
    """Computes the panels from the scrapes and draws them; keeps the data in --keep-data if given."""
    rows = panel_rows(scrapes, t0)
    data_dir = args.keep_data or tempfile.mkdtemp(prefix="canaryd-dashboard-data-")
    os.makedirs(data_dir, exist_ok=True)
    data = os.path.join(data_dir, "panels.dat")
    with open(data, "w") as f:
        f.write("# " + " ".join(COLUMNS) + "\n")
        for row in rows:
            f.write(" ".join("%.4f" % row[k] for k in COLUMNS) + "\n")
    with open(os.path.join(data_dir, "scrapes.json"), "w") as f:
        json.dump({"t0": t0, "events": events, "scrapes": scrapes}, f)
    script = os.path.join(data_dir, "panels.gp")
    with open(script, "w") as f:
        f.write(gnuplot_script(data, os.path.abspath(args.out), events))
    subprocess.run(["gnuplot", script], check=True)
    if not args.keep_data:
        shutil.rmtree(data_dir)
    print("%s: %d scrapes, %d panel rows, %d bytes" % (args.out, len(scrapes), len(rows), os.path.getsize(args.out)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin-dir", default="build", help="directory holding canaryd and canaryctl")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img", "dashboard.png"))
    ap.add_argument("--seconds", type=float, default=140, help="length of the run")
    ap.add_argument("--keep-data", help="keep the scrapes, the panel data and the gnuplot script here")
    ap.add_argument("--replot", help="draw again from the scrapes.json a run kept with --keep-data (no new run)")
    args = ap.parse_args()
    if args.replot:
        with open(args.replot) as f:
            kept = json.load(f)
        return draw(args, kept["t0"], kept["scrapes"], [tuple(e) for e in kept["events"]])
    support.BIN_DIR = os.path.abspath(args.bin_dir)
    if not shutil.which("gnuplot"):
        sys.exit("gnuplot is not installed (apt-get install gnuplot-nox)")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    run(args)


if __name__ == "__main__":
    main()
