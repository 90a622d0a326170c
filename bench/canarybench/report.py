"""The Markdown report: medians per (scenario, proxy), the comparison tables, the canaryd-only pairs
with their targets, notes on invalid or disturbed runs, and the one-line brief of a run."""

import collections
import statistics

from .common import CANARY_WEIGHT, SPLIT_TOLERANCE
from .load import WRK_THREADS
from .peers import PROXY_TITLES
from .h2load import H2LOAD_THREADS
from .scenarios import (CANARYD_ONLY, H2_SCENARIOS, PAIRS, SCENARIOS, TARGET_RATIOS, WARMUP_S, WEIGHT_RATE,
                        WEIGHT_VALUES, proxies_of)


def med(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec, dash="–"):
    return dash if v is None else format(v, spec)


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "–"


def summarize(results, scen_names, proxies):
    """One row per (scenario, proxy): medians over the valid runs (over all runs if none is valid)."""
    rows = collections.OrderedDict()
    for sn in scen_names:
        for p in proxies_of(sn, proxies):
            runs = [r for r in results if r["scenario"] == sn and r["proxy"] == p]
            valid = [r for r in runs if r["valid"]]
            use = valid or runs
            errs = collections.Counter()
            for r in runs:
                errs.update(r.get("errors") or {})
            v1 = sum(r.get("v1", 0) for r in runs)
            v2 = sum(r.get("v2", 0) for r in runs)
            rows[(sn, p)] = {
                "runs": len(runs), "valid": len(valid),
                "rps": med(use, "rps"), "p50": med(use, "p50_ms"), "p99": med(use, "p99_ms"),
                "cpu": med(use, "cpu_per_100k"), "hwm": med(use, "peak_rss_kib"),
                "rss_conn": med(use, "rss_per_conn_kib"),
                "share": 100.0 * v2 / (v1 + v2) if v1 + v2 else None,
                "split_ok": all(r.get("split_ok", True) for r in runs),
                "errors": errs,
                # canaryd-only scenarios; API call counts are totals over the runs, like errors
                "per_set": CANARYD_ONLY[sn].endpoints if sn in CANARYD_ONLY else None,
                "warmup_rps": med(use, "warmup_rps"),
                "api_rate": med(use, "api_rate"), "api_p99": med(use, "api_p99_ms"),
                "api_sent": sum(r.get("api_sent") or 0 for r in runs),
                "api_ok": sum(r.get("api_ok") or 0 for r in runs),
                "api_errors": sum(v for k, v in errs.items() if k.startswith("api_")),
            }
    return rows


def errors_cell(row):
    if not row["errors"]:
        return "0"
    return "**%d** (%s)" % (sum(row["errors"].values()),
                            ", ".join("%s %d" % kv for kv in sorted(row["errors"].items())))


def valid_cell(row):
    cell = "%d/%d" % (row["valid"], row["runs"])
    return cell if row["valid"] == row["runs"] else "**%s**" % cell


def share_cell(row, p):
    if row["share"] is None:
        return "–"
    s = "%.2f %%" % row["share"]
    return s if row["split_ok"] else "**%s (off)**" % s


def tables(rows, scen_names, proxies):
    out = []
    load = [sn for sn in scen_names if not SCENARIOS[sn][5] and sn not in CANARYD_ONLY]
    idle = [sn for sn in scen_names if SCENARIOS[sn][5]]
    if load:
        out.append("| scenario | proxy | req/s | p50 ms | p99 ms | CPU s / 100k req | peak RSS MiB | v2 share "
                   "| errors | valid runs | req/s ÷ HAProxy | CPU ÷ HAProxy | p99 ÷ HAProxy |")
        out.append("|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|")
        for sn in load:
            h = rows.get((sn, "haproxy"))
            for p in proxies_of(sn, proxies):
                row = rows[(sn, p)]
                out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    sn, PROXY_TITLES[p], fmt(row["rps"], ",.0f"), fmt(row["p50"], ".2f"), fmt(row["p99"], ".2f"),
                    fmt(row["cpu"], ".2f"), fmt(row["hwm"] and row["hwm"] / 1024, ".1f"), share_cell(row, p),
                    errors_cell(row), valid_cell(row),
                    ratio(row["rps"], h and h["rps"]), ratio(row["cpu"], h and h["cpu"]),
                    ratio(row["p99"], h and h["p99"])))
        out.append("")
    if idle:
        out.append("| scenario | proxy | RSS per idle connection KiB | peak RSS MiB | v2 share | errors | valid runs "
                   "| RSS/conn ÷ HAProxy |")
        out.append("|---|---|--:|--:|--:|---|--:|--:|")
        for sn in idle:
            h = rows.get((sn, "haproxy"))
            for p in proxies:
                row = rows[(sn, p)]
                out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    sn, PROXY_TITLES[p], fmt(row["rss_conn"], ".2f"), fmt(row["hwm"] and row["hwm"] / 1024, ".1f"),
                    share_cell(row, p), errors_cell(row), valid_cell(row),
                    ratio(row["rss_conn"], h and h["rss_conn"])))
        out.append("")
    return "\n".join(out)


def h2_target_line(rows, sn):
    """The HTTP/2 target (issue 15): canaryd's req/s at least 1.10 x HAProxy's, its CPU per request at most 0.90 x."""
    c, h = rows[(sn, "canaryd")], rows[(sn, "haproxy")]
    if not c["valid"] or not h["valid"] or not (c["rps"] and h["rps"] and c["cpu"] and h["cpu"]):
        return "- `%s`: target **not determined** (no valid run of canaryd or HAProxy)" % sn
    rps, cpu = c["rps"] / h["rps"], c["cpu"] / h["cpu"]
    met = rps >= 1.10 and cpu <= 0.90
    return "- `%s`: canaryd ÷ HAProxy req/s %.2f, CPU per request %.2f. Target req/s ≥ 1.10 and CPU ≤ 0.90: %s." % (
        sn, rps, cpu, "**met**" if met else "**not met**")


def paired_ratios(results, a, b):
    """req/s of b / req/s of a in each round where both runs were valid (a and b ran back to back)."""
    out = []
    for rnd in sorted({r["round"] for r in results}):
        ra = [r for r in results if r["round"] == rnd and r["scenario"] == a and r["valid"] and r.get("rps")]
        rb = [r for r in results if r["round"] == rnd and r["scenario"] == b and r["valid"] and r.get("rps")]
        if ra and rb:
            out.append(rb[0]["rps"] / ra[0]["rps"])
    return out


def pair_target(a, b):
    return next(TARGET_RATIOS[g] for g, pair in PAIRS.items() if pair == (a, b))


def target_verdict(rows, results, a, b):
    """(ratio of the median req/s or None, per-round ratios, verdict in Markdown)."""
    ra, rb = rows[(a, "canaryd")], rows[(b, "canaryd")]
    per_round = paired_ratios(results, a, b)
    missing = [sn for sn, row in ((a, ra), (b, rb)) if not row["valid"]]
    if missing:
        return None, per_round, "**not determined** (no valid run of %s)" % ", ".join(missing)
    q = rb["rps"] / ra["rps"] if ra["rps"] and rb["rps"] else None
    if q is None:
        return None, per_round, "**not determined** (no req/s)"
    verdict = "**met**" if q >= pair_target(a, b) else "**not met**"
    invalid = (ra["runs"] - ra["valid"]) + (rb["runs"] - rb["valid"])
    if invalid:
        verdict += " (over the valid runs only; %d invalid)" % invalid
    return q, per_round, verdict


def rounds_cell(per_round):
    return ", ".join("%.3f" % x for x in per_round) or "–"


def endpoints_table(rows, results, a, b):
    out = ["| scenario | endpoints per set | req/s | p50 ms | p99 ms | CPU s / 100k req | peak RSS MiB | v2 share "
           "| errors | valid runs | warm-up req/s | req/s ÷ %s |" % a.rsplit("-", 1)[1],
           "|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|"]
    base = rows[(a, "canaryd")]
    for sn in (a, b):
        row = rows[(sn, "canaryd")]
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            sn, "{:,}".format(row["per_set"]), fmt(row["rps"], ",.0f"), fmt(row["p50"], ".2f"),
            fmt(row["p99"], ".2f"), fmt(row["cpu"], ".2f"), fmt(row["hwm"] and row["hwm"] / 1024, ".1f"),
            share_cell(row, "canaryd"), errors_cell(row), valid_cell(row), fmt(row["warmup_rps"], ",.0f"),
            ratio(row["rps"], base["rps"])))
    q, per_round, verdict = target_verdict(rows, results, a, b)
    row = rows[(b, "canaryd")]
    out += ["", "**%s ÷ %s req/s: %s** (per round: %s); p99 ÷ %s, CPU ÷ %s. Target req/s ratio ≥ %.2f: %s." % (
        b.rsplit("-", 1)[1], a.rsplit("-", 1)[1], fmt(q, ".3f"), rounds_cell(per_round),
        ratio(row["p99"], base["p99"]), ratio(row["cpu"], base["cpu"]), pair_target(a, b), verdict), ""]
    out += ["v1 and v2 endpoints are distinct 127.0.X.Y addresses on the port of the v1 or v2 nginx (which "
            "listen on every address), so canaryd holds %s separate endpoints and keep-alive pools. An "
            "uncounted %d s wrk run (same load) precedes both measured runs: the pools start empty. Its "
            "errors count as `warmup_*`." % (" / ".join("{:,}".format(2 * CANARYD_ONLY[sn].endpoints)
                                                       for sn in (a, b)), WARMUP_S), ""]
    return out


def weights_table(rows, results, a, b):
    out = ["| scenario | weight changes/s | API calls sent | API 200 | API errors | API p99 ms | req/s | p50 ms "
           "| p99 ms | CPU s / 100k req | v2 share | errors | valid runs | req/s ÷ steady |",
           "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|"]
    base = rows[(a, "canaryd")]
    for sn in (a, b):
        row = rows[(sn, "canaryd")]
        api = CANARYD_ONLY[sn].weight_rate
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            sn, fmt(row["api_rate"], ".1f") if api else "0", "{:,}".format(row["api_sent"]) if api else "–",
            "{:,}".format(row["api_ok"]) if api else "–", row["api_errors"] if api else "–",
            fmt(row["api_p99"], ".2f") if api else "–", fmt(row["rps"], ",.0f"), fmt(row["p50"], ".2f"),
            fmt(row["p99"], ".2f"), fmt(row["cpu"], ".2f"), share_cell(row, "canaryd"), errors_cell(row),
            valid_cell(row), ratio(row["rps"], base["rps"])))
    q, per_round, verdict = target_verdict(rows, results, a, b)
    row = rows[(b, "canaryd")]
    n_errors = sum(base["errors"].values()) + sum(row["errors"].values())
    if n_errors:                       # here 0 errors is part of the target, not only of a run's validity
        verdict = "**not met** (%d errors)" % n_errors
    rate = row["api_rate"]
    line = ("**weights ÷ steady req/s: %s** (cost %s; per round: %s) at %s weight changes/s, %d API errors. "
            "Target ≥ %.2f (cost under %.0f %%) and 0 errors: %s." % (
                fmt(q, ".3f"), "–" if q is None else "%.1f %%" % (100 * (1 - q)), rounds_cell(per_round),
                fmt(rate, ".1f"), row["api_errors"], pair_target(a, b), 100 * (1 - pair_target(a, b)), verdict))
    if rate is not None and rate < 0.95 * CANARYD_ONLY[b].weight_rate:
        # canaryd answered slower than the schedule: the cost above is for that lower rate
        line += " Note: below the %d changes/s asked, so this is the cost of %.0f/s." % (
            CANARYD_ONLY[b].weight_rate, rate)
    client = med([r for r in results if r["scenario"] == b], "api_client_cpu_s")
    out += ["", line, "",
            "One keep-alive connection sends `PUT /api/weight` every %.0f ms on a monotonic schedule (%s in "
            "turn) for the whole wrk run; changes/s = calls answered 200 / that time; any other answer or a "
            "failed call is an error and makes the run invalid. The client is a thread of the harness on the "
            "same cores%s, part of the cost measured." % (
                1000.0 / WEIGHT_RATE, " and ".join("%g" % w for w in WEIGHT_VALUES),
                "" if client is None else " (median %.2f s CPU per run)" % client), ""]
    return out


def pair_tables(rows, results, scen_names):
    """The canaryd-only pairs present in full, each with its table and its target line."""
    out = []
    titles = {"endpoints": "Endpoint count (canaryd only)", "weights": "Weight changes during load (canaryd only)"}
    for group, (a, b) in PAIRS.items():
        if a not in scen_names or b not in scen_names:
            continue
        out += ["### " + titles[group], ""]
        out += (endpoints_table if group == "endpoints" else weights_table)(rows, results, a, b)
    if out:
        out = ["Each pair runs back to back inside every round. The ratio is of the medians over the valid runs; "
               "the per-round ratios pair the two runs of one round. The split check (10 % ± 1) and the error "
               "check apply as above.", ""] + out
    return "\n".join(out).rstrip("\n")


def placement_text(args, info):
    """What --pin decided (kept in results.json), or the old sentence for runs from before --pin."""
    text = getattr(args, "placement", None)
    return text or "Nothing is pinned: the %s cores are shared by wrk, the proxy and the two upstream nginx." \
        % info["nproc"]


def report(args, info, results, discarded, scen_names, proxies, started, elapsed, command):
    scen_names = [sn for sn in scen_names if proxies_of(sn, proxies)]
    rows = summarize(results, scen_names, proxies)
    lines = ["# canaryd benchmark results", ""]
    lines.append("Measured %s UTC%s with:" % (started.strftime("%Y-%m-%d %H:%M"),
                                               " (%.0f min)" % (elapsed / 60) if elapsed else ""))
    lines += ["", "```sh", command.strip(), "```", ""]
    lines.append("| machine | |")
    lines.append("|---|---|")
    for k, v in info.items():
        lines.append("| %s | %s |" % (k, v.replace("|", "\\|")))
    lines.append("")
    only = any(sn in CANARYD_ONLY for sn in scen_names)
    lines.append("Rounds: %d, interleaved (each round runs every scenario as %s in turn%s); wrk -t%d, %d s per "
                 "run, `--timeout 5s`; idle: %d connections held %.0f s. Medians over the valid runs. %s"
                 % (args.rounds, " ".join(proxies), "; the canaryd-only ones as canaryd alone" if only else "",
                    WRK_THREADS, args.duration, args.idle_connections, args.idle_hold, placement_text(args, info)))
    threads = getattr(args, "threads", 1)
    if threads != 1:
        lines.append("")
        lines.append("Every proxy runs %d threads: canaryd `threads: %d`, HAProxy `nbthread %d`, nginx "
                     "`worker_processes %d` (its CPU is the master's and all workers'; its peak RSS is one "
                     "worker's). The two upstream nginx keep `worker_processes 1`." % ((threads,) * 4))
    lines.append("")
    for sn in scen_names:
        lines.append("- `%s`: %s" % (sn, SCENARIOS[sn][0] if not SCENARIOS[sn][5]
                                     else "%d %s" % (args.idle_connections, SCENARIOS[sn][0])))
    lines.append("")
    main_tables = tables(rows, scen_names, proxies)
    if main_tables:                    # none when only canaryd-only scenarios ran
        lines.append(main_tables)
    lines.append("CPU is the utime+stime of the proxy process during the wrk run (nginx: master + worker; for "
                 "`direct` it is the v1 nginx itself). Peak RSS is VmHWM of that process (nginx: the worker). "
                 "v2 share counts `X-Version` on the responses wrk received; it must be 10 % ± 1 (0 for "
                 "`direct`). A run with any error, an off split, or other processes using more than "
                 + "%.2f cores during a load run (disturbed) is invalid." % args.max_foreign_cpu)
    h2 = [sn for sn in scen_names if sn in H2_SCENARIOS]
    if h2:
        lines += ["", "HTTP/2 rows (%s): `h2load -t%d -c8 -m%d -D%d` in cleartext with prior knowledge to the proxy "
                  "(canaryd `listen[].http2: true`, HAProxy `bind ... proto h2`, nginx `listen ... http2`), which "
                  "speaks HTTP/1.1 keep-alive to the same upstreams; no `direct` row (the upstream nginx speak "
                  "HTTP/1.1 only). req/s is h2load's succeeded requests over its measured time; p50 and p99 come "
                  "from its per-request log (`--log-file`); the v2 share is counted by the upstreams (stub_status "
                  "request counters), since h2load does not look at response fields. Errors: failed, errored or "
                  "timed-out requests, non-2xx statuses, and fewer body bytes than 612 B or 64 KiB per success."
                  % (", ".join("`%s`" % sn for sn in h2), H2LOAD_THREADS, H2_SCENARIOS[h2[0]], args.duration)]
        lines += [""] + [h2_target_line(rows, sn) for sn in h2 if (sn, "canaryd") in rows and (sn, "haproxy") in rows]
    pairs = pair_tables(rows, results, scen_names)
    if pairs:
        lines += ["", "## canaryd only", "", pairs]
    notes = []
    for r in results:
        if (r.get("problems") or r.get("errors") or not r.get("split_ok", True) or r.get("notes")
                or r.get("disturbed")):
            what = []
            if r.get("errors"):
                what.append("errors %s" % dict(r["errors"]))
            if not r.get("split_ok", True):
                what.append("v2 share %.2f %%" % r["v2_share"])
            if r.get("disturbed"):
                what.append("disturbed: other processes used %.2f cores" % r["foreign_cores"])
            what += [p.splitlines()[0] for p in r.get("problems", [])]
            what += r.get("notes", [])
            notes.append("- round %d, %s, %s: %s" % (r["round"], r["scenario"], r["proxy"], "; ".join(what)))
        up1, up2 = r.get("upstream_v1"), r.get("upstream_v2")
        if r["proxy"] != "direct" and up1 is not None and up1 + up2 > 0 and r.get("requests"):
            ushare = 100.0 * up2 / (up1 + up2)
            if abs(ushare - CANARY_WEIGHT) > SPLIT_TOLERANCE:
                notes.append("- round %d, %s, %s: upstream counters (stub_status) give a v2 share of %.2f %%"
                             % (r["round"], r["scenario"], r["proxy"], ushare))
    if discarded:
        notes.append("- %d disturbed runs were run again (other processes used more than %.2f cores during "
                     "them): %s" % (len(discarded), args.max_foreign_cpu, ", ".join(
                         "round %d %s %s (%.2f)" % (r["round"], r["scenario"], r["proxy"], r["foreign_cores"])
                         for r in discarded)))
    waits = [r for r in results + discarded if r.get("busy_before")]
    if waits:
        busiest = collections.Counter()
        for r in waits:
            for item in r["busy_before"].split(", "):
                parts = item.split()
                if len(parts) >= 3 and float(parts[-1]) >= 0.2:
                    busiest[" ".join(parts[1:-1])] += 1
        notes.append("- %d runs first waited for other processes to calm down (at most %.0f s)%s" % (
            len(waits), max(r["waited_s"] for r in waits),
            "; busy then: " + ", ".join(name for name, _ in busiest.most_common(6)) if busiest else ""))
    if notes:
        lines += ["", "## Notes", ""] + notes
    lines += ["", "<details><summary>Every run (in the order run)</summary>", "", "```"]
    lines += ["round %d %-16s %-8s %s" % (r["round"], r["scenario"], r["proxy"], brief(r)) for r in results]
    lines += ["```", "", "</details>", ""]
    return "\n".join(lines)


def brief(r):
    parts = []
    if r.get("rps") is not None:
        parts.append("%8.0f req/s p50 %.2f ms p99 %.2f ms cpu/100k %s s" % (
            r["rps"], r["p50_ms"], r["p99_ms"], fmt(r.get("cpu_per_100k"), ".2f")))
    if r.get("rss_per_conn_kib") is not None:
        parts.append("%d conns in %.1f s, %.2f KiB/conn" % (r["connections"], r["open_s"], r["rss_per_conn_kib"]))
    if r.get("peak_rss_kib"):
        parts.append("hwm %.1f MiB" % (r["peak_rss_kib"] / 1024))
    if r.get("v2_share") is not None:
        parts.append("v2 %.2f %%" % r["v2_share"])
    if r.get("warmup_rps") is not None:
        parts.append("%d endpoints/set, warm-up %.0f req/s" % (r.get("endpoints_per_set", 1), r["warmup_rps"]))
    if r.get("api_sent") is not None:
        parts.append("api %d sent %d ok %s/s p50 %s p99 %s ms%s, client cpu %s s" % (
            r["api_sent"], r["api_ok"], fmt(r["api_rate"], ".1f"), fmt(r["api_p50_ms"], ".2f"),
            fmt(r["api_p99_ms"], ".2f"),
            ", revision +%s" % r["api_revisions"] if r.get("api_revisions") is not None else "",
            fmt(r.get("api_client_cpu_s"), ".2f")))
    if r.get("foreign_cores") is not None:
        parts.append("other %.2f cores" % r["foreign_cores"])
    if r.get("errors"):
        parts.append("ERRORS %s" % dict(r["errors"]))
    parts.append("ok" if r["valid"] else "INVALID")
    return " | ".join(parts)
