"""The processes a run starts and their configs: the v1/v2 nginx upstreams and the proxy under test
(canaryd, HAProxy or nginx), each a Server with its CPU, RSS and log."""

import os
import re
import signal
import subprocess
import time

from . import common, placement
from .common import CANARY_WEIGHT, KEEPALIVE, LOOPBACK, write
from .environment import find_exe, free_port, http_get, raise_nofile
from .procfs import proc_children, proc_cpu_seconds, proc_status_kib
from .scenarios import LARGE_SIZE, SMALL_SIZE


PROXIES = ["direct", "canaryd", "haproxy", "nginx"]
# canaryd-uring: a second canaryd, built with -DCANARYD_IO_URING=ON (run.py --uring-bin-dir), same config;
# not in the default set.
CANARYD_KINDS = ["canaryd", "canaryd-uring"]
ALL_PROXIES = PROXIES + ["canaryd-uring"]
PROXY_TITLES = {"direct": "direct (v1 nginx)", "canaryd": "canaryd", "canaryd-uring": "canaryd (io_uring)",
                "haproxy": "HAProxy", "nginx": "nginx"}


class Server:
    """A started process: `cpu_pids` are summed for CPU, `mem_pid` gives RSS (nginx: the worker)."""

    def __init__(self, name, cmd, workdir, port, nginx_master=False, role="proxy"):
        """role: "proxy" (the proxy under test) or "other" (an upstream), for --pin (placement.py)."""
        self.name = name
        self.cmd = cmd
        self.port = port
        self.log_path = os.path.join(workdir, name + ".log")
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT, cwd=workdir,
                                     preexec_fn=lambda: start_child(role), start_new_session=True)
        self.nginx_master = nginx_master
        self.cpu_pids = [self.proc.pid]
        self.mem_pid = self.proc.pid

    def wait_ready(self, path, timeout=10.0, h2=False):
        """h2: the check is one HTTP/2 request (h2load -n1), for a listener that speaks HTTP/2 only."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s at start-up; log %s:\n%s"
                                   % (self.name, self.proc.returncode, self.log_path, self.log_tail()))
            try:
                status = h2_get(self.port, path) if h2 else http_get(self.port, path, timeout=1.0)[0]
                if status == 200:
                    break
                last = "status %s" % status
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


def start_child(role):
    """In the child before exec: the descriptor limit and, with --pin, the role's cores."""
    raise_nofile()
    placement.CURRENT.apply(role)


def h2_get(port, path):
    """200 when one HTTP/2 GET (h2load -n1 -c1, prior knowledge) succeeds, else h2load's last line."""
    p = subprocess.run([find_exe("h2load"), "-n1", "-c1", "http://%s:%d%s" % (LOOPBACK, port, path)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    out = p.stdout.decode(errors="replace")
    if re.search(r"^requests: 1 total, 1 started, 1 done, 1 succeeded", out, re.M) and \
            re.search(r"^status codes: 1 2xx", out, re.M):
        return 200
    return (out.strip().splitlines() or ["no output"])[-1]


def nginx_paths(d):
    return ("client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy; "
            "fastcgi_temp_path {d}/tmp/fastcgi; uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;"
            ).format(d=d)


def start_nginx(name, workdir, port, http_body, workers=1, role="proxy"):
    d = os.path.join(workdir, name)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    conf = """# generated by bench/run.py
worker_processes {workers};
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
""".format(workers=workers, nofile=common.FD_LIMIT, wc=common.FD_LIMIT - 100, d=d, paths=nginx_paths(d), body=http_body)
    conf_path = write(os.path.join(d, "nginx.conf"), conf)
    nginx = find_exe("nginx")
    srv = Server(name, [nginx, "-p", d, "-c", conf_path, "-e", d + "/logs/error.log"], workdir, port,
                 nginx_master=True, role=role)
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
    return start_nginx("upstream-" + version, workdir, port, body, role="other")


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


def start_proxy(kind, workdir, port, up1, up2, canaryd_bin, per_set=1, routing="", extra="", h2=False):
    """per_set: canaryd endpoints per set (the other proxies always have one v1 and one v2 server).
    routing: canaryd only, a YAML flow map for its routing section (bench/affinity_cost.py).
    extra: canaryd only, YAML lines appended to its config (bench/access_log_cost.py).
    h2: the client side speaks cleartext HTTP/2 with prior knowledge (canaryd `http2: true`, HAProxy
    `proto h2`, nginx `listen ... http2`); the upstream side stays HTTP/1.1 keep-alive."""
    if kind in CANARYD_KINDS:
        cport = free_port()
        conf = """# generated by bench/run.py
listen:
  - address: {ip}:{port}{h2}
threads: {threads}
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
limits: {{max_connections: {maxconn}}}
""".format(ip=LOOPBACK, port=port, cport=cport, d=workdir, endpoints=canaryd_endpoints(up1, up2, per_set),
           w=CANARY_WEIGHT, h2="\n    http2: true" if h2 else "", maxconn=common.MAXCONN,
           threads=placement.CURRENT.threads)
        if routing:
            conf += "routing: %s\n" % routing
        conf += extra
        path = write(os.path.join(workdir, "canaryd.yaml"), conf)
        srv = Server(kind, [canaryd_bin, "-c", path], workdir, port)
        srv.control_port = cport
        return srv
    if kind == "haproxy":
        w2 = int(CANARY_WEIGHT)
        conf = """# generated by bench/run.py
global
    nbthread {threads}
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
    bind {ip}:{port}{h2}
    default_backend be
backend be
    balance roundrobin
    server v1 {ip}:{p1} weight {w1}
    server v2 {ip}:{p2} weight {w2}
""".format(ka=KEEPALIVE, ip=LOOPBACK, port=port, p1=up1, p2=up2, w1=100 - w2, w2=w2, maxconn=common.MAXCONN,
           fds=common.FD_LIMIT, h2=" proto h2" if h2 else "", threads=placement.CURRENT.threads)
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
        listen {ip}:{port}{h2} backlog=4096;
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}""".format(ka=KEEPALIVE, ip=LOOPBACK, port=port, p1=up1, p2=up2, h2=" http2" if h2 else "")
        return start_nginx("proxy-nginx", workdir, port, body, workers=placement.CURRENT.threads)
    raise ValueError(kind)


def stub_requests(port):
    """The upstream nginx's request counter (stub_status), or None."""
    try:
        status, _, body = http_get(port, "/nginx_status")
        m = re.search(rb"\n\s*\d+\s+\d+\s+(\d+)", body)
        return int(m.group(1)) if status == 200 and m else None
    except OSError:
        return None


def write_bodies(html):
    """The files the upstream nginx serve: /612b and /64k, readable by nginx workers running as nobody."""
    os.makedirs(html, exist_ok=True)
    os.chmod(html, 0o755)
    for name, size in (("612b", SMALL_SIZE), ("64k", LARGE_SIZE)):
        line = b"canaryd bench body " * (size // 19 + 1)
        with open(os.path.join(html, name), "wb") as f:
            f.write(line[:size - 1] + b"\n")
        os.chmod(os.path.join(html, name), 0o644)
