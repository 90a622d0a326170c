#!/usr/bin/env python3
"""canaryd benchmark: canaryd against HAProxy 2.6 and nginx, in front of real nginx upstreams.

    python3 bench/run.py [--rounds 3] [--duration 10] [--scenarios LIST] [--bin-dir build]

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

Standard library only. Nothing is pinned (2 cores are shared by wrk, the proxy and the two upstreams).
"""

import argparse
import collections
import datetime
import hashlib
import http.client
import json
import os
import platform
import re
import resource
import select
import selectors
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LOOPBACK = "127.0.0.1"
NOFILE = 131072                      # RLIMIT_NOFILE wanted for the harness and every process it starts
FD_LIMIT = NOFILE                    # what raise_nofile() obtained (the hard limit if it cannot be raised)
MAXCONN = 12000                      # HAProxy maxconn: the idle connections + 2000 (set in main)
CLK_TCK = os.sysconf("SC_CLK_TCK")
WRK_THREADS = 2
CANARY_WEIGHT = 10.0                 # percent, for every proxy
SPLIT_TOLERANCE = 1.0                # percentage points
SMALL_SIZE = 612
LARGE_SIZE = 64 * 1024
KEEPALIVE = "300s"                   # idle keep-alive timeouts everywhere, well beyond a run
WILDCARD = "0.0.0.0"                 # upstreams of the endpoint-count scenarios: every 127.0.X.Y reaches them
WARMUP_S = 3                         # uncounted wrk run first: 1,000 endpoints start with empty keep-alive pools
WEIGHT_RATE = 100                    # weight changes per second in the -weights scenario
WEIGHT_VALUES = (9.99, 10.01)        # alternated: each call is a real change, the split check (10 +- 1) holds
TARGET_RATIO = 0.95                  # canaryd-only pairs: req/s of B / req/s of A at least this

PROXIES = ["direct", "canaryd", "haproxy", "nginx"]
PROXY_TITLES = {"direct": "direct (v1 nginx)", "canaryd": "canaryd", "haproxy": "HAProxy", "nginx": "nginx"}

# name -> (description, path, body size, wrk connections, Connection: close, idle)
SCENARIOS = collections.OrderedDict([
    ("612b-c64", ("612 B, 64 connections", "/612b", SMALL_SIZE, 64, False, False)),
    ("612b-c64-ep4", ("612 B, 64 connections, canaryd only: 4 endpoints per set (warm-up first)", "/612b",
                      SMALL_SIZE, 64, False, False)),
    ("612b-c64-ep1000", ("612 B, 64 connections, canaryd only: 1,000 endpoints per set (warm-up first)",
                         "/612b", SMALL_SIZE, 64, False, False)),
    ("612b-c64-steady", ("612 B, 64 connections, canaryd only: the weight stays at 10 (baseline of -weights)",
                         "/612b", SMALL_SIZE, 64, False, False)),
    ("612b-c64-weights", ("612 B, 64 connections, canaryd only: %d PUT /api/weight per second (%g / %g) "
                          "during the run" % ((WEIGHT_RATE,) + WEIGHT_VALUES), "/612b", SMALL_SIZE, 64, False,
                          False)),
    ("612b-c512", ("612 B, 512 connections", "/612b", SMALL_SIZE, 512, False, False)),
    ("64k-c64", ("64 KiB, 64 connections", "/64k", LARGE_SIZE, 64, False, False)),
    ("close-c64", ("612 B, new connection per request (Connection: close), 64 connections", "/612b",
                   SMALL_SIZE, 64, True, False)),
    ("idle-10k", ("idle keep-alive client connections", "/612b", SMALL_SIZE, 0, False, True)),
])

# Scenarios only canaryd runs: what they vary. endpoints: per set (1: the usual 127.0.0.1 pair);
# warmup_s: an uncounted wrk run before the measured one; weight_rate: PUT /api/weight per second.
CanarydOnly = collections.namedtuple("CanarydOnly", "group endpoints warmup_s weight_rate")
CANARYD_ONLY = collections.OrderedDict([
    ("612b-c64-ep4", CanarydOnly("endpoints", 4, WARMUP_S, 0)),
    ("612b-c64-ep1000", CanarydOnly("endpoints", 1000, WARMUP_S, 0)),
    ("612b-c64-steady", CanarydOnly("weights", 1, 0, 0)),
    ("612b-c64-weights", CanarydOnly("weights", 1, 0, WEIGHT_RATE)),
])
# group -> (A, B): the target is req/s of B / req/s of A >= TARGET_RATIO
PAIRS = collections.OrderedDict([
    ("endpoints", ("612b-c64-ep4", "612b-c64-ep1000")),
    ("weights", ("612b-c64-steady", "612b-c64-weights")),
])

WRK_LUA = r"""
-- canaryd bench: counts responses per upstream version (X-Version, set by the v1/v2 nginx), non-2xx
-- statuses and bodies of the wrong length; per-thread counters are summed in done() via setup().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = tonumber(args[1]) or -1
  v1 = 0
  v2 = 0
  nover = 0
  non2xx = 0
  badlen = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  local v = headers["X-Version"] or headers["x-version"]
  if v == "v1" then v1 = v1 + 1 elseif v == "v2" then v2 = v2 + 1 else nover = nover + 1 end
  if expected >= 0 and string.len(body) ~= expected then badlen = badlen + 1 end
end

function done(summary, latency, requests)
  local s = {v1 = 0, v2 = 0, nover = 0, non2xx = 0, badlen = 0}
  for _, t in ipairs(threads) do
    for k, _ in pairs(s) do s[k] = s[k] + t:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    "WRKLUA requests=%d duration_us=%d v1=%d v2=%d nover=%d non2xx=%d badlen=%d " ..
    "connect=%d read=%d write=%d timeout=%d status=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, s.v1, s.v2, s.nover, s.non2xx, s.badlen,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- environment


def find_exe(name):
    path = shutil.which(name)
    if path:
        return path
    for d in ("/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def ensure_packages():
    """Installs nginx, haproxy and wrk from Debian when one is missing."""
    missing = [pkg for pkg in ("nginx", "haproxy", "wrk") if not find_exe(pkg)]
    if not missing:
        return
    prefix = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            sys.exit("bench: %s missing and not root (run as root, or apt-get install -y %s)"
                     % (", ".join(missing), " ".join(missing)))
        prefix = ["sudo", "-E"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log("bench: installing %s from Debian" % " ".join(missing))
    subprocess.run(prefix + ["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(prefix + ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing,
                   check=True, env=env)
    still = [pkg for pkg in missing if not find_exe(pkg)]
    if still:
        sys.exit("bench: still missing after apt-get: %s" % ", ".join(still))


def raise_nofile():
    """RLIMIT_NOFILE to NOFILE, or to the hard limit when that cannot be raised (no CAP_SYS_RESOURCE);
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard >= NOFILE:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, hard))
        return NOFILE
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
        return NOFILE
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard


def first_line(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        out = p.stdout.decode(errors="replace").strip().splitlines()
        return out[0].strip() if out else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info(canaryd_bin):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return collections.OrderedDict([
        ("nproc", str(os.cpu_count())),
        ("cpu", cpu),
        ("memory", mem),
        ("kernel", platform.release()),
        ("os", first_line(["sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""])),
        ("canaryd", first_line([canaryd_bin, "--version"])),
        ("nginx", first_line([find_exe("nginx"), "-v"])),
        ("haproxy", first_line([find_exe("haproxy"), "-v"])),
        ("wrk", first_line([find_exe("wrk"), "--version"])),
        ("python", platform.python_version()),
    ])


def free_port(host=LOOPBACK):
    """A port free on `host` (WILDCARD: free on every address, as a wildcard listen needs)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=2.0):
    """One GET on a fresh connection; returns (status, headers dict lowercased, body)."""
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                   % (path, LOOPBACK, port)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


# ---------------------------------------------------------------- /proc


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def proc_children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        pass
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return kids


def machine_busy_seconds():
    """CPU seconds all processes of the machine spent (user + nice + system, every core), /proc/stat."""
    with open("/proc/stat") as f:
        v = f.readline().split()
    return (int(v[1]) + int(v[2]) + int(v[3])) / CLK_TCK


def own_seconds():
    """CPU of the harness and of its reaped children (wrk)."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def top_processes(seconds=1.0, n=3):
    """[(cores, 'pid comm')] of the busiest processes over `seconds`."""
    def snap():
        out = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        head, tail = f.read().rsplit(")", 1)
                    fields = tail.split()
                    out[int(d)] = (head.split("(", 1)[1], int(fields[11]) + int(fields[12]))
                except (OSError, ValueError, IndexError):
                    pass
        return out
    a = snap()
    time.sleep(seconds)
    b = snap()
    busy = [((b[p][1] - a[p][1]) / CLK_TCK / seconds, "%d %s" % (p, b[p][0])) for p in b if p in a]
    return sorted(busy, reverse=True)[:n]


def wait_quiet(limit_cores, max_wait):
    """Waits (up to max_wait s) until processes other than the harness use less than limit_cores.
    Returns (seconds waited, busy cores at the end, busiest processes when it was not quiet)."""
    t0 = time.monotonic()
    logged = None
    while True:
        t1, b0, o0 = time.monotonic(), machine_busy_seconds(), own_seconds()
        top = top_processes(1.0)
        busy = (machine_busy_seconds() - b0 - (own_seconds() - o0)) / (time.monotonic() - t1)
        waited = time.monotonic() - t0
        if busy <= limit_cores or waited >= max_wait:
            return waited, busy, logged
        if logged is None:
            logged = ", ".join("%s %.2f" % (name, c) for c, name in top)
            log("bench:     machine busy (%.2f cores: %s); waiting up to %.0f s" % (busy, logged, max_wait))


class CpuWatch:
    """CPU used on the machine during a measurement by processes that are not part of it."""

    def __init__(self, servers):
        self.servers = servers
        self.t0 = time.monotonic()
        self.machine0 = machine_busy_seconds()
        self.own0 = own_seconds()
        self.srv0 = [self._cpu(s) for s in servers]

    @staticmethod
    def _cpu(s):
        try:
            return s.cpu()
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        wall = time.monotonic() - self.t0
        machine = machine_busy_seconds() - self.machine0
        ours = own_seconds() - self.own0
        for s, c0 in zip(self.servers, self.srv0):
            c1 = self._cpu(s)
            if c0 is not None and c1 is not None:
                ours += c1 - c0
        return {"machine_cores": machine / wall, "ours_cores": ours / wall,
                "foreign_cores": max(0.0, machine - ours) / wall}


# ---------------------------------------------------------------- processes


class Server:
    """A started process: `cpu_pids` are summed for CPU, `mem_pid` gives RSS (nginx: the worker)."""

    def __init__(self, name, cmd, workdir, port, nginx_master=False):
        self.name = name
        self.cmd = cmd
        self.port = port
        self.log_path = os.path.join(workdir, name + ".log")
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT, cwd=workdir,
                                     preexec_fn=raise_nofile, start_new_session=True)
        self.nginx_master = nginx_master
        self.cpu_pids = [self.proc.pid]
        self.mem_pid = self.proc.pid

    def wait_ready(self, path, timeout=10.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s at start-up; log %s:\n%s"
                                   % (self.name, self.proc.returncode, self.log_path, self.log_tail()))
            try:
                status, _, _ = http_get(self.port, path, timeout=1.0)
                if status == 200:
                    break
                last = "status %d" % status
            except OSError as e:
                last = str(e)
            time.sleep(0.05)
        else:
            raise RuntimeError("%s not ready on port %d within %.0f s (%s); log %s:\n%s"
                               % (self.name, self.port, timeout, last, self.log_path, self.log_tail()))
        if self.nginx_master:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                kids = proc_children(self.proc.pid)
                if kids:
                    self.cpu_pids = [self.proc.pid] + kids
                    self.mem_pid = kids[0]
                    return
                time.sleep(0.05)
            raise RuntimeError("%s: no nginx worker process found" % self.name)

    def alive(self):
        if self.proc.poll() is not None:
            return False
        if self.nginx_master:
            return sorted(proc_children(self.proc.pid)) == sorted(self.cpu_pids[1:])
        return True

    def cpu(self):
        return sum(proc_cpu_seconds(p) for p in self.cpu_pids)

    def rss_kib(self):
        return proc_status_kib(self.mem_pid, "VmRSS")

    def hwm_kib(self):
        return proc_status_kib(self.mem_pid, "VmHWM")

    def log_tail(self, n=15):
        try:
            self.logf.flush()
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return ""

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL; returns the exit status (None if it had to be killed)."""
        rc = self.proc.poll()
        if rc is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = None
        self.logf.close()
        return rc


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def nginx_paths(d):
    return ("client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy; "
            "fastcgi_temp_path {d}/tmp/fastcgi; uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;"
            ).format(d=d)


def start_nginx(name, workdir, port, http_body):
    d = os.path.join(workdir, name)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    conf = """# generated by bench/run.py
worker_processes 1;
worker_rlimit_nofile {nofile};
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections {wc}; }}
http {{
    access_log off;
    {paths}
{body}
}}
""".format(nofile=FD_LIMIT, wc=FD_LIMIT - 100, d=d, paths=nginx_paths(d), body=http_body)
    conf_path = write(os.path.join(d, "nginx.conf"), conf)
    nginx = find_exe("nginx")
    srv = Server(name, [nginx, "-p", d, "-c", conf_path, "-e", d + "/logs/error.log"], workdir, port,
                 nginx_master=True)
    srv.error_log = os.path.join(d, "logs", "error.log")
    return srv


def start_upstream(version, workdir, port, html, host=LOOPBACK):
    """host WILDCARD: the nginx answers on every 127.0.X.Y, so many endpoint addresses reach one process."""
    body = """    keepalive_timeout {ka};
    keepalive_requests 1000000;
    sendfile on;
    server {{
        listen {ip}:{port} backlog=4096;
        root {html};
        location / {{ add_header X-Version {v} always; }}
        location = /nginx_status {{ stub_status; }}
    }}""".format(ka=KEEPALIVE, ip=host, port=port, html=html, v=version)
    return start_nginx("upstream-" + version, workdir, port, body)


def endpoint_ips(n, first=0):
    """n distinct loopback addresses 127.0.X.Y (X and Y in 1..254), from the first-th on. Linux routes
    all of 127.0.0.0/8 to lo, so each reaches a wildcard-bound upstream; canaryd sees n endpoints."""
    return ["127.0.%d.%d" % (1 + i // 254, 1 + i % 254) for i in range(first, first + n)]


def canaryd_endpoints(up1, up2, per_set):
    """The endpoints: list as YAML lines; per_set 1 is the usual 127.0.0.1 pair, more take distinct
    127.0.X.Y addresses (v2's after v1's), since canaryd identifies an endpoint by its address."""
    if per_set <= 1:
        pairs = [(LOOPBACK, up1, "v1"), (LOOPBACK, up2, "v2")]
    else:
        pairs = ([(ip, up1, "v1") for ip in endpoint_ips(per_set)]
                 + [(ip, up2, "v2") for ip in endpoint_ips(per_set, per_set)])
    return "\n".join("  - {address: %s:%d, labels: {name: nginx, version: %s}}" % p for p in pairs)


def start_proxy(kind, workdir, port, up1, up2, canaryd_bin, per_set=1):
    """per_set: canaryd endpoints per set (the other proxies always have one v1 and one v2 server)."""
    if kind == "canaryd":
        cport = free_port()
        conf = """# generated by bench/run.py
listen:
  - address: {ip}:{port}
threads: 1
control:
  address: {ip}:{cport}
state_file: {d}/canaryd-state.json
endpoints:
{endpoints}
service:
  selector: {{name: nginx}}
  stable: {{version: v1}}
  canary: {{version: v2}}
  canary_weight: {w:g}
timeouts: {{connect: 2s, upstream: 30s, client_header: 10s, keepalive_idle: 5m, drain: 1s}}
""".format(ip=LOOPBACK, port=port, cport=cport, d=workdir, endpoints=canaryd_endpoints(up1, up2, per_set),
           w=CANARY_WEIGHT)
        path = write(os.path.join(workdir, "canaryd.yaml"), conf)
        srv = Server("canaryd", [canaryd_bin, "-c", path], workdir, port)
        srv.control_port = cport
        return srv
    if kind == "haproxy":
        w2 = int(CANARY_WEIGHT)
        conf = """# generated by bench/run.py
global
    nbthread 1
    maxconn {maxconn}
    ulimit-n {fds}
    no strict-limits
defaults
    mode http
    maxconn {maxconn}
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client {ka}
    timeout server 30s
    timeout http-request 10s
    timeout http-keep-alive {ka}
frontend fe
    bind {ip}:{port}
    default_backend be
backend be
    balance roundrobin
    server v1 {ip}:{p1} weight {w1}
    server v2 {ip}:{p2} weight {w2}
""".format(ka=KEEPALIVE, ip=LOOPBACK, port=port, p1=up1, p2=up2, w1=100 - w2, w2=w2, maxconn=MAXCONN,
           fds=FD_LIMIT)
        path = write(os.path.join(workdir, "haproxy.cfg"), conf)
        return Server("haproxy", [find_exe("haproxy"), "-db", "-f", path], workdir, port)
    if kind == "nginx":
        body = """    keepalive_timeout {ka};
    keepalive_requests 1000000;
    upstream app {{
        server {ip}:{p1} weight=9;
        server {ip}:{p2} weight=1;
        keepalive 512;
        keepalive_requests 1000000;
        keepalive_timeout {ka};
    }}
    server {{
        listen {ip}:{port} backlog=4096;
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}""".format(ka=KEEPALIVE, ip=LOOPBACK, port=port, p1=up1, p2=up2)
        return start_nginx("proxy-nginx", workdir, port, body)
    raise ValueError(kind)


def stub_requests(port):
    """The upstream nginx's request counter (stub_status), or None."""
    try:
        status, _, body = http_get(port, "/nginx_status")
        m = re.search(rb"\n\s*\d+\s+\d+\s+(\d+)", body)
        return int(m.group(1)) if status == 200 and m else None
    except OSError:
        return None


# ---------------------------------------------------------------- load


def run_wrk(workdir, tag, port, path, size, conns, close, duration):
    script = os.path.join(workdir, "count.lua")
    if not os.path.exists(script):
        write(script, WRK_LUA)
    cmd = [find_exe("wrk"), "-t%d" % WRK_THREADS, "-c%d" % conns, "-d%ds" % duration, "--latency",
           "--timeout", "5s", "-s", script]
    if close:
        cmd += ["-H", "Connection: close"]
    cmd += ["http://%s:%d%s" % (LOOPBACK, port, path), "--", str(size)]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=duration + 60,
                           preexec_fn=raise_nofile)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace"), "timeout"
    write(os.path.join(workdir, "wrk-%s.out" % tag), " ".join(map(shlex.quote, cmd)) + "\n" + out)
    m = re.search(r"^WRKLUA (.*)$", out, re.M)
    if not m:
        return None, "wrk printed no summary (exit %s): %s" % (rc, out.strip()[-300:])
    f = {k: int(v) for k, v in (kv.split("=", 1) for kv in m.group(1).split())}
    return f, None


def wrk_errors(f, prefix=""):
    return collections.OrderedDict(
        (prefix + k, f[k]) for k in ("connect", "read", "write", "timeout", "non2xx", "badlen", "nover") if f[k])


def warm_up(srv, workdir, tag, sc, seconds):
    """An uncounted wrk run with the scenario's load. canaryd's per-endpoint keep-alive pools start empty:
    with 1,000 endpoints per set the measured run would otherwise pay for ~2,000 upstream connects. Its
    errors still count (as warmup_*): a failure is a failure."""
    _, path, size, conns, close, _ = sc
    r = {"problems": [], "errors": collections.OrderedDict()}
    f, err = run_wrk(workdir, tag + "-warmup", srv.port, path, size, conns, close, seconds)
    if err:
        r["problems"].append("warm-up: " + err)
        r["errors"]["warmup_wrk"] = 1
        return r
    r["warmup_rps"] = f["requests"] / (f["duration_us"] / 1e6) if f["duration_us"] else 0.0
    r["errors"].update(wrk_errors(f, "warmup_"))
    return r


def measure_load(srv, ups, workdir, tag, sc, duration, changer=None):
    """changer: a WeightChanger, started just before wrk and stopped as soon as wrk is done."""
    _, path, size, conns, close, _ = sc
    r = collections.OrderedDict()
    stub0 = [stub_requests(u.port) for u in ups]
    cpu0 = srv.cpu()
    t0 = time.monotonic()
    if changer:
        changer.start()
    f, err = run_wrk(workdir, tag, srv.port, path, size, conns, close, duration)
    if changer:
        changer.finish()
    wall = time.monotonic() - t0
    alive = srv.alive()
    cpu1 = srv.cpu() if alive else None
    hwm = srv.hwm_kib() if alive else None
    stub1 = [stub_requests(u.port) for u in ups]
    r["problems"] = []
    if changer:
        r.update(changer.summary())
        r["problems"] += changer.problems()
    if err:
        r["problems"].append(err)
        r["errors"] = collections.OrderedDict(changer.errors if changer else {})
        return r
    req = f["requests"]
    r["requests"] = req
    r["rps"] = req / (f["duration_us"] / 1e6) if f["duration_us"] else 0.0
    r["p50_ms"] = f["p50_us"] / 1000.0
    r["p99_ms"] = f["p99_us"] / 1000.0
    r["max_ms"] = f["max_us"] / 1000.0
    r["cpu_s"] = (cpu1 - cpu0) if cpu1 is not None else None
    r["cpu_per_100k"] = (cpu1 - cpu0) / req * 1e5 if cpu1 is not None and req else None
    r["peak_rss_kib"] = hwm
    r["wall_s"] = wall
    r["v1"], r["v2"] = f["v1"], f["v2"]
    r["v2_share"] = 100.0 * f["v2"] / (f["v1"] + f["v2"]) if f["v1"] + f["v2"] else None
    r["errors"] = wrk_errors(f)
    if changer:
        r["errors"].update(changer.errors)
    if not alive:
        r["errors"]["proxy_died"] = 1
        r["problems"].append("%s died during the run (exit %s); log tail:\n%s"
                             % (srv.name, srv.proc.poll(), srv.log_tail()))
    if req == 0:
        r["errors"]["no_requests"] = 1
    if None not in stub0 and None not in stub1:
        # the counter includes the stub_status request that reads it: subtract one per upstream
        r["upstream_v1"], r["upstream_v2"] = stub1[0] - stub0[0] - 1, stub1[1] - stub0[1] - 1
    return r


# ---------------------------------------------------------------- weight changes during load


def api_revision(port):
    """canaryd's current revision (GET /api/status), or None."""
    try:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
        try:
            conn.request("GET", "/api/status")
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        return json.loads(body)["revision"] if resp.status == 200 else None
    except (OSError, http.client.HTTPException, ValueError, KeyError):
        return None


def read_response(sock):
    """One HTTP/1.1 response with Content-Length from a blocking socket: (status, fields, body), field
    names in lower case. Used by the weight-change client and bench/callgrind.py."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ValueError("connection closed before a response")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    length = int(fields.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(length - len(rest))
        if not chunk:
            raise ValueError("connection closed inside a response")
        rest += chunk
    if len(rest) > length:
        raise ValueError("bytes after the response")
    return status, fields, rest


class WeightChanger(threading.Thread):
    """Sends PUT /api/weight `rate` times per second over one keep-alive HTTP/1.1 connection, alternating
    WEIGHT_VALUES. Paced on a monotonic schedule: call k is due at start + k / rate, never sent early; a
    late one goes out at once, so a stall is caught up and the average rate holds when canaryd keeps up.
    Runs in the harness process (its CPU is counted as ours, not as other processes')."""

    def __init__(self, port, rate):
        super().__init__(name="weight-changer", daemon=True)
        self.port, self.rate = port, rate
        self.halt = threading.Event()
        self.sent = self.ok = self.connections = 0
        self.errors = collections.Counter()
        self.first_error = None
        self.latencies = []
        self.elapsed = self.cpu_s = None
        self.rev0 = self.rev1 = None

    def start(self):
        self.rev0 = api_revision(self.port)
        super().start()

    def finish(self):
        self.halt.set()
        self.join(30)
        if self.is_alive():
            self.errors["api_stuck"] += 1
        self.rev1 = api_revision(self.port)

    def run(self):
        # A plain socket and requests encoded in advance: the client shares the 2 cores with wrk and
        # canaryd, so it should cost as little as it can (http.client + json cost several times more).
        requests = [self.encode(w) for w in WEIGHT_VALUES]
        sock = None
        t0, cpu0 = time.monotonic(), time.thread_time()
        k = 0
        try:
            while not self.halt.wait(max(0.0, t0 + k / self.rate - time.monotonic())):
                if sock is None:
                    self.connections += 1
                    try:
                        sock = socket.create_connection((LOOPBACK, self.port), timeout=5)
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    except OSError as e:
                        self.sent += 1
                        self.fail("api_" + type(e).__name__, "%s: %s" % (type(e).__name__, e))
                        sock = None
                        k += 1
                        continue
                if not self.call(sock, requests[k % len(requests)]):
                    sock.close()
                    sock = None
                k += 1
        finally:
            self.elapsed = time.monotonic() - t0
            # this client shares the 2 cores with wrk and canaryd: its own cost, to tell it apart
            self.cpu_s = time.thread_time() - cpu0
            if sock is not None:
                sock.close()

    def encode(self, weight):
        body = json.dumps({"canary_weight": weight}).encode()
        return (b"PUT /api/weight HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (LOOPBACK.encode(), self.port, len(body))) + body

    def call(self, sock, request):
        """One call; False when the connection is no longer usable."""
        self.sent += 1
        t = time.monotonic()
        try:
            sock.sendall(request)
            status, fields, body = read_response(sock)
        except (OSError, ValueError) as e:
            self.fail("api_" + type(e).__name__, "%s: %s" % (type(e).__name__, e))
            return False
        self.latencies.append(time.monotonic() - t)
        if status == 200:
            self.ok += 1
        else:
            self.fail("api_%d" % status, "%d %s" % (status, body[:200].decode(errors="replace")))
        return fields.get("connection", "").lower() != "close"

    def fail(self, kind, text):
        self.errors[kind] += 1
        if self.first_error is None:
            self.first_error = "PUT /api/weight #%d: %s" % (self.sent, text)

    def summary(self):
        lat = sorted(self.latencies)
        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else None  # noqa: E731
        return collections.OrderedDict([
            ("api_sent", self.sent), ("api_ok", self.ok), ("api_connections", self.connections),
            ("api_s", self.elapsed), ("api_client_cpu_s", self.cpu_s),
            ("api_rate", self.ok / self.elapsed if self.elapsed else None),
            ("api_p50_ms", pct(0.5)), ("api_p99_ms", pct(0.99)), ("api_max_ms", lat[-1] * 1000 if lat else None),
            ("api_revisions", self.rev1 - self.rev0 if None not in (self.rev0, self.rev1) else None),
        ])

    def problems(self):
        out = [self.first_error] if self.first_error else []
        s = self.summary()
        # every applied change is a revision (CONTRACT 4): a cross-check that the 200s were changes
        if s["api_revisions"] is not None and s["api_revisions"] != self.ok:
            out.append("revision went up by %d for %d answered calls" % (s["api_revisions"], self.ok))
        if self.connections > 1:
            out.append("the control connection was opened %d times (expected one keep-alive connection)"
                       % self.connections)
        return out


# ---------------------------------------------------------------- idle connections


def parse_head(buf):
    """(status, content_length, version) once the header is complete, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    cl, version = 0, None
    for line in lines[1:]:
        k, _, v = line.partition(":")
        k = k.strip().lower()
        if k == "content-length":
            cl = int(v.strip())
        elif k == "x-version":
            version = v.strip()
    return status, end + 4, cl, version


def open_idle(port, n, path, size, concurrency=256, timeout=120.0):
    """Opens n keep-alive connections, each sends one GET and reads the whole response, then stays
    open. Returns (open sockets, version counter, error counter, seconds)."""
    request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: canaryd-bench\r\n\r\n"
               % (path, LOOPBACK, port)).encode()
    sel = selectors.DefaultSelector()
    done, versions, errors = [], collections.Counter(), collections.Counter()
    started, active = 0, 0
    t0 = time.monotonic()
    deadline = t0 + timeout

    def fail(s, kind):
        nonlocal active
        errors[kind] += 1
        sel.unregister(s)
        s.close()
        active -= 1

    while started < n or active:
        while started < n and active < concurrency:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            rc = s.connect_ex((LOOPBACK, port))
            started += 1
            if rc not in (0, 115):          # EINPROGRESS
                errors["connect"] += 1
                s.close()
                continue
            sel.register(s, selectors.EVENT_WRITE, {"stage": "connect", "buf": b""})
            active += 1
        if time.monotonic() > deadline:
            for key in list(sel.get_map().values()):
                fail(key.fileobj, "timeout")
            break
        for key, _ in sel.select(1.0):
            s, st = key.fileobj, key.data
            if st["stage"] == "connect":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(s, "connect")
                    continue
                try:
                    s.send(request)         # small: goes out whole on a fresh socket
                except OSError:
                    fail(s, "write")
                    continue
                st["stage"] = "read"
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            try:
                chunk = s.recv(131072)
            except OSError:
                fail(s, "read")
                continue
            if not chunk:
                fail(s, "closed")
                continue
            st["buf"] += chunk
            head = parse_head(st["buf"])
            if head is None:
                continue
            status, body_at, cl, version = head
            if len(st["buf"]) < body_at + cl:
                continue
            sel.unregister(s)
            active -= 1
            if status != 200:
                errors["non2xx"] += 1
            if cl != size or len(st["buf"]) != body_at + cl:
                errors["badlen"] += 1
            if version in ("v1", "v2"):
                versions[version] += 1
            else:
                errors["nover"] += 1
            done.append(s)
    sel.close()
    return done, versions, errors, time.monotonic() - t0


def closed_count(socks):
    """Connections the server closed (or that became readable) while they should be idle."""
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLIN | select.POLLRDHUP | select.POLLERR | select.POLLHUP)
    return len(p.poll(0))


def measure_idle(srv, workdir, sc, n, hold):
    _, path, size, _, _, _ = sc
    r = collections.OrderedDict()
    r["problems"] = []
    time.sleep(0.3)
    rss0 = srv.rss_kib()
    socks, versions, errors, secs = open_idle(srv.port, n, path, size)
    try:
        time.sleep(hold)
        alive = srv.alive()
        rss1 = srv.rss_kib() if alive else None
        hwm = srv.hwm_kib() if alive else None
        closed = closed_count(socks)
    finally:
        for s in socks:
            s.close()
    r["connections"] = len(socks)
    r["open_s"] = secs
    r["rss_before_kib"] = rss0
    r["rss_after_kib"] = rss1
    r["rss_per_conn_kib"] = (rss1 - rss0) / n if rss1 is not None else None
    r["peak_rss_kib"] = hwm
    r["v1"], r["v2"] = versions["v1"], versions["v2"]
    r["v2_share"] = 100.0 * versions["v2"] / (versions["v1"] + versions["v2"]) if socks else None
    r["errors"] = collections.OrderedDict((k, v) for k, v in errors.items() if v)
    if closed:
        r["errors"]["closed_while_idle"] = closed
    if not alive:
        r["errors"]["proxy_died"] = 1
        r["problems"].append("%s died during the run (exit %s); log tail:\n%s"
                             % (srv.name, srv.proc.poll(), srv.log_tail()))
    return r


# ---------------------------------------------------------------- one run


def one_run(args, kind, scen_name, rnd, canaryd_bin, base, attempt=1):
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
            srv = start_proxy(kind, workdir, free_port(), p1, p2, canaryd_bin, per_set)
            servers.append(srv)
            srv.wait_ready("/612b")
        if per_set > 1:
            r["endpoints_per_set"] = per_set
        # before the CPU watch: the warm-up is not part of the measurement
        warm = warm_up(srv, workdir, tag, sc, only.warmup_s) if only and only.warmup_s else None
        changer = WeightChanger(srv.control_port, only.weight_rate) if only and only.weight_rate else None
        watch = CpuWatch(servers)
        if sc[5]:
            r.update(measure_idle(srv, workdir, sc, args.idle_connections, args.idle_hold))
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


# ---------------------------------------------------------------- summary


def med(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec, dash="–"):
    return dash if v is None else format(v, spec)


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "–"


def proxies_of(sn, proxies):
    """The proxies a scenario runs on: the canaryd-only ones run canaryd alone (nothing without it)."""
    if sn in CANARYD_ONLY:
        return ["canaryd"] if "canaryd" in proxies else []
    return proxies


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
            for p in proxies:
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


def paired_ratios(results, a, b):
    """req/s of b / req/s of a in each round where both runs were valid (a and b ran back to back)."""
    out = []
    for rnd in sorted({r["round"] for r in results}):
        ra = [r for r in results if r["round"] == rnd and r["scenario"] == a and r["valid"] and r.get("rps")]
        rb = [r for r in results if r["round"] == rnd and r["scenario"] == b and r["valid"] and r.get("rps")]
        if ra and rb:
            out.append(rb[0]["rps"] / ra[0]["rps"])
    return out


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
    verdict = "**met**" if q >= TARGET_RATIO else "**not met**"
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
        ratio(row["p99"], base["p99"]), ratio(row["cpu"], base["cpu"]), TARGET_RATIO, verdict), ""]
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
                fmt(rate, ".1f"), row["api_errors"], TARGET_RATIO, 100 * (1 - TARGET_RATIO), verdict))
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
                 "run, `--timeout 5s`; idle: %d connections held %.0f s. Medians over the valid runs. "
                 "Nothing is pinned: the %s cores are shared by wrk, the proxy and the two upstream nginx."
                 % (args.rounds, " ".join(proxies), "; the canaryd-only ones as canaryd alone" if only else "",
                    WRK_THREADS, args.duration, args.idle_connections, args.idle_hold, info["nproc"]))
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


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3); medians over them")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="comma-separated, from: %s (default: all)" % ", ".join(SCENARIOS))
    ap.add_argument("--proxies", default=",".join(PROXIES), help="comma-separated, from: %s" % ", ".join(PROXIES))
    ap.add_argument("--bin-dir", default="build", help="directory holding canaryd (default build)")
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
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install missing tools")
    ap.add_argument("--report-only", metavar="RESULTS_JSON", help="measure nothing: render the report again "
                    "from the results.json of an earlier run (with that run's settings) to --output")
    args = ap.parse_args()
    if args.report_only:
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

    scen_names = [s for s in args.scenarios.split(",") if s]
    proxies = [p for p in args.proxies.split(",") if p]
    bad = [s for s in scen_names if s not in SCENARIOS] + [p for p in proxies if p not in PROXIES]
    if bad or args.rounds < 1 or args.duration < 1:
        ap.error("unknown scenario/proxy %s (or rounds/duration < 1)" % ", ".join(bad))
    skipped = [sn for sn in scen_names if not proxies_of(sn, proxies)]
    if skipped:
        log("bench: skipping %s (canaryd only, and canaryd is not in --proxies)" % ", ".join(skipped))
        scen_names = [sn for sn in scen_names if sn not in skipped]
    if not scen_names:
        ap.error("nothing to run")
    bin_dir = args.bin_dir
    if not os.path.isabs(bin_dir) and not os.path.exists(bin_dir):
        bin_dir = os.path.join(REPO, bin_dir)
    canaryd_bin = os.path.abspath(os.path.join(bin_dir, "canaryd"))
    if "canaryd" in proxies and not os.access(canaryd_bin, os.X_OK):
        sys.exit("bench: %s not found; build it first: cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "
                 "&& cmake --build build -j" % canaryd_bin)

    if not args.no_install:
        ensure_packages()
    for exe in ("nginx", "haproxy", "wrk"):
        if not find_exe(exe):
            sys.exit("bench: %s is not installed" % exe)
    global FD_LIMIT, MAXCONN
    FD_LIMIT = raise_nofile()
    MAXCONN = args.idle_connections + 2000
    if FD_LIMIT < args.idle_connections + 2000:
        sys.exit("bench: RLIMIT_NOFILE is %d (hard limit), too low for %d idle connections"
                 % (FD_LIMIT, args.idle_connections))
    base = args.workdir or tempfile.mkdtemp(prefix="canaryd-bench-")
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o755)              # nginx workers may run as nobody
    html = os.path.join(base, "html")
    os.makedirs(html, exist_ok=True)
    os.chmod(html, 0o755)
    for name, size in (("612b", SMALL_SIZE), ("64k", LARGE_SIZE)):
        line = b"canaryd bench body " * (size // 19 + 1)
        with open(os.path.join(html, name), "wb") as f:
            f.write(line[:size - 1] + b"\n")
        os.chmod(os.path.join(html, name), 0o644)
    # measure a copy: a rebuild of --bin-dir during the benchmark must not change the binary half-way
    build_info = "?"
    if os.path.exists(canaryd_bin):
        snap = os.path.join(base, "canaryd")
        shutil.copy2(canaryd_bin, snap)
        with open(snap, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        built = datetime.datetime.fromtimestamp(os.stat(snap).st_mtime, datetime.timezone.utc)
        build_info = "%s, built %s UTC, sha256 %s" % (os.path.relpath(canaryd_bin, REPO),
                                                     built.strftime("%Y-%m-%d %H:%M"), digest)
        canaryd_bin = snap

    info = machine_info(canaryd_bin)
    info["canaryd binary"] = build_info
    head = first_line(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.strip()
    info["git"] = head + (" + uncommitted changes" if dirty else "")
    info["RLIMIT_NOFILE"] = str(FD_LIMIT)
    if "haproxy" in proxies and " 2.6." not in " " + info["haproxy"].split("version", 1)[-1]:
        log("bench: warning: the issue asks for HAProxy 2.6; found %s" % info["haproxy"])
    log("bench: " + "; ".join("%s: %s" % kv for kv in info.items()))

    command = " ".join(["python3", "bench/run.py"] + [shlex.quote(a) for a in sys.argv[1:]])
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    results, discarded = [], []
    total = args.rounds * sum(len(proxies_of(sn, proxies)) for sn in scen_names)
    try:
        for rnd in range(1, args.rounds + 1):
            for sn in scen_names:
                for p in proxies_of(sn, proxies):
                    for attempt in range(1, args.retries + 2):
                        waited, busy, top = (0.0, 0.0, None) if SCENARIOS[sn][5] else wait_quiet(
                            args.max_foreign_cpu, args.quiet_wait)
                        r = one_run(args, p, sn, rnd, canaryd_bin, base, attempt)
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


if __name__ == "__main__":
    sys.exit(main())
