#!/usr/bin/env python3
"""TLS (contract section 6, hardening): termination on `listen[].tls: {cert, key}` and TLS to upstreams
with `endpoints[].tls: {ca, server_name}`.

Listener: TLS 1.2 and 1.3 only, modern ciphers, ALPN h2 before http/1.1 (an offer without either still completes),
requests proxied as on a plain listener with X-Forwarded-Proto: https, the certificate re-read on
SIGHUP (a cert/key that cannot be loaded keeps the old one), -t naming listen[N].tls.cert / .key and
endpoints[N].tls.ca, plain HTTP on the TLS port answered by a close.
Upstream: the certificate verified against `ca` and the name (server_name, else the IP of the address,
then without SNI), a verification failure is a connect failure (retried, else 502), pooled TLS
connections reused, active health probes over TLS.

A throwaway PKI is made once per run with the openssl CLI (setUpModule). Clients are Python's ssl module
and curl; upstreams are nginx (`listen ... ssl`) and scripted Python servers wrapped in TLS."""

import collections
import hashlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import (LOOPBACK, THREADS, IntegrationTest, Pattern, RawClient, Workdir, free_port,  # noqa: E402
                     keepalive_requests, new_connection_requests, parse_echo, response_bytes, run_canaryd,
                     serve_fixed, serve_slow, wait_port, wait_until)

# The clients that must be refused offer TLS 1.0/1.1, which Python marks as deprecated.
warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*TLSv1")

MIB = 1 << 20
FAST_PROBES = "health: {path: /, interval: 100ms, timeout: 100ms, healthy_threshold: 1, unhealthy_threshold: 2}\n"
LEGACY_CIPHERS = "ALL:@SECLEVEL=0"   # lets a client or server offer TLS 1.0/1.1 and old ciphers at all


# ---------------------------------------------------------------- a throwaway PKI (openssl CLI)


class Cert:
    def __init__(self, crt, key, serial, cn, chain=None):
        self.crt = crt          # the certificate alone (PEM)
        self.key = key          # its private key (PEM, PKCS#8)
        self.serial = serial
        self.cn = cn
        self.chain = chain      # leaf first, then the intermediate (PEM), when issued by an intermediate

    def listen_tls(self):
        return {"cert": self.chain or self.crt, "key": self.key}


class Pki:
    """A root CA, an unrelated CA, an intermediate CA and the leaf certificates the tests need."""

    LOCAL = ["DNS:localhost", "IP:127.0.0.1"]

    def __init__(self, path):
        self.path = path
        self.ca = self._issue("ca", "canaryd test root CA", 1, None, ca=True)
        self.other_ca = self._issue("other-ca", "an unrelated CA", 2, None, ca=True)
        self.inter = self._issue("inter", "canaryd test intermediate CA", 3, self.ca, ca=True)
        # canaryd's listener (and the certificates a reload switches to)
        self.server = self._issue("server", "localhost", 0x1001, self.ca, san=self.LOCAL)
        self.server_b = self._issue("server-b", "canaryd-reloaded-b", 0x2002, self.ca, san=self.LOCAL)
        self.server_c = self._issue("server-c", "canaryd-reloaded-c", 0x3003, self.ca, san=self.LOCAL)
        self.chained = self._issue("chained", "canaryd-chained", 0x4004, self.inter, san=self.LOCAL)
        self.chained.chain = self._concat("chained-chain.pem", self.chained.crt, self.inter.crt)
        # upstreams
        self.v1 = self._issue("v1", "v1.test", 0x5001, self.ca, san=["DNS:v1.test"])
        self.v2 = self._issue("v2", "v2.test", 0x5002, self.ca, san=["DNS:v2.test"])
        self.ip = self._issue("ip", "127.0.0.1", 0x5003, self.ca, san=["IP:127.0.0.1"])
        self.localhost = self._issue("upstream-localhost", "localhost", 0x5004, self.ca, san=["DNS:localhost"])
        self.garbage = os.path.join(path, "garbage.pem")
        with open(self.garbage, "w") as f:
            f.write("this is not PEM\n")

    def _openssl(self, *args):
        p = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=60, cwd=self.path)
        if p.returncode != 0:
            raise RuntimeError("openssl %s failed:\n%s" % (" ".join(args), p.stderr))

    def _concat(self, name, *files):
        out = os.path.join(self.path, name)
        with open(out, "w") as f:
            for p in files:
                with open(p) as g:
                    f.write(g.read())
        return out

    def _issue(self, name, cn, serial, issuer, ca=False, san=None):
        key = os.path.join(self.path, name + ".key")
        csr = os.path.join(self.path, name + ".csr")
        crt = os.path.join(self.path, name + ".crt")
        ext = os.path.join(self.path, name + ".ext")
        self._openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key)
        self._openssl("req", "-new", "-key", key, "-subj", "/CN=" + cn, "-out", csr)
        lines = ["subjectKeyIdentifier=hash"]
        if ca:
            lines += ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]
        else:
            lines += ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
                      "extendedKeyUsage=serverAuth", "subjectAltName=" + ",".join(san)]
        if issuer is not None:
            lines.append("authorityKeyIdentifier=keyid:always")
        with open(ext, "w") as f:
            f.write("\n".join(lines) + "\n")
        common = ["-set_serial", str(serial), "-days", "3", "-extfile", ext, "-out", crt]
        if issuer is None:
            self._openssl("x509", "-req", "-in", csr, "-signkey", key, *common)
        else:
            self._openssl("x509", "-req", "-in", csr, "-CA", issuer.crt, "-CAkey", issuer.key, *common)
        return Cert(crt, key, serial, cn)


PKI = None
_pki_dir = None


def setUpModule():
    global PKI, _pki_dir
    _pki_dir = Workdir("canaryd-it-pki-")
    try:
        PKI = Pki(_pki_dir.path)
    except Exception:
        _pki_dir.cleanup()
        raise


def tearDownModule():
    if _pki_dir is not None:
        _pki_dir.cleanup()


# ---------------------------------------------------------------- clients


def client_context(cafile=None, version=None, alpn=None, ciphers=None):
    """A verifying client context trusting `cafile` (default: the test root CA) only. version pins
    the TLS version (min = max); alpn is the list of protocols offered."""
    ctx = ssl.create_default_context(cafile=cafile or PKI.ca.crt)
    if version is not None:
        if version < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers(LEGACY_CIPHERS)
        ctx.minimum_version = version
        ctx.maximum_version = version
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)
    return ctx


class TlsClient(RawClient):
    """RawClient over a TLS connection (the handshake is done in the constructor; ssl.SSLError if it fails).
    Connects to 127.0.0.1 and verifies the certificate for `server_hostname` (also the SNI)."""

    def __init__(self, port, ctx=None, server_hostname="localhost", timeout=10.0):
        raw = socket.create_connection((LOOPBACK, port), timeout=timeout)
        try:
            sock = (ctx or client_context()).wrap_socket(raw, server_hostname=server_hostname)
        except BaseException:
            raw.close()
            raise
        support.BufferedSocket.__init__(self, sock)
        self.sock.settimeout(timeout)

    def request(self, method="GET", path="/", headers=None, body=b""):
        self.send(request_bytes(method, path, headers, body))
        return self.read_response(method)

    def peer_serial(self):
        return int(self.sock.getpeercert()["serialNumber"], 16)

    def peer_cn(self):
        for rdn in self.sock.getpeercert()["subject"]:
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None


def request_bytes(method="GET", path="/", headers=None, body=b""):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: canaryd-tls-test"]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def curl(port, *args, paths=("/",), host="localhost"):
    """curl over https://HOST:PORT/... with HOST resolved to 127.0.0.1, trusting the test CA only."""
    urls = ["https://%s:%d%s" % (host, port, p) for p in paths]
    cmd = ["curl", "-sS", "--noproxy", "*", "--max-time", "10", "--cacert", PKI.ca.crt,
           "--resolve", "%s:%d:%s" % (host, port, LOOPBACK)] + list(args) + urls
    p = subprocess.run(cmd, capture_output=True, timeout=30)
    return subprocess.CompletedProcess(cmd, p.returncode, p.stdout.decode("latin-1"), p.stderr.decode("latin-1"))


def parse_curl_head(out):
    """The status and headers of the (last) response head in `curl -i` output."""
    head = out.split("\r\n\r\n")[0]
    lines = head.split("\r\n")
    m = re.match(r"HTTP/[\d.]+ (\d{3})", lines[0])
    headers = {}
    for line in lines[1:]:
        n, _, v = line.partition(":")
        headers[n.strip().lower()] = v.strip()
    return int(m.group(1)) if m else None, headers


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- upstreams


class TlsNginx:
    """One nginx master for these tests: one server per (port, version, cert-or-None); `listen ... ssl`
    with that certificate when a cert is given, plain otherwise. Locations:
      /tls      sni=$ssl_server_name;tlsproto=$ssl_protocol;conn=$connection;requests=$connection_requests;
                proto=$http_x_forwarded_proto;version=V;port=P;   (parse with parse_echo)
      /headers  the same echo as support.Nginx
      /         "VERSION PORT\\n"
    Every response has X-Version, X-Endpoint and X-Conn ($connection)."""

    def __init__(self, workdir, servers, keepalive_timeout="75s", keepalive_requests=100000, ipv6=False):
        self.dir = os.path.join(workdir, "tls-nginx-%d" % servers[0][0])
        echo = ";".join("%s=%s" % kv for kv in support.Nginx.HEADER_VARS) + ";"
        blocks = []
        for port, version, cert in servers:
            ssl_flag = " ssl" if cert else ""
            listens = "listen %s:%d%s reuseport;" % (LOOPBACK, port, ssl_flag)
            if ipv6:
                listens += " listen [::1]:%d%s;" % (port, ssl_flag)
            tls = ""
            if cert:
                tls = ("ssl_certificate %s; ssl_certificate_key %s; ssl_protocols TLSv1.2 TLSv1.3;"
                       % (cert.chain or cert.crt, cert.key))
            tag = ("add_header X-Version %s always; add_header X-Endpoint %d always; "
                   "add_header X-Conn $connection always;" % (version, port))
            info = ("sni=$ssl_server_name;tlsproto=$ssl_protocol;conn=$connection;requests=$connection_requests;"
                    "proto=$http_x_forwarded_proto;version=%s;port=%d;" % (version, port))
            blocks.append(f"""
    server {{
        {listens}
        {tls}
        keepalive_requests {keepalive_requests};
        keepalive_timeout {keepalive_timeout};
        location /tls {{ {tag} return 200 "{info}\\n"; }}
        location /headers {{ {tag} return 200 "{echo}\\n"; }}
        location / {{ {tag} return 200 "{version} {port}\\n"; }}
    }}""")
        self.proc = support.start_nginx(self.dir, blocks, [(LOOPBACK, port) for port, _, _ in servers],
                                        worker_connections=1024)

    def stop(self):
        support.stop_nginx(self.proc)


def server_context(cert, legacy=False, version=None):
    """A Python TLS server context with `cert`. legacy: TLS 1.0-1.3 and every cipher (a permissive
    control server); version pins one TLS version."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert.chain or cert.crt, cert.key)
    if legacy or (version is not None and version < ssl.TLSVersion.TLSv1_2):
        ctx.set_ciphers(LEGACY_CIPHERS)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    if version is not None:
        ctx.minimum_version = version
        ctx.maximum_version = version
    ctx.sni_names = []

    def record_sni(sslobj, name, context):
        ctx.sni_names.append(name)
    ctx.sni_callback = record_sni
    return ctx


def over_tls(ctx, handler):
    """A RawUpstream handler that does the TLS handshake (server side, `ctx`) before `handler` runs."""
    def wrapped(conn, up):
        conn.sock = ctx.wrap_socket(conn.sock, server_side=True)
        handler(conn, up)
    return wrapped


def serve_digest_or_pattern(size, seed):
    """GET: the Pattern(size, seed) body (Content-Length); other methods: JSON {bytes, sha256, complete}
    of the request body read."""
    def handler(conn, up):
        while True:
            req = conn.read_request(store_limit=0)
            if req is None:
                return
            if req.method == "GET":
                head = ["HTTP/1.1 200 OK", "Content-Length: %d" % size, "X-Version: %s" % up.version]
                conn.send(("\r\n".join(head) + "\r\n\r\n").encode())
                for block in Pattern(size, seed).blocks():
                    conn.send(block)
                continue
            if not req.complete:
                return
            doc = json.dumps({"bytes": req.body_length, "sha256": req.body_sha256, "complete": req.complete})
            conn.send(response_bytes(200, headers=up.tag_headers() + [("Content-Type", "application/json")],
                                     body=doc.encode()))
    return handler


endpoint_health = support.endpoint_health


# ---------------------------------------------------------------- base


class TlsTest(IntegrationTest):
    def tls_canaryd(self, endpoints=None, cert=None, plain_listen=False, **kw):
        """A canaryd whose listen[0] is TLS with `cert` (default PKI.server); plain_listen adds a plain
        listen[1] on d.plain."""
        extra = [(free_port(), None)] if plain_listen else []
        tls = cert.listen_tls() if isinstance(cert, Cert) else (cert or PKI.server.listen_tls())
        d = self.canaryd(endpoints=endpoints, listen_tls=tls, extra_listen=extra, **kw)
        d.plain = extra[0][0] if extra else None
        if d.plain:
            wait_port(d.plain)
        return d

    def tls(self, port, ctx=None, server_hostname="localhost", timeout=10.0):
        c = TlsClient(port, ctx, server_hostname, timeout)
        self.addCleanup(c.close)
        return c

    def https(self, port, path="/", headers=None, ctx=None, method="GET", body=b""):
        """One request on a new TLS connection."""
        with TlsClient(port, ctx) as c:
            return c.request(method, path, dict(headers or {}, Connection="close"), body)

    def tls_nginx(self, servers, **kw):
        n = TlsNginx(self.work.path, servers, **kw)
        self.addCleanup(n.stop)
        return n

    def assert_refused(self, port, ctx, what):
        """The TLS handshake with `ctx` fails (ssl.SSLError, or the connection closed/reset)."""
        try:
            c = TlsClient(port, ctx, timeout=5)
        except (ssl.SSLError, ConnectionError) as e:
            return e
        version = c.sock.version()
        c.close()
        self.fail("%s: the handshake completed (%s)" % (what, version))


# ---------------------------------------------------------------- the TLS listener


class TlsListenerTest(TlsTest):
    NGINX = True

    def test_curl_gets_200_with_x_canary_set(self):
        d = self.tls_canaryd(self.endpoints())
        p = curl(d.listen, "-i")
        self.assertEqual(p.returncode, 0, "curl failed: %s" % p.stderr)
        status, headers = parse_curl_head(p.stdout)
        self.assertEqual(status, 200, p.stdout)
        self.assertEqual(headers.get("x-canary-set"), "stable", p.stdout)
        self.assertEqual(headers.get("x-version"), "v1", p.stdout)
        self.assertRegex(p.stdout.split("\r\n\r\n", 1)[1], r"^v1 \d+\n$")
        p = curl(d.listen, "-i", "-H", "X-Canary: always")
        self.assertEqual(p.returncode, 0, p.stderr)
        status, headers = parse_curl_head(p.stdout)
        self.assertEqual((status, headers.get("x-canary-set"), headers.get("x-version")), (200, "canary", "v2"),
                         p.stdout)
        # curl also verifies against the IP SAN
        p = curl(d.listen, "-o", "/dev/null", "-w", "%{http_code}", host="127.0.0.1")
        self.assertEqual((p.returncode, p.stdout), (0, "200"), p.stderr)

    def test_curl_sends_several_requests_on_one_connection(self):
        d = self.tls_canaryd(self.endpoints())
        p = curl(d.listen, "-w", "## %{http_code} %{num_connects}\\n", *(["-o", "/dev/null"] * 5), paths=["/"] * 5)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [line.split()[1:] for line in p.stdout.splitlines() if line.startswith("## ")]
        self.assertEqual(rows, [["200", "1"]] + [["200", "0"]] * 4,
                         "5 URLs: expected one TLS connection reused (num_connects 1 then 0): %r" % p.stdout)

    def test_keepalive_tls_connection_routes_each_request(self):
        d = self.tls_canaryd(self.endpoints())
        c = self.tls(d.listen)
        for i in range(20):
            override = "always" if i % 2 else "never"
            r = c.request(headers={"X-Canary": override})
            self.assertTrue(r.complete, r)
            self.assertEqual((r.status, r.header("X-Canary-Set"), r.header("X-Version")),
                             (200, "canary", "v2") if i % 2 else (200, "stable", "v1"), "request %d: %r" % (i, r))
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 50})[0], 200)
        sets = collections.Counter()
        for i in range(200):
            r = c.request()
            self.assertEqual(r.status, 200, "request %d: %r" % (i, r))
            sets[r.header("X-Canary-Set")] += 1
        self.assertLessEqual(abs(sets["canary"] - 100), THREADS + 1,
                             "200 requests on one TLS connection at weight 50: %s" % dict(sets))

    def test_x_forwarded_proto_is_https_on_tls_and_http_on_plain(self):
        d = self.tls_canaryd(self.endpoints(), plain_listen=True)
        for claimed in (None, "http"):
            hdrs = {"X-Forwarded-Proto": claimed} if claimed else {}
            r = self.https(d.listen, "/headers", headers=hdrs)
            self.assertEqual(r.status, 200, r)
            e = parse_echo(r.body)
            self.assertEqual(e["proto"], "https", "over the TLS listener (client sent %r): %s" % (claimed, e))
            self.assertEqual(e["xff"], "127.0.0.1", e)
            self.assertRegex(e["via"], r"^1\.1 \S+", e)
            self.assertEqual(r.header("X-Canary-Set"), "stable")
        for claimed in (None, "https"):
            hdrs = {"X-Forwarded-Proto": claimed} if claimed else {}
            r = support.http_request(d.plain, "GET", "/headers", headers=hdrs)
            self.assertEqual(r.status, 200, r)
            e = parse_echo(r.body)
            self.assertEqual(e["proto"], "http", "over the plain listener (client sent %r): %s" % (claimed, e))
            self.assertEqual(r.header("X-Canary-Set"), "stable")

    def test_tls_12_and_13_accepted_10_and_11_refused(self):
        d = self.tls_canaryd(self.endpoints())
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            c = self.tls(d.listen, client_context(version=version))
            self.assertEqual(c.sock.version(), name)
            r = c.request()
            self.assertEqual((r.status, r.header("X-Canary-Set")), (200, "stable"), "%s: %r" % (name, r))
        # Control: these clients do complete a TLS 1.0/1.1 handshake with a server that allows it.
        control = self.raw_upstream(over_tls(server_context(PKI.server, legacy=True), serve_fixed()))
        for version, name in ((ssl.TLSVersion.TLSv1, "TLSv1"), (ssl.TLSVersion.TLSv1_1, "TLSv1.1")):
            with TlsClient(control.port, client_context(version=version), timeout=5) as c:
                self.assertEqual(c.sock.version(), name, "control server")
                self.assertEqual(c.request().status, 200, "control server")
            self.assert_refused(d.listen, client_context(version=version), name)
        self.assertEqual(self.https(d.listen).status, 200, "canaryd stopped serving after refused handshakes")

    def test_tls12_ciphers_without_forward_secrecy_are_refused(self):
        # "Modern ciphers": a TLS 1.2 client offering only static-RSA CBC suites is refused; the default
        # offer negotiates an ECDHE AEAD suite.
        d = self.tls_canaryd(self.endpoints())
        legacy = "AES128-SHA:AES256-SHA:AES128-SHA256"
        control = self.raw_upstream(over_tls(server_context(PKI.server, legacy=True), serve_fixed()))
        with TlsClient(control.port, client_context(version=ssl.TLSVersion.TLSv1_2, ciphers=legacy)) as c:
            self.assertEqual(c.request().status, 200, "control server")
        self.assert_refused(d.listen, client_context(version=ssl.TLSVersion.TLSv1_2, ciphers=legacy),
                            "TLS 1.2 with only " + legacy)
        c = self.tls(d.listen, client_context(version=ssl.TLSVersion.TLSv1_2))
        cipher = c.sock.cipher()[0]
        self.assertRegex(cipher, r"^ECDHE-(RSA|ECDSA)-(AES\d+-GCM|CHACHA20-POLY1305)", cipher)

    def test_alpn(self):
        d = self.tls_canaryd(self.endpoints())
        # h2 is preferred over http/1.1 whatever the client's order; an offer without either gets no answer.
        for offer, selected in ((["h2", "http/1.1"], "h2"), (["http/1.1", "h2"], "h2"), (["http/1.1"], "http/1.1"),
                                (["h2"], "h2"), (["spdy/3"], None), (None, None)):
            with self.subTest(offer=offer):
                try:
                    c = self.tls(d.listen, client_context(alpn=offer))
                except ssl.SSLError as e:
                    self.fail("offering ALPN %s: the handshake failed: %s" % (offer, e))
                self.assertEqual(c.sock.selected_alpn_protocol(), selected)
                if selected == "h2":
                    continue  # test_http2.py speaks HTTP/2 on it
                r = c.request()
                self.assertEqual((r.status, r.header("X-Canary-Set")), (200, "stable"), r)
        # curl offering h2 and http/1.1 speaks HTTP/2; told to use HTTP/1.1 only, HTTP/1.1
        p = curl(d.listen, "--http2", "-o", "/dev/null", "-w", "%{http_code} %{http_version}")
        self.assertEqual((p.returncode, p.stdout), (0, "200 2"), p.stderr)
        p = curl(d.listen, "--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{http_version}")
        self.assertEqual((p.returncode, p.stdout), (0, "200 1.1"), p.stderr)

    def test_certificate_chain_is_sent(self):
        # The client trusts the root only: the handshake verifies only if canaryd sends the intermediate.
        d = self.tls_canaryd(self.endpoints(), cert=PKI.chained)
        c = self.tls(d.listen)
        self.assertEqual(c.peer_serial(), PKI.chained.serial)
        self.assertEqual(c.request().status, 200)

    def test_plain_http_to_the_tls_port_gets_no_response(self):
        d = self.tls_canaryd(self.endpoints())
        for i in range(3):
            data, closed = support.raw_exchange(d.listen, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", timeout=5)
            self.assertTrue(closed, "a plain request on the TLS port left the connection open")
            self.assertNotIn(b"HTTP/", data, "a plain request on the TLS port got an HTTP answer: %r" % data)
        self.assertTrue(d.alive())
        r = self.https(d.listen)
        self.assertEqual((r.status, r.header("X-Canary-Set")), (200, "stable"))
        self.assertEqual(support.http_request(d.control, "GET", "/healthz").status, 200)

    def test_silent_connections_do_not_block_handshakes(self):
        d = self.tls_canaryd(self.endpoints())
        idle = [self.raw(d.listen) for _ in range(2 * THREADS + 2)]
        partial = self.raw(d.listen)
        partial.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the start of a ClientHello, then nothing
        t = time.monotonic()
        for _ in range(5):
            with TlsClient(d.listen, timeout=3) as c:
                self.assertEqual(c.request().status, 200)
        self.assertLess(time.monotonic() - t, 3, "handshakes waited behind connections that send nothing")
        self.assertTrue(all(not c.eof for c in idle))  # (kept open until here by the cleanups)

    def test_silent_connection_is_closed_after_client_header_timeout(self):
        d = self.tls_canaryd(self.endpoints(), timeouts={"client_header": "1s"})
        c = self.raw(d.listen)
        t = time.monotonic()
        self.assertTrue(c.closed_within(5), "a connection that never starts the handshake stayed open")
        self.assertLess(time.monotonic() - t, 3)


class TlsBodiesTest(TlsTest):
    def test_1mib_upload_and_download_over_the_tls_listener(self):
        up = self.raw_upstream(serve_digest_or_pattern(MIB, seed=21))
        d = self.tls_canaryd([(up.port, "v1")], canary=None)
        self.assert_bodies(d.listen, TlsClient(d.listen, timeout=30), seed=21)

    def test_1mib_upload_and_download_with_tls_on_both_sides(self):
        ctx = server_context(PKI.v1)
        up = self.raw_upstream(over_tls(ctx, serve_digest_or_pattern(MIB, seed=22)))
        d = self.tls_canaryd([(up.port, "v1", {"ca": PKI.ca.crt, "server_name": "v1.test"})], canary=None)
        self.assert_bodies(d.listen, TlsClient(d.listen, timeout=30), seed=22)
        self.assertIn("v1.test", ctx.sni_names)
        self.assertEqual(set(ctx.sni_names), {"v1.test"}, ctx.sni_names)

    def test_1mib_upload_and_download_over_a_tls_upstream(self):
        up = self.raw_upstream(over_tls(server_context(PKI.v1), serve_digest_or_pattern(MIB, seed=23)))
        d = self.canaryd(endpoints=[(up.port, "v1", {"ca": PKI.ca.crt, "server_name": "v1.test"})], canary=None)
        self.assert_bodies(d.listen, RawClient(d.listen, timeout=30), seed=23)

    def test_http2_streams_over_a_tls_upstream(self):
        # HTTP/2 streams read a TLS upstream under the stream's own read timer (a plain one is watched by
        # the connection's sweep instead): both bodies arrive whole.
        from test_http2 import H2Client
        up = self.raw_upstream(over_tls(server_context(PKI.v1), serve_digest_or_pattern(MIB, seed=24)))
        d = self.canaryd(endpoints=[(up.port, "v1", {"ca": PKI.ca.crt, "server_name": "v1.test"})], canary=None,
                         http2=True)
        c = H2Client(d.listen, timeout=30)
        self.addCleanup(c.close)
        pattern = Pattern(MIB, seed=124)
        body = b"".join(pattern.blocks(65536))
        rs = c.wait([c.request("/down"), c.request("/down"),
                     c.request("/up", method="POST", headers=[("content-length", str(MIB))], body=body)])
        expected = hashlib.sha256(b"".join(Pattern(MIB, seed=24).blocks())).hexdigest()
        self.assertEqual([hashlib.sha256(r["body"]).hexdigest() for r in rs[:2]], [expected] * 2)
        doc = json.loads(rs[2]["body"])
        self.assertEqual((doc["bytes"], doc["sha256"], doc["complete"]), (MIB, pattern.sha256(), True))

    def assert_bodies(self, port, c, seed):
        self.addCleanup(c.close)
        pattern = Pattern(MIB, seed=seed + 100)
        # Content-Length upload
        c.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Length: %d\r\n\r\n" % MIB)
        for block in pattern.blocks(65536):
            c.send(block)
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        doc = json.loads(r.body)
        self.assertEqual((doc["bytes"], doc["sha256"], doc["complete"]), (MIB, pattern.sha256(), True),
                         "the 1 MiB upload arrived as %s" % doc)
        # chunked upload on the same connection
        c.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for block in pattern.blocks(100000):
            c.send(b"%x\r\n" % len(block) + block + b"\r\n")
        c.send(b"0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        doc = json.loads(r.body)
        self.assertEqual((doc["bytes"], doc["sha256"]), (MIB, pattern.sha256()), "chunked upload: %s" % doc)
        # two downloads on the same connection
        for i in range(2):
            c.send(b"GET /download HTTP/1.1\r\nHost: t\r\n\r\n")
            r, count, digest = c.read_response_digest()
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.complete, "download %d ended early after %d bytes" % (i, count))
            self.assertEqual(count, MIB)
            self.assertEqual(digest, Pattern(MIB, seed=seed).sha256(), "download %d: different bytes" % i)


class TlsStopTest(TlsTest):
    def test_idle_tls_keepalive_client_is_closed_on_sigterm(self):
        up = self.raw_upstream(serve_fixed())
        d = self.tls_canaryd([(up.port, "v1")], canary=None, timeouts={"keepalive_idle": "60s"})
        c = self.tls(d.listen)
        for _ in range(2):
            self.assertEqual(c.request().status, 200)
        t = time.monotonic()
        d.send_signal(signal.SIGTERM)
        self.assertTrue(c.closed_within(3), "the idle TLS keep-alive connection stayed open after SIGTERM")
        self.assertEqual(d.wait_exit(5), 0, d.log())
        self.assertLess(time.monotonic() - t, 3.0, "an idle TLS connection held up the stop")

    def test_sigterm_lets_an_in_flight_tls_request_finish(self):
        up = self.raw_upstream(serve_slow(2))
        d = self.tls_canaryd([(up.port, "v1")], canary=None)
        result = {}

        def run():
            try:
                with TlsClient(d.listen, timeout=30) as c:
                    result["response"] = c.request()
            except Exception as e:  # noqa: BLE001
                result["error"] = e
        th = threading.Thread(target=run, daemon=True)
        th.start()
        wait_until(lambda: len(up.requests) == 1, message="the slow request to reach the upstream")
        d.send_signal(signal.SIGTERM)
        code = d.wait_exit(10)
        th.join(10)
        self.assertEqual(code, 0, d.log())
        self.assertNotIn("error", result, result)
        r = result["response"]
        self.assertEqual((r.status, r.body, r.complete), (200, b"slow done\n", True))


# ---------------------------------------------------------------- certificate reload (SIGHUP)


class TlsReloadTest(TlsTest):
    NGINX = True

    def live_cert(self, name, cert):
        """Copies cert/key to per-test paths that the config names and the test rewrites."""
        live = Cert(os.path.join(self.work.path, name + ".crt"), os.path.join(self.work.path, name + ".key"),
                    cert.serial, cert.cn)
        self.install(live, cert)
        return live

    def install(self, live, cert=None, crt_from=None, key_from=None):
        """Atomically replaces the live files: with `cert`'s, or crt/key from the given files;
        a None source (with cert None) removes that file."""
        for dst, src in ((live.crt, crt_from if cert is None else cert.crt),
                         (live.key, key_from if cert is None else cert.key)):
            if src is None:
                if os.path.exists(dst):
                    os.remove(dst)
                continue
            with open(src, "rb") as f:
                data = f.read()
            with open(dst + ".tmp", "wb") as f:
                f.write(data)
            os.replace(dst + ".tmp", dst)

    def reload(self, d, ok):
        offset = len(d.log())
        d.send_signal(signal.SIGHUP)
        d.wait_log(r"reloaded" if ok else r"reload failed", after=offset)
        return d.log()[offset:]

    def test_sighup_serves_the_new_certificate_and_keeps_open_connections(self):
        live = self.live_cert("live", PKI.server)
        d = self.tls_canaryd(self.endpoints(), cert=live)
        old = self.tls(d.listen)
        self.assertEqual(old.peer_serial(), PKI.server.serial)
        self.assertEqual(old.request().status, 200)
        self.install(live, PKI.server_b)
        self.reload(d, ok=True)
        new = self.tls(d.listen)
        self.assertEqual((new.peer_serial(), new.peer_cn()), (PKI.server_b.serial, PKI.server_b.cn),
                         "a new connection after the reload got the old certificate")
        r = new.request(headers={"X-Canary": "always"})
        self.assertEqual((r.status, r.header("X-Canary-Set")), (200, "canary"))
        for i in range(3):
            r = old.request()
            self.assertTrue(r.complete, r)
            self.assertEqual((r.status, r.header("X-Canary-Set")), (200, "stable"),
                             "request %d on the connection opened before the reload: %r" % (i, r))
        self.assertEqual(old.peer_serial(), PKI.server.serial)
        self.assertEqual(new.request().status, 200)

    def test_certificate_that_cannot_be_loaded_keeps_the_old_one(self):
        live = self.live_cert("live-bad", PKI.server)
        d = self.tls_canaryd(self.endpoints(), cert=live)
        old = self.tls(d.listen)
        self.assertEqual(old.request().status, 200)
        cases = (("the key does not match the certificate", PKI.server_c.crt, PKI.server.key),
                 ("the key file is missing", PKI.server_c.crt, None),
                 ("the certificate file is missing", None, PKI.server_c.key),
                 ("the key file is not PEM", PKI.server_c.crt, PKI.garbage),
                 ("the certificate file is not PEM", PKI.garbage, PKI.server_c.key))
        for what, crt, key in cases:
            with self.subTest(what):
                self.install(live, crt_from=crt, key_from=key)
                out = self.reload(d, ok=False)
                self.assertIn("listen[0].tls", out, "the failed reload's log does not name the field: %r" % out)
                self.assertTrue(d.alive(), "canaryd died on a bad certificate reload")
                c = TlsClient(d.listen)
                try:
                    self.assertEqual(c.peer_serial(), PKI.server.serial, "%s: not the old certificate" % what)
                    self.assertEqual(c.request().status, 200)
                finally:
                    c.close()
                r = old.request()
                self.assertEqual(r.status, 200, "%s: the open connection stopped working: %r" % (what, r))
        self.install(live, PKI.server_c)
        self.reload(d, ok=True)
        with TlsClient(d.listen) as c:
            self.assertEqual(c.peer_serial(), PKI.server_c.serial, "a good certificate after failed reloads")
            self.assertEqual(c.request().status, 200)


# ---------------------------------------------------------------- configuration check (-t) and start-up


class TlsConfigCheckTest(TlsTest):
    def config(self, name, endpoints=None, listen_tls=None, extra=""):
        d = support.Canaryd(self.work.path, name, endpoints or [(18081, "v1"), (18082, "v2")],
                            listen_tls=listen_tls, extra=extra)
        return d

    def assert_invalid(self, d, field_prefix, exact=True):
        p = run_canaryd(["-t", "-c", d.config])
        self.assertEqual(p.returncode, 1, "-t accepted (exit %d):\n%s" % (p.returncode, d.config_text()))
        lines = [line for line in p.stderr.splitlines() if line.strip()]
        self.assertTrue(lines, "nothing on stderr")
        found = [re.match(re.escape(d.config) + r": ([A-Za-z0-9_.\[\]-]+): (.+)$", line) for line in lines]
        self.assertTrue(all(found), "not `FILE: field.path: message`: %r" % lines)
        paths = [m.group(1) for m in found]
        if exact:
            self.assertIn(field_prefix, paths, "expected an error for %s, got %r" % (field_prefix, lines))
        else:
            self.assertTrue(any(x.startswith(field_prefix) for x in paths),
                            "expected an error under %s, got %r" % (field_prefix, lines))
        return lines

    def test_valid_tls_config(self):
        d = self.config("valid", listen_tls=PKI.server.listen_tls(),
                        endpoints=[(18081, "v1", {"ca": PKI.ca.crt, "server_name": "v1.test"}),
                                   (18083, "v1", {"ca": PKI.ca.crt}),
                                   ("localhost:18084", "v1", {}),
                                   (18082, "v2")])
        p = run_canaryd(["-t", "-c", d.config])
        self.assertEqual((p.returncode, p.stderr.strip()), (0, ""), d.config_text())
        d = self.config("valid-chain", listen_tls=PKI.chained.listen_tls())
        p = run_canaryd(["-t", "-c", d.config])
        self.assertEqual((p.returncode, p.stderr.strip()), (0, ""), d.config_text())

    def test_each_tls_error_names_its_field(self):
        missing = os.path.join(self.work.path, "no-such-file.pem")
        good = PKI.server.listen_tls()
        cases = [
            ("missing cert", dict(listen_tls=dict(good, cert=missing)), "listen[0].tls.cert"),
            ("cert not PEM", dict(listen_tls=dict(good, cert=PKI.garbage)), "listen[0].tls.cert"),
            ("missing key", dict(listen_tls=dict(good, key=missing)), "listen[0].tls.key"),
            ("key not PEM", dict(listen_tls=dict(good, key=PKI.garbage)), "listen[0].tls.key"),
            ("key of another cert", dict(listen_tls=dict(good, key=PKI.server_b.key)), "listen[0].tls.key"),
            ("missing ca", dict(endpoints=[(18081, "v1"), (18082, "v2", {"ca": missing})]), "endpoints[1].tls.ca"),
            ("ca not PEM", dict(endpoints=[(18081, "v1"), (18082, "v2", {"ca": PKI.garbage})]),
             "endpoints[1].tls.ca"),
            ("unknown key under listen tls", dict(listen_tls=dict(good, ciphers="ALL")), "listen[0].tls.ciphers"),
            ("unknown key under endpoint tls", dict(endpoints=[(18081, "v1", {"ca": PKI.ca.crt, "sni": "x"}),
                                                               (18082, "v2")]), "endpoints[0].tls.sni"),
        ]
        for what, kw, field in cases:
            with self.subTest(what):
                self.assert_invalid(self.config("bad-" + what.replace(" ", "-"), **kw), field)
        # cert and key are both required
        for what, tls in (("no key", {"cert": PKI.server.crt}), ("no cert", {"key": PKI.server.key}),
                          ("empty", {})):
            with self.subTest(what):
                self.assert_invalid(self.config("incomplete-" + what.replace(" ", "-"), listen_tls=tls),
                                    "listen[0].tls", exact=False)

    def test_startup_with_a_missing_certificate_exits_1_naming_the_field(self):
        missing = os.path.join(self.work.path, "gone.crt")
        d = self.canaryd(endpoints=[(1, "v1")], start=False, listen_tls={"cert": missing, "key": PKI.server.key})
        d.start(wait=False)
        try:
            code = d.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.fail("canaryd kept running without its certificate: %s" % d.log())
        self.assertEqual(code, 1, d.log())
        lines = [line for line in d.log().splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, "expected one line on stderr, got %r" % lines)
        self.assertIn(d.config, lines[0])
        self.assertIn("listen[0].tls.cert", lines[0])

    def test_startup_with_a_mismatching_key_exits_1_naming_the_field(self):
        d = self.canaryd(endpoints=[(1, "v1")], start=False,
                         listen_tls={"cert": PKI.server.crt, "key": PKI.server_b.key})
        d.start(wait=False)
        try:
            code = d.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.fail("canaryd kept running with a key that does not match: %s" % d.log())
        self.assertEqual(code, 1, d.log())
        self.assertRegex(d.log(), re.escape(d.config) + r": listen\[0\]\.tls\.key: ")


# ---------------------------------------------------------------- TLS to upstreams


class UpstreamTlsTest(TlsTest):
    """nginx TLS upstreams: v1.test, v2.test, one for the IP 127.0.0.1 only, and a plain one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.p_v1, cls.p_v2, cls.p_ip, cls.p_plain = (free_port() for _ in range(4))
        try:
            cls.tls_upstreams = TlsNginx(cls.work.path, [(cls.p_v1, "v1", PKI.v1), (cls.p_v2, "v2", PKI.v2),
                                                         (cls.p_ip, "v1", PKI.ip), (cls.p_plain, "v1", None)])
        except Exception:
            cls.work.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.tls_upstreams.stop()
        super().tearDownClass()

    def tls_eps(self):
        return [(self.p_v1, "v1", {"ca": PKI.ca.crt, "server_name": "v1.test"}),
                (self.p_v2, "v2", {"ca": PKI.ca.crt, "server_name": "v2.test"})]

    def connect_errors(self, d, s="stable"):
        return d.metrics().value("canaryd_upstream_errors_total", set=s, kind="connect")

    def test_verified_with_the_ca_and_sni_per_set(self):
        d = self.canaryd(endpoints=self.tls_eps())
        c = self.raw(d.listen)
        for i in range(10):
            canary = i % 2 == 1
            c.send(request_bytes("GET", "/tls", {"X-Canary": "always" if canary else "never"}))
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            e = parse_echo(r.body)
            self.assertEqual((r.header("X-Canary-Set"), e["sni"], e["version"]),
                             ("canary", "v2.test", "v2") if canary else ("stable", "v1.test", "v1"), e)
            self.assertIn(e["tlsproto"], ("TLSv1.2", "TLSv1.3"), e)
            self.assertEqual(e["proto"], "http", "X-Forwarded-Proto names the client side: %s" % e)
        self.assertEqual(d.metrics().value("canaryd_upstream_errors_total"), 0)

    def test_tls_on_both_sides(self):
        d = self.tls_canaryd(self.tls_eps())
        c = self.tls(d.listen)
        for i in range(6):
            canary = i % 2 == 1
            r = c.request(path="/tls", headers={"X-Canary": "always" if canary else "never"})
            self.assertEqual(r.status, 200, r)
            e = parse_echo(r.body)
            self.assertEqual((r.header("X-Canary-Set"), e["sni"], e["proto"]),
                             ("canary", "v2.test", "https") if canary else ("stable", "v1.test", "https"), e)

    def test_ip_literal_endpoint_sends_no_sni_and_verifies_the_ip(self):
        d = self.canaryd(endpoints=[(self.p_ip, "v1", {"ca": PKI.ca.crt})], canary=None)
        r = d.get("/tls")
        self.assertEqual(r.status, 200, r)
        e = parse_echo(r.body)
        self.assertEqual(e["sni"], "", "SNI sent for an IP-literal endpoint: %s" % e)
        self.assertIn(e["tlsproto"], ("TLSv1.2", "TLSv1.3"), e)

    def test_host_name_endpoint_sends_the_host_as_sni(self):
        port = free_port()
        self.tls_nginx([(port, "v1", PKI.localhost)], ipv6=has_ipv6_loopback())
        d = self.canaryd(endpoints=[("localhost:%d" % port, "v1", {"ca": PKI.ca.crt})], canary=None)
        r = d.get("/tls")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(parse_echo(r.body)["sni"], "localhost", r.body)

    def test_wrong_ca_is_a_connect_failure(self):
        d = self.canaryd(endpoints=[(self.p_v1, "v1", {"ca": PKI.other_ca.crt, "server_name": "v1.test"})],
                         canary=None, routing={"retries": 0})
        r = d.get("/tls")
        self.assertEqual(r.status, 502, r)
        wait_until(lambda: self.connect_errors(d) == 1,
                   message="canaryd_upstream_errors_total{set=stable,kind=connect} == 1")
        m = d.metrics()
        self.assertEqual(m.value("canaryd_upstream_errors_total", kind="reset"), 0)
        self.assertEqual(m.value("canaryd_upstream_errors_total", kind="timeout"), 0)
        self.assertEqual(d.get("/tls").status, 502)
        wait_until(lambda: self.connect_errors(d) == 2, message="a second connect error")

    def test_name_mismatch_is_a_connect_failure(self):
        cases = (("server_name not in the certificate",
                  (self.p_v1, "v1", {"ca": PKI.ca.crt, "server_name": "v2.test"})),
                 ("IP not in the certificate",
                  (self.p_v1, "v1", {"ca": PKI.ca.crt})),
                 ("a host name for an IP-only certificate",
                  (self.p_ip, "v1", {"ca": PKI.ca.crt, "server_name": "v1.test"})))
        for i, (what, ep) in enumerate(cases):
            with self.subTest(what):
                d = self.canaryd(name="mismatch-%d" % i, endpoints=[ep], canary=None, routing={"retries": 0})
                r = d.get("/tls")
                self.assertEqual(r.status, 502, "%s: %r" % (what, r))
                wait_until(lambda: self.connect_errors(d) == 1, message="%s: one connect error" % what)
                d.stop()

    def test_empty_tls_map_verifies_against_the_system_store(self):
        # `tls: {}`: the system trust store, which does not know the test CA.
        d = self.canaryd(endpoints=[(self.p_ip, "v1", {})], canary=None, routing={"retries": 0})
        self.assertEqual(d.get("/tls").status, 502)
        wait_until(lambda: self.connect_errors(d) == 1, message="one connect error")

    def test_failing_tls_endpoint_is_retried_on_a_plain_one(self):
        d = self.canaryd(endpoints=[(self.p_v1, "v1", {"ca": PKI.other_ca.crt, "server_name": "v1.test"}),
                                    (self.p_plain, "v1")], canary=None, routing={"retries": 2})
        rs = new_connection_requests(d.listen, 10, path="/tls") + keepalive_requests(d.listen, 10, path="/tls")
        self.assertEqual([r.status for r in rs], [200] * 20)
        self.assertEqual({r.header("X-Endpoint") for r in rs}, {str(self.p_plain)})
        self.assertGreaterEqual(self.connect_errors(d), 1, "the TLS endpoint was never tried")

    def test_tls_11_only_upstream_is_refused(self):
        up = self.raw_upstream(over_tls(server_context(PKI.v1, version=ssl.TLSVersion.TLSv1_1), serve_fixed()))
        with TlsClient(up.port, client_context(version=ssl.TLSVersion.TLSv1_1), server_hostname="v1.test") as c:
            self.assertEqual(c.request().status, 200, "control: the TLS 1.1 upstream works with a TLS 1.1 client")
        d = self.canaryd(endpoints=[(up.port, "v1", {"ca": PKI.ca.crt, "server_name": "v1.test"})], canary=None,
                         routing={"retries": 0})
        self.assertEqual(d.get("/").status, 502)
        wait_until(lambda: self.connect_errors(d) == 1, message="one connect error")

    def test_pooled_tls_connections_are_reused(self):
        d = self.canaryd(endpoints=self.tls_eps())
        rs = keepalive_requests(d.listen, 100, path="/tls")
        self.assertEqual({r.status for r in rs}, {200})
        conns = {parse_echo(r.body)["conn"] for r in rs}
        self.assertLessEqual(len(conns), 2, "100 requests on one client connection used %d TLS connections"
                             % len(conns))
        self.assertGreaterEqual(max(int(parse_echo(r.body)["requests"]) for r in rs), 50)
        rs = new_connection_requests(d.listen, 100, path="/tls")
        self.assertEqual({r.status for r in rs}, {200})
        conns = {parse_echo(r.body)["conn"] for r in rs}
        self.assertLessEqual(len(conns), 2 * THREADS, "100 client connections used %d TLS connections" % len(conns))
        self.assertEqual(d.metrics().value("canaryd_upstream_errors_total"), 0)

    def test_nginx_closing_pooled_tls_connections_after_keepalive_requests(self):
        port = free_port()
        self.tls_nginx([(port, "v1", PKI.v1)], keepalive_requests=3)
        d = self.canaryd(endpoints=[(port, "v1", {"ca": PKI.ca.crt, "server_name": "v1.test"})], canary=None)
        rs = keepalive_requests(d.listen, 30, path="/tls")
        self.assertEqual([r.status for r in rs], [200] * 30)
        self.assertGreaterEqual(len({r.header("X-Conn") for r in rs}), 10)
        self.assertEqual(d.metrics().value("canaryd_upstream_errors_total"), 0)

    def test_pooled_tls_connection_closed_by_nginx_idle_timeout(self):
        port = free_port()
        self.tls_nginx([(port, "v1", PKI.v1)], keepalive_timeout="1s")
        d = self.canaryd(endpoints=[(port, "v1", {"ca": PKI.ca.crt, "server_name": "v1.test"})], canary=None)
        c = self.raw(d.listen)
        seen = []
        for _ in range(3):
            c.send(b"GET /tls HTTP/1.1\r\nHost: t\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            seen.append(r.header("X-Conn"))
            time.sleep(2)  # nginx's keepalive_timeout (1 s) passing is the scenario
        self.assertEqual(len(set(seen)), 3, "the same nginx connection after its idle timeout: %s" % seen)
        m = d.metrics()
        self.assertEqual(m.value("canaryd_upstream_errors_total"), 0, "a closed pooled TLS connection was an error")
        self.assertEqual(m.value("canaryd_requests_total", code="5xx"), 0)


class UpstreamTlsHealthTest(TlsTest):
    def test_probes_use_tls_and_verify_the_certificate(self):
        good, bad, canary = free_port(), free_port(), free_port()
        self.tls_nginx([(bad, "v1", PKI.v1), (canary, "v2", PKI.v2)])
        d = self.canaryd(endpoints=[(good, "v1", {"ca": PKI.ca.crt, "server_name": "v1.test"}),
                                    (bad, "v1", {"ca": PKI.other_ca.crt, "server_name": "v1.test"}),
                                    (canary, "v2", {"ca": PKI.ca.crt, "server_name": "v2.test"})],
                         extra=FAST_PROBES)
        # `good` has no server yet and `bad` does not verify: both are taken out.
        wait_until(lambda: endpoint_health(d, good) is False, message="the endpoint without a server marked unhealthy")
        wait_until(lambda: endpoint_health(d, bad) is False,
                   message="the endpoint whose certificate does not verify (wrong CA) marked unhealthy")
        self.assertTrue(endpoint_health(d, canary), "the verified TLS canary endpoint is unhealthy")
        self.tls_nginx([(good, "v1", PKI.v1)])
        wait_until(lambda: endpoint_health(d, good) is True,
                   message="the TLS endpoint healthy once its server answers over TLS")
        self.assertIs(endpoint_health(d, bad), False, "the wrong-CA endpoint came back")
        m = d.metrics()
        self.assertEqual(m.value("canaryd_endpoints", set="stable", health="healthy"), 1)
        self.assertEqual(m.value("canaryd_endpoints", set="stable", health="unhealthy"), 1)
        self.assertEqual(m.value("canaryd_endpoints", set="canary", health="healthy"), 1)
        p = d.ctl("-o", "json", "status")
        self.assertEqual(p.returncode, 0, p.stderr)
        st = json.loads(p.stdout)
        health = {e["address"]: e["healthy"] for e in st["stable"]["endpoints"] + st["canary"]["endpoints"]}
        self.assertEqual(health, {"127.0.0.1:%d" % good: True, "127.0.0.1:%d" % bad: False,
                                  "127.0.0.1:%d" % canary: True})
        rs = keepalive_requests(d.listen, 20, path="/tls", headers={"X-Canary": "never"})
        self.assertEqual({(r.status, r.header("X-Endpoint")) for r in rs}, {(200, str(good))})


if __name__ == "__main__":
    support.main()
