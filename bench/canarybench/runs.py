"""One run and the rounds: starts fresh upstreams and proxy, measures one scenario on one proxy, judges
the run's validity (errors, split, disturbance); run_rounds interleaves them and runs disturbed ones again."""

import collections
import os
import signal

from .common import CANARY_WEIGHT, LOOPBACK, SPLIT_TOLERANCE, WILDCARD, log
from .environment import free_port
from .h2load import measure_h2load
from .idle import measure_idle
from .load import measure_load, warm_up
from .peers import start_proxy, start_upstream
from .procfs import CpuWatch, wait_quiet
from .report import brief
from .scenarios import CANARYD_ONLY, H2_SCENARIOS, SCENARIOS, proxies_of
from .weight_changer import WeightChanger


def one_run(args, kind, scen_name, rnd, canaryd_bins, base, attempt=1):
    """canaryd_bins: the binary of each canaryd kind (peers.CANARYD_KINDS) in --proxies."""
    sc = SCENARIOS[scen_name]
    tag = "r%d-%s-%s" % (rnd, scen_name, kind) + ("-try%d" % attempt if attempt > 1 else "")
    workdir = os.path.join(base, tag)
    html = os.path.join(base, "html")
    os.makedirs(workdir)
    os.chmod(workdir, 0o755)
    servers = []
    r = collections.OrderedDict([("round", rnd), ("scenario", scen_name), ("proxy", kind)])
    only = CANARYD_ONLY.get(scen_name)
    per_set = only.endpoints if only else 1
    h2 = scen_name in H2_SCENARIOS
    host = WILDCARD if per_set > 1 else LOOPBACK
    try:
        p1, p2 = free_port(host), free_port(host)
        ups = [start_upstream("v1", workdir, p1, html, host), start_upstream("v2", workdir, p2, html, host)]
        servers += ups
        for u in ups:
            u.wait_ready("/612b")
        if kind == "direct":
            srv = ups[0]
        else:
            srv = start_proxy(kind, workdir, free_port(), p1, p2, canaryd_bins.get(kind), per_set, h2=h2)
            servers.append(srv)
            srv.wait_ready("/612b", h2=h2)
        if per_set > 1:
            r["endpoints_per_set"] = per_set
        # before the CPU watch: the warm-up is not part of the measurement
        warm = warm_up(srv, workdir, tag, sc, only.warmup_s) if only and only.warmup_s else None
        changer = WeightChanger(srv.control_port, only.weight_rate) if only and only.weight_rate else None
        watch = CpuWatch(servers)
        if sc[5]:
            r.update(measure_idle(srv, workdir, sc, args.idle_connections, args.idle_hold))
        elif h2:
            r.update(measure_h2load(srv, ups, workdir, tag, scen_name, sc, args.duration))
        else:
            r.update(measure_load(srv, ups, workdir, tag, sc, args.duration, changer))
        r.update(watch.stop())
        if warm:
            r["warmup_rps"] = warm.get("warmup_rps")
            r["errors"] = collections.OrderedDict(list(warm["errors"].items()) + list(r["errors"].items()))
            r["problems"] = warm["problems"] + r["problems"]
    except RuntimeError as e:
        r["problems"] = [str(e)]
        r["errors"] = {"start": 1}
    finally:
        for s in reversed(servers):
            rc = s.stop()
            if rc is None:
                r.setdefault("notes", []).append("%s did not stop within 10 s of SIGTERM (killed)" % s.name)
            elif rc != 0 and not (s.name == "haproxy" and rc == -signal.SIGTERM):   # haproxy -db: hard stop
                r.setdefault("notes", []).append("%s exit status %s after SIGTERM" % (s.name, rc))
        for s in servers:
            el = getattr(s, "error_log", None)
            if el and os.path.exists(el):
                with open(el, errors="replace") as f:
                    n_temp = sum(1 for line in f if "buffered to a temporary file" in line)
                if n_temp:
                    r.setdefault("notes", []).append(
                        "%s: %d responses buffered to a temporary file" % (s.name, n_temp))
    errs = r.get("errors") or {}
    share = r.get("v2_share")
    split_ok = True
    if kind != "direct" and share is not None:
        split_ok = abs(share - CANARY_WEIGHT) <= SPLIT_TOLERANCE
    if kind == "direct" and share:
        split_ok = False
    r["split_ok"] = split_ok
    # the idle scenario measures memory, which other processes' CPU does not change
    r["disturbed"] = not sc[5] and r.get("foreign_cores", 0.0) > args.max_foreign_cpu
    r["valid"] = not errs and split_ok and share is not None and not r["disturbed"]
    return r


def run_rounds(args, scen_names, proxies, canaryd_bins, base):
    """Every run, interleaved: round by round, scenario by scenario, proxy by proxy; a disturbed run is run
    again in place (up to --retries). Returns (results, discarded); Ctrl-C ends it with the runs so far."""
    results, discarded = [], []
    total = args.rounds * sum(len(proxies_of(sn, proxies)) for sn in scen_names)
    try:
        for rnd in range(1, args.rounds + 1):
            for sn in scen_names:
                for p in proxies_of(sn, proxies):
                    for attempt in range(1, args.retries + 2):
                        waited, busy, top = (0.0, 0.0, None) if SCENARIOS[sn][5] else wait_quiet(
                            args.max_foreign_cpu, args.quiet_wait)
                        r = one_run(args, p, sn, rnd, canaryd_bins, base, attempt)
                        r["attempt"] = attempt
                        if top:
                            r["waited_s"], r["busy_before"] = waited, top
                        log("bench: [%d/%d] round %d %-16s %-8s %s" % (
                            len(results) + 1, total, rnd, sn, p, brief(r)))
                        for prob in r.get("problems", []):
                            log("bench:     " + prob.replace("\n", "\n bench:     "))
                        if not r["disturbed"] or attempt > args.retries:
                            break
                        discarded.append(r)
                        log("bench:     disturbed (other processes used %.2f cores); running it again"
                            % r["foreign_cores"])
                    results.append(r)
    except KeyboardInterrupt:
        log("bench: interrupted; reporting the runs done so far")
    return results, discarded
