#!/usr/bin/env python3
"""Instructions per proxied request, counted by callgrind (deterministic: a regression gate on a noisy box).

    python3 bench/callgrind.py [--requests 2000] [--warmup 200] [--bin-dir build] [--path /612b]

Starts the two nginx upstreams of bench/run.py (v1, v2, one worker each) and canaryd with the same config
as run.py (threads: 1, stable v1 / canary v2 at 10 %), canaryd under
`valgrind --tool=callgrind --instr-atstart=no`. One keep-alive client connection sends --warmup requests
(connections to the upstreams are opened, buffers grow), then `callgrind_control -i on` switches
instrumentation on, --requests keep-alive GETs are sent one after the other, `callgrind_control -i off`
switches it off again, and canaryd is stopped (callgrind writes its counts at exit). Prints
Ir (instructions executed by canaryd, every thread, while instrumented) / requests.

Needs valgrind (apt-get install valgrind; installed when missing, as run.py installs nginx). Python 3
standard library only.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from canarybench import common  # noqa: E402  (bench/canarybench: nginx and canaryd start-up, as run.py's)
from canarybench.environment import find_exe, free_port, raise_nofile  # noqa: E402
from canarybench.peers import start_proxy, start_upstream, write_bodies  # noqa: E402
from canarybench.weight_changer import read_response  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ensure_valgrind(no_install):
    if shutil.which("valgrind") and shutil.which("callgrind_control"):
        return
    if no_install:
        sys.exit("callgrind: valgrind is not installed (apt-get install -y valgrind)")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-E"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(prefix + ["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(prefix + ["apt-get", "install", "-y", "-q", "--no-install-recommends", "valgrind"],
                   check=True, env=env)


class Client:
    """One keep-alive HTTP/1.1 connection; get() sends a GET and reads the whole response."""

    def __init__(self, port):
        self.sock = socket.create_connection((common.LOOPBACK, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.req = ("GET %%s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: canaryd-callgrind\r\nAccept: */*\r\n\r\n"
                    % (common.LOOPBACK, port))

    def get(self, path, cookie=None):
        req = self.req % path
        if cookie:
            req = req[:-2] + "Cookie: %s\r\n\r\n" % cookie
        self.sock.sendall(req.encode())
        status, fields, _ = read_response(self.sock)
        if "content-length" not in fields:
            raise RuntimeError("response without Content-Length: %r" % fields)
        return status, fields.get("x-version")


def callgrind_control(pid, *args):
    p = subprocess.run(["callgrind_control"] + list(args) + [str(pid)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0 or "Error" in out:
        raise RuntimeError("callgrind_control %s: %s" % (" ".join(args), out.strip()))
    return out


def total_ir(path):
    """The `totals:` line at the end of the dump (the `summary:` in its header is 0 with --instr-atstart=no)."""
    with open(path) as f:
        for line in f:
            m = re.match(r"totals:\s+(\d+)", line)
            if m:
                return int(m.group(1))
    raise RuntimeError("no totals in %s" % path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="counted requests (default 2000)")
    ap.add_argument("--warmup", type=int, default=200, help="requests before counting starts (default 200)")
    ap.add_argument("--bin-dir", default="build", help="directory holding canaryd (default build)")
    ap.add_argument("--path", default="/612b", help="/612b (default) or /64k")
    ap.add_argument("--workdir", help="keep configs, logs and callgrind.out here (default: temporary)")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install valgrind")
    ap.add_argument("--cookies", action="store_true", help="each request carries its own Cookie: user=N")
    ap.add_argument("--access-log", action="store_true",
                    help="canaryd writes its access log (access_log.path) to a file in the workdir")
    ap.add_argument("--affinity", action="store_true",
                    help="--cookies, and canaryd routes by them (routing.affinity.key: cookie:user)")
    args = ap.parse_args()

    bin_dir = args.bin_dir if os.path.isabs(args.bin_dir) or os.path.exists(args.bin_dir) \
        else os.path.join(REPO, args.bin_dir)
    canaryd_bin = os.path.abspath(os.path.join(bin_dir, "canaryd"))
    if not os.access(canaryd_bin, os.X_OK):
        sys.exit("callgrind: %s not found; build it first" % canaryd_bin)
    ensure_valgrind(args.no_install)
    if not find_exe("nginx"):
        sys.exit("callgrind: nginx is not installed (python3 bench/run.py installs it, or apt-get install nginx)")
    common.FD_LIMIT = raise_nofile()

    base = args.workdir or tempfile.mkdtemp(prefix="canaryd-callgrind-")
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o755)
    html = os.path.join(base, "html")
    write_bodies(html)

    # canaryd under callgrind: start_proxy starts "<bin> -c conf"; give it a wrapper as the binary.
    out_file = os.path.join(base, "callgrind.out")
    wrapper = os.path.join(base, "canaryd-callgrind")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=%s %s \"$@\"\n"
                % (out_file, canaryd_bin))
    os.chmod(wrapper, 0o755)

    servers = []
    try:
        p1, p2, pp = free_port(), free_port(), free_port()
        for v, p in (("v1", p1), ("v2", p2)):
            s = start_upstream(v, base, p, html)
            servers.append(s)
            s.wait_ready(args.path)
        routing = "{affinity: {key: 'cookie:user'}}" if args.affinity else ""
        extra = "access_log: {path: %s}\n" % os.path.join(base, "access.log") if args.access_log else ""
        proxy = start_proxy("canaryd", base, pp, p1, p2, wrapper, routing=routing, extra=extra)
        keyed = args.cookies or args.affinity
        servers.append(proxy)
        proxy.wait_ready(args.path, timeout=60.0)
        pid = proxy.proc.pid    # exec'd: valgrind itself

        client = Client(pp)
        for _ in range(args.warmup):
            client.get(args.path)
        callgrind_control(pid, "-i", "on")
        versions = {"v1": 0, "v2": 0}
        errors = 0
        t0 = time.monotonic()
        for i in range(args.requests):
            status, version = client.get(args.path, "user=%d" % i if keyed else None)
            if status != 200 or version not in versions:
                errors += 1
            else:
                versions[version] += 1
        wall = time.monotonic() - t0
        callgrind_control(pid, "-i", "off")
        client.sock.close()
        rc = proxy.stop(timeout=60.0)
        servers.remove(proxy)
        ir = total_ir(out_file)
    finally:
        for s in servers:
            s.stop()

    share = 100.0 * versions["v2"] / max(1, versions["v1"] + versions["v2"])
    print("canaryd %s, %s, %d keep-alive requests on one connection after %d warm-up (%.1f s under valgrind)"
          % (canaryd_bin, args.path, args.requests, args.warmup, wall))
    print("Ir total %d; v2 share %.1f %%; errors %d; canaryd exit status %s" % (ir, share, errors, rc))
    label = " (affinity)" if args.affinity else " (keyed cookies)" if args.cookies else ""
    label += " (access log on)" if args.access_log else ""
    print("instructions per proxied request%s: %.0f" % (label, ir / args.requests))
    print("callgrind output: %s (callgrind_annotate %s)" % (out_file, out_file))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
