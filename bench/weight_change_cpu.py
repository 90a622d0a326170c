#!/usr/bin/env python3
"""CPU a weight change costs each canaryd thread: one canaryd (threads: 1, a state file, two endpoints that
are never called), N sequential PUT /api/weight over one keep-alive connection (each waits for its answer,
so no two changes share a write: the worst case per change), each thread's CPU from
/proc/PID/task/TID/schedstat (ns) and stat (utime + stime ticks) before and after. The main thread is the
one whose TID is the PID. `--perf FILE` also records the main thread with `perf record -g`.

    python3 bench/weight_change_cpu.py --bin-dir build [--changes 2000] [--perf /tmp/main.perf]
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from canarybench.common import LOOPBACK  # noqa: E402  (bench/canarybench, as run.py and callgrind.py use it)
from canarybench.environment import free_port  # noqa: E402
from canarybench.weight_changer import read_response  # noqa: E402


def config(workdir, port, cport):
    return """listen:
  - address: {ip}:{port}
threads: 1
control:
  address: {ip}:{cport}
state_file: {d}/state.json
endpoints:
  - {{address: {ip}:9, labels: {{name: nginx, version: v1}}}}
  - {{address: {ip}:10, labels: {{name: nginx, version: v2}}}}
service:
  selector: {{name: nginx}}
  stable: {{version: v1}}
  canary: {{version: v2}}
  canary_weight: 10
""".format(ip=LOOPBACK, port=port, cport=cport, d=workdir)


def thread_cpu(pid):
    """{(tid, comm): (ns on CPU, ticks)} for every thread of `pid`."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        with open(base + "comm") as f:
            comm = f.read().strip()
        with open(base + "schedstat") as f:
            ns = int(f.read().split()[0])
        with open(base + "stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[(int(tid), comm)] = (ns, int(fields[11]) + int(fields[12]))
    return out


def change(sock, weight):
    body = json.dumps({"canary_weight": weight}).encode()
    sock.sendall(b"PUT /api/weight HTTP/1.1\r\nHost: canaryd\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
    status, _, _ = read_response(sock)
    if status != 200:
        raise SystemExit("PUT /api/weight: status %d" % status)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--changes", type=int, default=2000)
    ap.add_argument("--perf", help="also record the main thread (perf record -g) into this file")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="canaryd-weight-cpu-")
    port, cport = free_port(), free_port()
    path = os.path.join(workdir, "canaryd.yaml")
    with open(path, "w") as f:
        f.write(config(workdir, port, cport))
    proc = subprocess.Popen([os.path.join(args.bin_dir, "canaryd"), "-c", path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                sock = socket.create_connection((LOOPBACK, cport), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("canaryd did not open its control port")
                time.sleep(0.05)
        weights = (9.99, 10.01)  # alternating, so every call makes a revision
        for i in range(50):  # warm-up: connections, allocator, page cache
            change(sock, weights[i % 2])
        perf = None
        if args.perf:
            perf = subprocess.Popen(["perf", "record", "-q", "-g", "-t", str(proc.pid), "-o", args.perf],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        before, t0 = thread_cpu(proc.pid), time.monotonic()
        for i in range(args.changes):
            change(sock, weights[i % 2])
        after, elapsed = thread_cpu(proc.pid), time.monotonic() - t0
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
    finally:
        proc.terminate()
        proc.wait()
    n = args.changes
    print("%d changes in %.2f s (%.0f/s)" % (n, elapsed, n / elapsed))
    for key in sorted(after):
        ns = after[key][0] - before.get(key, (0, 0))[0]
        ticks = after[key][1] - before.get(key, (0, 0))[1]
        print("  tid %d %s%s: %.1f us/change (schedstat), %d ticks (%.3f ms/change)"
              % (key[0], key[1], " (main)" if key[0] == proc.pid else "", ns / n / 1000, ticks,
                 ticks * 1000.0 / os.sysconf("SC_CLK_TCK") / n))


if __name__ == "__main__":
    main()
