"""Helpers for canaryd's integration tests: real nginx upstreams, scripted raw-socket upstreams,
the real canaryd and canaryctl, and small HTTP clients (http.client and raw sockets).

Standard library only. Everything listens on 127.0.0.1 on free ports; every process is stopped by
its own pid. Waiting is done by polling with a deadline (wait_until), never by a bare sleep.

Each test_*.py file is a standalone script: `python3 test_x.py --bin-dir BUILD_DIR [-k PATTERN]`,
run by ctest (tests/CMakeLists.txt). It calls support.main() at the bottom.
"""

import argparse
import hashlib
import http.client
import json
import mmap
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

LOOPBACK = "127.0.0.1"
THREADS = 2                 # worker threads in every canaryd config (the accuracy bound is THREADS + 1)
BIN_DIR = None              # set by main() from --bin-dir


# ---------------------------------------------------------------- waiting and ports


_issued_ports = set()


def free_port():
    """A loopback port nobody listens on and that this process has not handed out before: the
    kernel may return a just-released ephemeral port again, and two roles of one test (listen and
    control, say) must never get the same one."""
    while True:
        with socket.socket() as s:
            s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        if port not in _issued_ports:
            _issued_ports.add(port)
            return port


def wait_until(predicate, timeout=10.0, interval=0.02, message="condition"):
    """Polls predicate() until it returns a truthy value (returned) or the deadline passes
    (AssertionError naming the condition and the last value or exception)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - the predicate may fail while the thing starts
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s (last: %r)" % (timeout, message, last))
        time.sleep(interval)


def address_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def port_open(port):
    return address_open(LOOPBACK, port)


def wait_port(port, timeout=10.0):
    return wait_until(lambda: port_open(port), timeout, message="port %d to accept connections" % port)


class Workdir:
    def __init__(self, prefix="canaryd-it-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def file(self, name, text=None, mode=None):
        p = os.path.join(self.path, name)
        if text is not None:
            with open(p, "w") as f:
                f.write(text)
            if mode is not None:
                os.chmod(p, mode)
        return p

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


# ---------------------------------------------------------------- deterministic data streams


class Pattern:
    """A deterministic byte stream of `size` bytes made of 1 MiB blocks: block i is a fixed
    pseudo-random block whose first 8 bytes are i (so reordered or repeated blocks change the hash).
    Never held in memory whole."""

    BLOCK = 1 << 20
    _bases = {}
    _hashes = {}

    def __init__(self, size, seed=1):
        self.size = size
        self.seed = seed
        if seed not in Pattern._bases:
            Pattern._bases[seed] = random.Random(seed).randbytes(self.BLOCK)
        self.base = Pattern._bases[seed]

    def blocks(self, block_size=None):
        """Yields the stream in pieces of block_size (default 1 MiB)."""
        left = self.size
        i = 0
        tail = self.base[8:]
        if block_size is None or block_size == self.BLOCK:
            while left > 0:
                b = struct.pack(">Q", i) + tail
                if left < len(b):
                    b = b[:left]
                yield b
                left -= len(b)
                i += 1
        else:
            pending = b""
            for b in self.blocks():
                pending += b
                while len(pending) >= block_size:
                    yield pending[:block_size]
                    pending = pending[block_size:]
            if pending:
                yield pending

    def sha256(self):
        key = (self.size, self.seed)
        if key not in Pattern._hashes:
            h = hashlib.sha256()
            for b in self.blocks():
                h.update(b)
            Pattern._hashes[key] = h.hexdigest()
        return Pattern._hashes[key]


# ---------------------------------------------------------------- nginx upstreams


class Nginx:
    """One nginx master serving several endpoints, one `listen 127.0.0.1:PORT reuseport` server each.
    Every location adds X-Version and X-Endpoint. Locations:
      /headers       echoes the forwarded header values it cares about, one `name=value;` each
      /echo-conn     the nginx connection serial ($connection) in the body and in X-Conn
      /status/204    204 No Content;  /status/304: 304 Not Modified;  /status/404: 404 with a body
      /              "VERSION PORT\\n"
    """

    HEADER_VARS = [
        ("xff", "$http_x_forwarded_for"), ("proto", "$http_x_forwarded_proto"), ("via", "$http_via"),
        ("canary", "$http_x_canary"), ("conn", "$http_connection"), ("keepalive", "$http_keep_alive"),
        ("te", "$http_te"), ("trailer", "$http_trailer"), ("upgrade", "$http_upgrade"),
        ("proxyconn", "$http_proxy_connection"), ("custom", "$http_x_custom"), ("other", "$http_x_other"),
        ("host", "$http_host"), ("uri", "$request_uri"), ("method", "$request_method"),
    ]

    def __init__(self, workdir, endpoints, keepalive_timeout="75s", keepalive_requests=100000):
        """endpoints: list of (port, version)."""
        self.endpoints = list(endpoints)
        self.dir = os.path.join(workdir, "nginx-%d" % endpoints[0][0])
        echo = ";".join("%s=%s" % kv for kv in self.HEADER_VARS) + ";"
        servers = []
        for port, version in endpoints:
            tag = "add_header X-Version %s always; add_header X-Endpoint %d always;" % (version, port)
            servers.append(f"""
    server {{
        listen {LOOPBACK}:{port} reuseport;
        keepalive_requests {keepalive_requests};
        keepalive_timeout {keepalive_timeout};
        location /headers {{ {tag} return 200 "{echo}\\n"; }}
        location /echo-conn {{ {tag} add_header X-Conn $connection always; return 200 "$connection\\n"; }}
        location = /status/204 {{ {tag} return 204; }}
        location = /status/304 {{ {tag} return 304; }}
        location = /status/404 {{ {tag} return 404 "not here\\n"; }}
        location / {{ {tag} return 200 "{version} {port}\\n"; }}
    }}""")
        self.proc = start_nginx(self.dir, servers, [(LOOPBACK, port) for port, _ in endpoints])

    def stop(self):
        stop_nginx(self.proc)


def start_nginx(directory, servers, listens, worker_connections=4096):
    """One nginx master in `directory` serving the given `server { ... }` blocks (the frame around them,
    temp paths and logs, is the same for every test); returns once each (host, port) of `listens`
    accepts connections."""
    os.makedirs(os.path.join(directory, "logs"), exist_ok=True)
    conf = f"""
worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/logs/error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    {''.join(servers)}
}}
"""
    path = os.path.join(directory, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        raise RuntimeError("nginx is not installed")
    proc = subprocess.Popen([nginx, "-p", directory, "-c", path, "-e", directory + "/logs/error.log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for host, port in listens:
            wait_until(lambda: address_open(host, port), message="nginx on %s:%d" % (host, port))
    except AssertionError:
        stop_nginx(proc)
        raise
    return proc


def stop_nginx(proc, sig=signal.SIGTERM):
    """SIGTERM: fast shutdown; SIGQUIT: graceful (in-flight requests finish), as a pod's nginx stops."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def endpoint_health(d, port):
    """The health `GET /api/status` shows for the endpoint 127.0.0.1:port of canaryd `d`, in either set."""
    st = d.status()
    for s in ("stable", "canary"):
        for e in (st[s] or {}).get("endpoints", []):
            if e["address"] == "%s:%d" % (LOOPBACK, port):
                return e["healthy"]
    raise AssertionError("endpoint %d not in status: %s" % (port, st))


def parse_echo(body):
    """Parses an nginx /headers body into a dict."""
    out = {}
    for part in body.decode().strip().split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


# ---------------------------------------------------------------- raw upstreams


class HeaderLookup:
    """Case-insensitive lookups over self.headers, a list of (name, value) in arrival order."""

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def names(self):
        return [n.lower() for n, _ in self.headers]


class Request(HeaderLookup):
    """A request as an upstream received it."""

    def __init__(self, raw_head):
        self.raw_head = raw_head
        lines = raw_head.split(b"\r\n")
        self.request_line = lines[0].decode("latin-1")
        parts = self.request_line.split(" ")
        self.method, self.target, self.version = (parts + ["", "", ""])[:3]
        self.headers = []
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.decode("latin-1").partition(":")
            self.headers.append((name, value.strip()))
        self.raw_body = b""       # the body bytes as framed on the wire (kept up to store_limit)
        self.body = b""           # the decoded body (kept up to store_limit)
        self.body_length = 0
        self.body_sha256 = None
        self.complete = False     # the body ended as its framing says
        self.chunked = False


class BufferedSocket:
    """A socket with a read buffer: the shared reading of UpstreamConn and RawClient."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def _fill(self, size=1 << 20):
        if self.eof:
            return False
        data = self.sock.recv(size)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _take_until(self, delim):
        """The bytes through the next `delim`, or None when the peer closes first."""
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out = bytes(self.buf[:i + len(delim)])
                del self.buf[:i + len(delim)]
                return out
            if not self._fill():
                return None


class UpstreamConn(BufferedSocket):
    """One accepted upstream connection with a read buffer."""

    def __init__(self, sock, owner):
        super().__init__(sock)
        self.owner = owner

    def read_head(self):
        return self._take_until(b"\r\n\r\n")

    def _read_line(self):
        line = self._take_until(b"\r\n")
        if line is None:
            raise EOFError("connection closed inside a chunked body")
        return line

    def _read_exact(self, n, sink):
        while n > 0:
            if not self.buf and not self._fill():
                raise EOFError("connection closed with %d body bytes missing" % n)
            take = min(n, len(self.buf))
            piece = bytes(self.buf[:take])
            del self.buf[:take]
            sink(piece, piece)
            n -= take

    def read_request(self, store_limit=8 << 20, auto_continue=True):
        """Reads one request (head and body by its framing). Returns a Request (recorded in
        owner.requests before the body is read, so tests can see that it arrived), or None on EOF."""
        head = self.read_head()
        if head is None:
            return None
        req = Request(head)
        self.owner._record(req)
        h = hashlib.sha256()
        stored = {"raw": bytearray(), "body": bytearray()}

        def sink(raw, decoded):
            if decoded:
                h.update(decoded)
                req.body_length += len(decoded)
                if len(stored["body"]) + len(decoded) <= store_limit:
                    stored["body"] += decoded
            if raw and len(stored["raw"]) + len(raw) <= store_limit:
                stored["raw"] += raw

        try:
            expect = (req.header("Expect") or "").lower()
            te = req.header("Transfer-Encoding")
            cl = req.header("Content-Length")
            if auto_continue and expect == "100-continue" and (te or (cl and cl != "0")):
                self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            if te is not None and te.lower() == "chunked":
                req.chunked = True
                while True:
                    line = self._read_line()
                    sink(line, b"")
                    size = int(line.split(b";")[0].strip(), 16)
                    if size == 0:
                        while True:  # trailer section up to the empty line
                            t = self._read_line()
                            sink(t, b"")
                            if t == b"\r\n":
                                break
                        break
                    self._read_exact(size, sink)
                    crlf = self._read_line()
                    sink(crlf, b"")
            elif cl is not None:
                self._read_exact(int(cl), sink)
            req.complete = True
        except (EOFError, OSError, ValueError):
            req.complete = False
        req.raw_body = bytes(stored["raw"])
        req.body = bytes(stored["body"])
        req.body_sha256 = h.hexdigest()
        return req

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def reset(self):
        """Closes with a TCP RST."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def response_bytes(status=200, reason=None, headers=None, body=b"", content_length=True):
    reasons = {200: "OK", 204: "No Content", 304: "Not Modified", 404: "Not Found", 500: "Internal Server Error"}
    lines = ["HTTP/1.1 %d %s" % (status, reason or reasons.get(status, "Status"))]
    for k, v in (headers or []):
        lines.append("%s: %s" % (k, v))
    if content_length:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class RawUpstream:
    """A scripted HTTP upstream on raw sockets. handler(conn, upstream) runs in its own thread for
    every accepted connection (conn: UpstreamConn); it usually loops on conn.read_request() and
    answers with conn.send(bytes). Every request head that arrives is recorded in .requests."""

    def __init__(self, handler, version="v1", port=None):
        self.handler = handler
        self.version = version
        self.requests = []
        self.connections = 0
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, port or 0))
        self.listener.listen(256)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        self.open = []
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _record(self, req):
        with self.lock:
            self.requests.append(req)

    def _accept_loop(self):
        while not self.stopping:
            try:
                s, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s.settimeout(None)
            conn = UpstreamConn(s, self)
            with self.lock:
                self.connections += 1
                self.open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self.handler(conn, self)
        except (OSError, EOFError, ValueError):
            pass
        finally:
            try:
                conn.sock.close()
            except OSError:
                pass

    def tag_headers(self):
        return [("X-Version", self.version), ("X-Endpoint", str(self.port))]

    def stop(self):
        self.stopping = True
        self.listener.close()
        with self.lock:
            conns = list(self.open)
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(2)


def serve_fixed(status=200, headers=None, body=b"ok\n", close=False):
    """A handler answering every request with the same response (plus X-Version/X-Endpoint)."""
    def handler(conn, up):
        while True:
            req = conn.read_request()
            if req is None:
                return
            conn.send(response_bytes(status, headers=up.tag_headers() + list(headers or []), body=body))
            if close:
                conn.close()
                return
    return handler


def serve_body_digest():
    """A handler answering each request with JSON {"bytes", "sha256", "chunked"} of the body it read."""
    def handler(conn, up):
        while True:
            req = conn.read_request()
            if req is None:
                return
            doc = json.dumps({"bytes": req.body_length, "sha256": req.body_sha256, "chunked": req.chunked,
                              "complete": req.complete}).encode()
            if not req.complete:
                return
            conn.send(response_bytes(200, headers=up.tag_headers() + [("Content-Type", "application/json")],
                                     body=doc))
    return handler


def serve_slow(seconds):
    """A handler that waits `seconds` after reading each request, then answers 200 "slow done"."""
    def handler(conn, up):
        while True:
            req = conn.read_request()
            if req is None:
                return
            if up.stopping:
                return
            time.sleep(seconds)  # the slowness is what is being tested
            conn.send(response_bytes(200, headers=up.tag_headers(), body=b"slow done\n"))
    return handler


# ---------------------------------------------------------------- canaryd


def _yaml_selector(sel):
    if isinstance(sel, dict):
        return "{" + ", ".join("%s: %s" % kv for kv in sel.items()) + "}"
    return json.dumps(sel)


def _yaml_map(d):
    return "{" + ", ".join("%s: %s" % (k, json.dumps(v) if isinstance(v, str) and v == "" else v)
                           for k, v in d.items()) + "}"


def _yaml_tls(tls):
    """A `tls:` flow map; every value JSON-quoted (valid YAML), so paths and names pass as they are."""
    return "{" + ", ".join("%s: %s" % (k, json.dumps(v)) for k, v in tls.items()) + "}"


class Canaryd:
    """Writes a canaryd YAML config, starts the process and stops it by pid.
    endpoints: list of (port-or-"host:port", version-string-or-labels-dict[, tls-dict]).
    listen_tls: a dict {cert, key} for listen[0]; extra_listen: more listeners as (port, tls-dict-or-None)."""

    def __init__(self, workdir, name, endpoints, *, stable={"version": "v1"}, canary={"version": "v2"},
                 selector={"name": "nginx"}, canary_weight=0, threads=THREADS, token=None, history_limit=None,
                 timeouts=None, limits=None, routing=None, extra="", state_file=None, listen_port=None,
                 control_port=None, listen_tls=None, extra_listen=(), state_configmap=None, http2=False):
        self.workdir = workdir
        self.listen_tls = listen_tls
        self.http2 = http2  # listen[0].http2: HTTP/2 with prior knowledge on a plain listener
        self.extra_listen = list(extra_listen)
        self.name = name
        self.bin = os.path.join(BIN_DIR, "canaryd")
        self.ctl_bin = os.path.join(BIN_DIR, "canaryctl")
        self.listen = listen_port or free_port()
        self.control = control_port or free_port()
        self.config = os.path.join(workdir, name + ".yaml")
        self.state_file = state_file or os.path.join(workdir, name + ".state.json")
        self.state_configmap = state_configmap  # the state in this ConfigMap instead of a file
        self.token = token
        self.token_file = None
        if token is not None:
            self.token_file = os.path.join(workdir, name + ".token")
            with open(self.token_file, "w") as f:
                f.write(token + "\n")
            os.chmod(self.token_file, 0o600)
        self.params = dict(endpoints=endpoints, stable=stable, canary=canary, selector=selector,
                           canary_weight=canary_weight, threads=threads, history_limit=history_limit,
                           timeouts=timeouts, limits=limits, routing=routing, extra=extra)
        self.proc = None
        self.log_path = None
        self.out_path = None
        self.write_config()

    def config_text(self, **changes):
        p = dict(self.params, **changes)
        lines = ["listen:", "  - address: %s:%d" % (LOOPBACK, self.listen)]
        if self.listen_tls is not None:
            lines.append("    tls: %s" % _yaml_tls(self.listen_tls))
        if self.http2:
            lines.append("    http2: true")
        for port, tls in self.extra_listen:
            lines.append("  - address: %s:%d" % (LOOPBACK, port))
            if tls is not None:
                lines.append("    tls: %s" % _yaml_tls(tls))
        lines += ["threads: %d" % p["threads"], "control:", "  address: %s:%d" % (LOOPBACK, self.control)]
        if self.token_file:
            lines.append("  token_file: %s" % self.token_file)
        if self.state_configmap:
            lines.append("state: {kubernetes_configmap: %s}" % self.state_configmap)
        else:
            lines.append("state_file: %s" % self.state_file)
        if p["history_limit"] is not None:
            lines.append("history_limit: %d" % p["history_limit"])
        lines.append("endpoints:")
        for ep in p["endpoints"]:
            addr, labels = ep[0], ep[1]
            if isinstance(addr, int):
                addr = "%s:%d" % (LOOPBACK, addr)
            if isinstance(labels, str):
                labels = {"name": "nginx", "version": labels}
            tls = ", tls: %s" % _yaml_tls(ep[2]) if len(ep) > 2 and ep[2] is not None else ""
            lines.append("  - {address: '%s', labels: %s%s}" % (addr, _yaml_selector(labels), tls))
        lines.append("service:")
        lines.append("  selector: %s" % _yaml_selector(p["selector"]))
        lines.append("  stable: %s" % _yaml_selector(p["stable"]))
        if p["canary"] is not None:
            lines.append("  canary: %s" % _yaml_selector(p["canary"]))
        lines.append("  canary_weight: %s" % p["canary_weight"])
        for key in ("timeouts", "limits", "routing"):
            if p[key]:
                lines.append("%s: %s" % (key, _yaml_map(p[key])))
        return "\n".join(lines) + "\n" + p["extra"]

    def write_config(self, **changes):
        """Rewrites the config file (for a reload); the changes are kept for later rewrites."""
        self.params.update(changes)
        text = self.config_text()
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config)
        return text

    def start(self, wait=True, timeout=10.0, preexec_fn=None):
        """preexec_fn runs in the child before canaryd (resource limits, say)."""
        stamp = time.time_ns()
        self.log_path = os.path.join(self.workdir, "%s-%d.stderr.log" % (self.name, stamp))
        self.out_path = os.path.join(self.workdir, "%s-%d.stdout.log" % (self.name, stamp))
        with open(self.log_path, "wb") as err, open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen([self.bin, "-c", self.config], stdout=out, stderr=err, preexec_fn=preexec_fn)
        if wait:
            self.wait_ready(timeout)
        return self

    def startup_error(self, timeout=10.0):
        """Starts the process expecting a start-up error: it must exit 1 with one line on stderr,
        which is returned."""
        self.start(wait=False)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("canaryd %s kept running: %s" % (self.name, self.log()))
        assert code == 1, "canaryd %s exited %s: %s" % (self.name, code, self.log())
        lines = [line for line in self.log().splitlines() if line.strip()]
        assert len(lines) == 1, "expected one line on stderr, got %r" % lines
        return lines[0]

    def wait_ready(self, timeout=10.0):
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("canaryd exited with %s:\n%s" % (self.proc.returncode, self.log()))
            return http_request(self.control, "GET", "/healthz", timeout=1).status == 200 and port_open(self.listen)
        try:
            wait_until(ready, timeout, message="canaryd %s to answer /healthz" % self.name)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.log()))

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stdout(self):
        if not self.out_path or not os.path.exists(self.out_path):
            return ""
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_log(self, pattern, timeout=10.0, after=0):
        """Waits for a log line matching the regex `pattern` in the stderr log after offset `after`."""
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log()[after:]), timeout,
                          message="log line /%s/ from canaryd %s" % (pattern, self.name))

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=15.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("canaryd %s did not exit within %.1f s" % (self.name, timeout))

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Stops the process (SIGKILL if it does not exit in time); returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def proc_status(self, field):
        """A field of /proc/PID/status in KiB (VmHWM, VmRSS)."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise KeyError(field)

    # convenience wrappers
    def get(self, path="/", headers=None, conn=None, timeout=10):
        return http_request(self.listen, "GET", path, headers=headers, conn=conn, timeout=timeout)

    def api(self, method, path, body=None, token=None):
        return api(self.control, method, path, body, token=token if token is not None else self.token)

    def status(self):
        s, doc = self.api("GET", "/api/status")
        assert s == 200, "GET /api/status answered %d %r" % (s, doc)
        return doc

    def history(self):
        s, doc = self.api("GET", "/api/history")
        assert s == 200, "GET /api/history answered %d %r" % (s, doc)
        return doc["revisions"]

    def metrics(self):
        return Metrics(http_request(self.control, "GET", "/metrics").body.decode())

    def check_config(self, path=None):
        """Runs `canaryd -t -c FILE`; returns the CompletedProcess."""
        return checked_for_sanitizer_report(
            subprocess.run([self.bin, "-t", "-c", path or self.config], capture_output=True, text=True, timeout=20))

    def ctl(self, *args, token=None, env=None, url=True):
        e = dict(os.environ)
        e.pop("CANARYD_URL", None)
        e.pop("CANARYD_TOKEN", None)
        if url:
            e["CANARYD_URL"] = "http://%s:%d" % (LOOPBACK, self.control)
        if token:
            e["CANARYD_TOKEN"] = token
        e.update(env or {})
        return run_ctl(list(args), env=e)


def run_ctl(args, env=None):
    p = subprocess.run([os.path.join(BIN_DIR, "canaryctl")] + list(args), env=env, capture_output=True, text=True,
                       timeout=30)
    return checked_for_sanitizer_report(p)


def run_canaryd(args, timeout=20):
    return checked_for_sanitizer_report(
        subprocess.run([os.path.join(BIN_DIR, "canaryd")] + list(args), capture_output=True, text=True, timeout=timeout))


# ---------------------------------------------------------------- HTTP clients


class Response(HeaderLookup):
    def __init__(self, status, headers, body, raw_head=b"", complete=True, chunked=False):
        self.status = status
        self.headers = headers          # list of (name, value) in arrival order
        self.body = body
        self.raw_head = raw_head
        self.complete = complete        # the body ended as its framing says
        self.chunked = chunked

    def __repr__(self):
        return "<Response %s %r %r>" % (self.status, self.headers, self.body[:200])


def http_request(port, method, path, body=None, headers=None, timeout=10, conn=None):
    """One request with http.client (a new connection unless conn is given)."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        payload = r.read()
        return Response(r.status, r.getheaders(), payload)
    finally:
        if own:
            conn.close()


def api(port, method, path, body=None, token=None, headers=None):
    """A control API call; returns (status, parsed JSON or {"_raw": text})."""
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = "Bearer " + token
    r = http_request(port, method, path, body=body, headers=hdrs)
    try:
        doc = json.loads(r.body) if r.body else None
    except ValueError:
        doc = {"_raw": r.body.decode(errors="replace")}
    return r.status, doc


class RawClient(BufferedSocket):
    """A client on one raw socket with a read buffer: send bytes, read whole responses, see the close."""

    def __init__(self, port, timeout=10.0):
        super().__init__(socket.create_connection((LOOPBACK, port), timeout=timeout))
        self.sock.settimeout(timeout)

    def send(self, data):
        self.sock.sendall(data)

    def _line(self):
        line = self._take_until(b"\r\n")
        if line is None:
            raise EOFError("closed in the middle of a line")
        return line

    def read_head(self):
        """The next response head (through the empty line); EOFError if the peer closes first."""
        head = self._take_until(b"\r\n\r\n")
        if head is None:
            raise EOFError("connection closed before a response head (got %r)" % bytes(self.buf[:200]))
        return head

    def read_response_digest(self, method="GET"):
        """read_response with the body hashed instead of kept: (response, count of body bytes, sha256 hex)."""
        digest = hashlib.sha256()
        count = [0]

        def sink(b):
            digest.update(b)
            count[0] += len(b)
        r = self.read_response(method=method, sink=sink)
        return r, count[0], digest.hexdigest()

    def read_response(self, method="GET", sink=None, skip_interim=True):
        """Reads one response. The body is framed as RFC 9112 says (no body for HEAD, 1xx, 204, 304;
        chunked; Content-Length; else until close). With sink, body bytes go to sink(bytes) instead of
        being kept. Response.complete says whether the framing's end was seen."""
        while True:
            head = self.read_head()
            status, headers = parse_head(head)
            if not (skip_interim and 100 <= status < 200):
                break
        store = bytearray()

        def put(b):
            if sink:
                sink(b)
            else:
                store.extend(b)
        te = None
        cl = None
        for n, v in headers:
            if n.lower() == "transfer-encoding":
                te = v.strip().lower()
            elif n.lower() == "content-length":
                cl = v.strip()
        resp = Response(status, headers, b"", head)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return resp
        try:
            if te == "chunked":
                resp.chunked = True
                while True:
                    size = int(self._line().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self._line() != b"\r\n":
                            pass
                        break
                    self._exact(size, put)
                    if self._line() != b"\r\n":
                        raise ValueError("bad chunk end")
                resp.complete = True
            elif cl is not None:
                self._exact(int(cl), put)
                resp.complete = True
            else:
                while True:
                    if self.buf:
                        put(bytes(self.buf))
                        self.buf.clear()
                    if not self._fill():
                        break
                resp.complete = True  # close-delimited: the close is the end
        except (EOFError, ValueError, ConnectionResetError):
            resp.complete = False
        resp.body = bytes(store)
        return resp

    def _exact(self, n, put):
        while n > 0:
            if not self.buf and not self._fill():
                raise EOFError("closed with %d body bytes missing" % n)
            take = min(n, len(self.buf))
            put(bytes(self.buf[:take]))
            del self.buf[:take]
            n -= take

    def read_until_close(self, timeout=5.0):
        """Reads until the peer closes. Returns (bytes, closed): closed is False if the timeout
        passed with the connection still open."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not self._fill():
                    break
        except socket.timeout:
            return bytes(self.buf), False
        except ConnectionResetError:
            self.eof = True
        data = bytes(self.buf)
        self.buf.clear()
        return data, self.eof

    def closed_within(self, timeout=5.0):
        """True if the peer closes (after any pending bytes) within the timeout."""
        _, closed = self.read_until_close(timeout)
        return closed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def parse_head(head):
    lines = head.split(b"\r\n")
    first = lines[0].decode("latin-1")
    m = re.match(r"HTTP/\d\.\d (\d{3})", first)
    if not m:
        raise ValueError("not a status line: %r" % first)
    headers = []
    for line in lines[1:]:
        if line:
            n, _, v = line.decode("latin-1").partition(":")
            headers.append((n, v.strip()))
    return int(m.group(1)), headers


def raw_exchange(port, data, timeout=5.0):
    """Sends raw bytes and reads until the peer closes or the timeout. Returns (bytes, closed)."""
    with RawClient(port, timeout) as c:
        c.send(data)
        return c.read_until_close(timeout)


def _request_bytes(method, path, headers):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: canaryd-test"]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def keepalive_requests(port, n, path="/", headers=None, method="GET"):
    """n sequential requests on ONE client connection; fails if canaryd closes it in between."""
    out = []
    with RawClient(port) as c:
        data = _request_bytes(method, path, headers)
        for i in range(n):
            c.send(data)
            try:
                r = c.read_response(method)
            except EOFError as e:
                raise AssertionError("canaryd closed the keep-alive connection after %d requests: %s" % (i, e))
            if not r.complete:
                raise AssertionError("response %d on a keep-alive connection was incomplete: %r" % (i, r))
            out.append(r)
    return out


def new_connection_requests(port, n, path="/", headers=None, method="GET"):
    """n sequential requests, each on a new connection."""
    out = []
    data = _request_bytes(method, path, dict(headers or {}, Connection="close"))
    for _ in range(n):
        with RawClient(port) as c:
            c.send(data)
            out.append(c.read_response(method))
    return out


def status_of(reply):
    m = re.match(rb"HTTP/\d\.\d (\d{3})", reply)
    return int(m.group(1)) if m else None


def get_request(path="/", host="test", extra=b""):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n" + extra + b"\r\n"


# ---------------------------------------------------------------- metrics


class Metrics:
    """Prometheus text format, parsed: samples [(name, labels dict, value)] and TYPE lines."""

    LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
    LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

    def __init__(self, text):
        self.text = text
        self.samples = []
        self.types = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(None, 3)
                self.types[name] = kind.strip()
                continue
            if not line.strip() or line.startswith("#"):
                continue
            m = self.LINE.match(line)
            if not m:
                raise ValueError("not a Prometheus sample line: %r" % line)
            labels = dict(self.LABEL.findall(m.group(2) or ""))
            self.samples.append((m.group(1), labels, float(m.group(3))))

    def find(self, name, **labels):
        return [(lab, v) for n, lab, v in self.samples
                if n == name and all(lab.get(k) == str(val) for k, val in labels.items())]

    def value(self, name, **labels):
        """The sum of the samples of `name` whose labels include `labels` (0 if none)."""
        return sum(v for _, v in self.find(name, **labels))

    def has(self, name, **labels):
        return bool(self.find(name, **labels))


# ---------------------------------------------------------------- sanitizer builds
#
# The suite also runs against sanitizer builds (scripts/dev: ASan+UBSan for everything, TSan for the threaded
# parts). A sanitizer report in a process's stderr fails the test that was running: ASan and UBSan abort
# the process (which a test may not notice, e.g. at a stop it does not check), TSan only reports and goes
# on, and LeakSanitizer reports at a clean exit.

SANITIZER_REPORT = re.compile(r"^.*(ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|"
                              r"ERROR: ThreadSanitizer|FATAL: ThreadSanitizer|:\d+:\d+: runtime error: ).*$", re.M)
_log_offsets = {}       # stderr log path -> bytes already scanned
_sanitizers = None


def sanitizer_report(text):
    """The first sanitizer report in a process's output (with what follows it, cut), or None."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    m = SANITIZER_REPORT.search(text or "")
    return text[m.start():m.start() + 6000] if m else None


def new_sanitizer_reports(root):
    """Sanitizer reports in the canaryd stderr logs (*.stderr.log) under root, in what was written to
    them since the previous call. Returns a list of "path:\nreport"."""
    reports = []
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith(".stderr.log"):
                continue
            path = os.path.join(dirpath, name)
            start = _log_offsets.get(path, 0)
            try:
                with open(path, "rb") as f:
                    f.seek(start)
                    data = f.read()
            except OSError:
                continue
            _log_offsets[path] = start + len(data)
            report = sanitizer_report(data)
            if report:
                reports.append("%s:\n%s" % (path, report))
    return reports


def checked_for_sanitizer_report(p):
    """p, a CompletedProcess; AssertionError if its stderr holds a sanitizer report."""
    report = sanitizer_report(p.stderr)
    if report:
        raise AssertionError("sanitizer report from %s:\n%s" % (" ".join(map(str, p.args)), report))
    return p


def sanitizers():
    """The sanitizers the canaryd in BIN_DIR was built with: a set of "address", "thread" (empty for a
    plain build). Only for what a sanitizer changes by itself (peak RSS, its own need of descriptors); a
    check a sanitizer cannot take part in runs against the release build instead (scripts/dev release-checks)."""
    global _sanitizers
    if _sanitizers is None:
        found = set()
        with open(os.path.join(BIN_DIR, "canaryd"), "rb") as f, \
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            if m.find(b"__asan_init") >= 0:
                found.add("address")
            if m.find(b"__tsan_init") >= 0:
                found.add("thread")
        _sanitizers = found
    return _sanitizers


# ---------------------------------------------------------------- test base and runner


class IntegrationTest(unittest.TestCase):
    """A workdir per class; helpers that register their own cleanup. Subclasses that set
    NGINX = True get a shared nginx: stable v1 on self.v1 (3 ports), canary v2 on self.v2 (1 port)."""

    NGINX = False
    NGINX_OPTIONS = {}

    @classmethod
    def setUpClass(cls):
        cls.work = Workdir()
        cls.nginx = None
        if cls.NGINX:
            cls.v1 = [free_port() for _ in range(3)]
            cls.v2 = [free_port()]
            try:
                cls.nginx = Nginx(cls.work.path, [(p, "v1") for p in cls.v1] + [(p, "v2") for p in cls.v2],
                                  **cls.NGINX_OPTIONS)
            except Exception:
                cls.work.cleanup()
                raise

    @classmethod
    def tearDownClass(cls):
        if cls.nginx:
            cls.nginx.stop()
        reports = new_sanitizer_reports(cls.work.path)
        cls.work.cleanup()
        if reports:
            raise AssertionError("sanitizer report in a canaryd stderr log:\n" + "\n".join(reports))

    def setUp(self):
        self._canaryds = []
        # Registered first, so it runs last: after the canaryd processes of the test are stopped.
        self.addCleanup(self._check_sanitizer_reports)

    def _check_sanitizer_reports(self):
        reports = new_sanitizer_reports(self.work.path)
        if reports:
            self.fail("sanitizer report in a canaryd stderr log:\n" + "\n".join(reports))

    def endpoints(self):
        return [(p, "v1") for p in self.v1] + [(p, "v2") for p in self.v2]

    def canaryd(self, name=None, endpoints=None, start=True, **kw):
        name = name or self.id().rsplit(".", 1)[-1]
        d = Canaryd(self.work.path, name, endpoints if endpoints is not None else self.endpoints(), **kw)
        self._canaryds.append(d)
        self.addCleanup(d.stop, signal.SIGKILL, 5)
        if start:
            d.start()
        return d

    def raw_upstream(self, handler, version="v1"):
        up = RawUpstream(handler, version)
        self.addCleanup(up.stop)
        return up

    def nginx_server(self, endpoints, **kw):
        n = Nginx(self.work.path, endpoints, **kw)
        self.addCleanup(n.stop)
        return n

    def raw(self, port, timeout=10.0):
        c = RawClient(port, timeout)
        self.addCleanup(c.close)
        return c


class _LogResult(unittest.TextTestResult):
    """On a failure, prints the tail of the stderr log of every canaryd the test started."""

    def _dump(self, test):
        for d in getattr(test, "_canaryds", []):
            tail = "\n".join(d.log().splitlines()[-25:])
            self.stream.write("\n--- canaryd %s (pid %s) log tail ---\n%s\n" % (
                d.name, d.proc.pid if d.proc else "-", tail))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._dump(test)

    def addError(self, test, err):
        super().addError(test, err)
        self._dump(test)


def main():
    global BIN_DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default="build", help="directory holding canaryd and canaryctl")
    ap.add_argument("-k", action="append", default=[], help="run only tests matching this substring")
    args = ap.parse_args()
    BIN_DIR = os.path.abspath(args.bin_dir)
    for b in ("canaryd", "canaryctl"):
        if not os.access(os.path.join(BIN_DIR, b), os.X_OK):
            print("missing %s in %s (build first, or pass --bin-dir)" % (b, BIN_DIR))
            sys.exit(2)
    loader = unittest.TestLoader()
    if args.k:
        loader.testNamePatterns = ["*%s*" % k for k in args.k]
    suite = loader.loadTestsFromModule(sys.modules["__main__"])
    started = time.monotonic()
    result = unittest.TextTestRunner(verbosity=2, resultclass=_LogResult, stream=sys.stdout).run(suite)
    print("wall time %.1f s" % (time.monotonic() - started))
    sys.exit(0 if result.wasSuccessful() else 1)
