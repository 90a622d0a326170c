#!/usr/bin/env python3
"""A table of raw HTTP/1.1 requests (RFC 9112 framing, docs/http.md) sent through canaryd to a
raw upstream that records every byte that arrives and answers a fixed 200.

Each row is (name, what the client sends, expected outcome):
  ("reject", status)   canaryd answers that status, then closes the connection (recv returns b""), and
                       the upstream receives NOTHING (not one byte on any connection);
  ("forward", checks)  exactly len(checks) requests reach the upstream, each normalised: method,
                       target, the body bytes exactly, one framing (no body fields, one Content-Length
                       equal to the body length, or Transfer-Encoding: chunked re-encoded by canaryd:
                       no chunk extensions, no trailers, no leading zeros), no hop-by-hop fields, one
                       Host; the client gets a 200 for each, in order.
One test runs every row and fails listing every mismatching row with its bytes and what happened.
"""

import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, RawClient, response_bytes, status_of  # noqa: E402

MAX_BODY = 1000          # limits.max_body_bytes of the "main" canaryd
MAX_HEADER = 4096        # limits.max_header_bytes of the "main" canaryd
CLIENT_HEADER = "2s"     # timeouts.client_header of both canaryds (bounds rows canaryd waits on)
SETTLE = 0.15            # after a row, how long stray bytes may still take to reach the upstream

HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
              "proxy-authenticate", "proxy-authorization")
CONTINUE = object()      # a step in a row's send list: read an interim response, it must be 100 Continue


# ---------------------------------------------------------------- row builders


def req(method="GET", target="/", headers=b"Host: test\r\n", body=b"", version=b"HTTP/1.1"):
    return method.encode() + b" " + target.encode() + b" " + version + b"\r\n" + headers + b"\r\n" + body


def post(headers, body=b"", target="/upload"):
    return req("POST", target, b"Host: test\r\n" + headers, body)


def chunked(body, target="/upload", extra=b""):
    return post(b"Transfer-Encoding: chunked\r\n" + extra, body, target)


def get_with(fields, target="/"):
    return req("GET", target, b"Host: test\r\n" + fields)


def fwd(method, target, body=b"", host="test", absent=(), present=None, closes=None):
    """One request the upstream must receive. target: a string or a tuple of acceptable strings;
    host: the one Host value it must carry (None: any); absent: more field names that must not arrive;
    present: {name: value} that must arrive as is; closes: True if canaryd must close the client
    connection after the responses."""
    return {"method": method, "target": target, "body": body, "host": host, "absent": tuple(absent),
            "present": dict(present or {}), "closes": closes}


def forward(*checks):
    return ("forward", list(checks))


def reject(status):
    return ("reject", status if isinstance(status, tuple) else (status,))


def build_cases(up_port):
    ok_get = fwd("GET", "/")
    many_fields = lambda n: b"".join(b"X-F%03d: v\r\n" % i for i in range(n))  # noqa: E731
    C = []

    def case(name, send, expect, profile="main"):
        C.append((name, send, expect, profile))

    # --- baselines
    case("plain GET", req(target="/plain"), forward(fwd("GET", "/plain")))
    case("GET with query string kept byte for byte", req(target="/p?a=1&b=%20x&c"),
         forward(fwd("GET", "/p?a=1&b=%20x&c")))
    case("HEAD", req("HEAD", "/h"), forward(fwd("HEAD", "/h")))
    case("POST Content-Length 5", post(b"Content-Length: 5\r\n", b"hello"), forward(fwd("POST", "/upload", b"hello")))
    case("POST Content-Length 0", post(b"Content-Length: 0\r\n"), forward(fwd("POST", "/upload", b"")))
    case("GET with a Content-Length body", req(headers=b"Host: test\r\nContent-Length: 3\r\n", body=b"abc"),
         forward(fwd("GET", "/", b"abc")))
    case("DELETE with a body", req("DELETE", "/d", b"Host: test\r\nContent-Length: 4\r\n", b"gone"),
         forward(fwd("DELETE", "/d", b"gone")))
    case("empty line before the request line is ignored", b"\r\n" + req(target="/lead"),
         forward(fwd("GET", "/lead")))
    case("HTTP/1.2 handled as 1.1", req(target="/v12", version=b"HTTP/1.2"), forward(fwd("GET", "/v12")))
    case("obs-text in a value is allowed", get_with(b"X-Latin: caf\xe9\r\n"),
         forward(fwd("GET", "/", present={"X-Latin": "caf\xe9"})))
    case("OWS around a value is trimmed", get_with(b"X-Ows: \t v \t\r\n"),
         forward(fwd("GET", "/", present={"X-Ows": "v"})))

    # --- Content-Length and Transfer-Encoding together
    case("CL then TE", post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), reject(400))
    case("TE then CL", post(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"), reject(400))
    case("CL 0 with TE", post(b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), reject(400))

    # --- Transfer-Encoding variants
    case("TE chunked", chunked(b"5\r\nhello\r\n0\r\n\r\n"), forward(fwd("POST", "/upload", b"hello")))
    case("TE ' chunked ' with OWS", post(b"Transfer-Encoding:   chunked \t\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
         forward(fwd("POST", "/upload", b"hello")))
    case("TE CHUNKED upper case", post(b"Transfer-Encoding: CHUNKED\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
         forward(fwd("POST", "/upload", b"hello")))
    case("TE 'chunked, chunked'", post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"), reject(400))
    case("TE xchunked", post(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n"), reject(400))
    case("TE gzip", post(b"Transfer-Encoding: gzip\r\n", b"0\r\n\r\n"), reject(400))
    case("TE 'gzip, chunked'", post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), reject(400))
    case("TE identity", post(b"Transfer-Encoding: identity\r\n", b"0\r\n\r\n"), reject(400))
    case("TE chunked;q=1", post(b"Transfer-Encoding: chunked;q=1\r\n", b"0\r\n\r\n"), reject(400))
    case("TE empty value", post(b"Transfer-Encoding: \r\n", b"0\r\n\r\n"), reject(400))
    case("two TE: chunked lines", post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                                       b"0\r\n\r\n"), reject(400))
    case("TE chunked on HTTP/1.0",
         req("POST", "/upload", b"Host: test\r\nTransfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n",
             b"HTTP/1.0"), reject(400))

    # --- Content-Length variants
    for v in (b"+5", b"-1", b"0x10", b"", b"5, 5", b"5 5", b"abc", b"1e3", b"5.0"):
        case("CL %r" % v.decode(), post(b"Content-Length: " + v + b"\r\n", b"hello"), reject(400))
    case("CL with OWS ' 5 '", post(b"Content-Length:  5 \r\n", b"hello"), forward(fwd("POST", "/upload", b"hello")))
    case("CL leading zeros 005", post(b"Content-Length: 005\r\n", b"hello"), forward(fwd("POST", "/upload", b"hello")))
    case("duplicate equal CL 5, 5", post(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"),
         forward(fwd("POST", "/upload", b"hello")))
    case("duplicate different CL 5, 6", post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"), reject(400))
    case("CL overflow (2^64 and beyond)", post(b"Content-Length: 99999999999999999999999\r\n", b"hello"),
         reject((400, 413)))
    case("CL 18446744073709551616 (2^64)", post(b"Content-Length: 18446744073709551616\r\n", b"hello"),
         reject((400, 413)))

    # --- chunk sizes, extensions, trailers
    case("chunk size +5", chunked(b"+5\r\nhello\r\n0\r\n\r\n"), reject(400))
    case("chunk size -5", chunked(b"-5\r\nhello\r\n0\r\n\r\n"), reject(400))
    case("chunk size 0x5", chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), reject(400))
    case("chunk size zz (not hex)", chunked(b"zz\r\nhello\r\n0\r\n\r\n"), reject(400))
    case("chunk size empty", chunked(b"\r\nhello\r\n0\r\n\r\n"), reject(400))
    case("chunk size overflow", chunked(b"10000000000000005\r\nhello\r\n0\r\n\r\n"), reject((400, 413)))
    case("chunk size overflow, many f", chunked(b"fffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), reject((400, 413)))
    # What has arrived of a chunked body is checked before any of it is sent: a break in it, even after
    # good chunks, reaches the upstream as nothing at all.
    case("chunk data without CRLF after it", chunked(b"5\r\nhelloXX0\r\n\r\n"), reject(400))
    case("chunk data longer than its size", chunked(b"3\r\nhello\r\n0\r\n\r\n"), reject(400))
    case("chunk data followed by a bare LF", chunked(b"5\r\nhello\n0\r\n\r\n"), reject(400))
    case("chunk size line ending in bare LF", chunked(b"5\nhello\r\n0\r\n\r\n"), reject(400))
    case("bare LF in the second chunk's line", chunked(b"5\r\nhello\r\n5\nworld\r\n0\r\n\r\n"), reject(400))
    case("bare LF ending the last chunk", chunked(b"5\r\nhello\r\n0\n\r\n"), reject(400))
    case("bare CR in a chunk line", chunked(b"5\rhello\r\n0\r\n\r\n"), reject(400))
    case("0x01 in a chunk extension", chunked(b"5;a=b\x01\r\nhello\r\n0\r\n\r\n"), reject(400))
    case("NUL in a quoted chunk extension", chunked(b"5;a=\"b\x00\"\r\nhello\r\n0\r\n\r\n"), reject(400))
    case("DEL in a chunk extension after a good chunk",
         chunked(b"5\r\nhello\r\n5;x=\x7f\r\nworld\r\n0\r\n\r\n"), reject(400))
    case("chunk extension without a name", chunked(b"5;=b\r\nhello\r\n0\r\n\r\n"), reject(400))
    case("text after the chunk size", chunked(b"5 x\r\nhello\r\n0\r\n\r\n"), reject(400))
    case("trailer with obs-fold", chunked(b"5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n"), reject(400))
    case("trailer without a colon", chunked(b"5\r\nhello\r\n0\r\nX-T\r\n\r\n"), reject(400))
    case("control character in a trailer", chunked(b"5\r\nhello\r\n0\r\nX-T: a\x01\r\n\r\n"), reject(400))
    case("chunk line over max_header_bytes", chunked(b"5;e=" + b"x" * MAX_HEADER + b"\r\nhello\r\n0\r\n\r\n"),
         reject(431))
    case("trailer section over max_header_bytes",
         chunked(b"5\r\nhello\r\n0\r\nX-T: " + b"t" * MAX_HEADER + b"\r\n\r\n"), reject(431))
    case("chunk leading zeros 0005, upper hex A", chunked(b"0005\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n"),
         forward(fwd("POST", "/upload", b"hello0123456789")))
    case("chunk extension stripped", chunked(b"5;ext=secret\r\nhello\r\n6;a=1;b=\"q;x\"\r\n world\r\n0;last\r\n\r\n"),
         forward(fwd("POST", "/upload", b"hello world")))
    case("trailer not forwarded",
         chunked(b"5\r\nhello\r\n0\r\nX-Trailer-Secret: t\r\nX-Two: 2\r\n\r\n", extra=b"Trailer: X-Trailer-Secret\r\n"),
         forward(fwd("POST", "/upload", b"hello", absent=("x-trailer-secret", "x-two"))))
    case("empty chunked body", chunked(b"0\r\n\r\n"), forward(fwd("POST", "/upload", b"")))

    # --- line endings and field syntax
    case("bare LF line endings", b"GET / HTTP/1.1\nHost: test\n\n", reject(400))
    case("one bare LF line", b"GET / HTTP/1.1\r\nHost: test\nX-A: b\r\n\r\n", reject(400))
    case("bare CR line ending inside the head", b"GET / HTTP/1.1\r\nHost: test\rX-A: b\r\n\r\n", reject(400))
    case("bare CR line endings throughout", b"GET / HTTP/1.1\rHost: test\r\r", reject(400))
    case("space between field name and colon", get_with(b"X-A : b\r\n"), reject(400))
    case("tab between field name and colon", get_with(b"X-A\t: b\r\n"), reject(400))
    case("space before Host colon", b"GET / HTTP/1.1\r\nHost : test\r\n\r\n", reject(400))
    case("obs-fold with SP", get_with(b"X-A: one\r\n two\r\n"), reject(400))
    case("obs-fold with HTAB", get_with(b"X-A: one\r\n\ttwo\r\n"), reject(400))
    case("CR in a value", get_with(b"X-A: a\rb\r\n"), reject(400))
    case("LF in a value", get_with(b"X-A: a\nb: c\r\n"), reject(400))
    case("NUL in a value", get_with(b"X-A: a\x00b\r\n"), reject(400))
    case("0x01 in a value", get_with(b"X-A: a\x01b\r\n"), reject(400))
    case("DEL in a value", get_with(b"X-A: a\x7fb\r\n"), reject(400))
    case("control char 0x01 in a name", get_with(b"X\x01A: b\r\n"), reject(400))
    case("NUL in a name", get_with(b"X\x00A: b\r\n"), reject(400))
    case("DEL in a name", get_with(b"X\x7fA: b\r\n"), reject(400))
    case("space in a name", get_with(b"X A: b\r\n"), reject(400))
    case("empty name", get_with(b": b\r\n"), reject(400))
    case("line without colon", get_with(b"NoColonHere\r\n"), reject(400))

    # --- Host
    case("missing Host on HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n", reject(400))
    case("duplicate Host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", reject(400))
    case("duplicate identical Host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", reject(400))
    for v in (b"a b", b"a/b", b"user@a", b"a:b", b"a\tb"):
        case("Host %r" % v.decode(), b"GET / HTTP/1.1\r\nHost: " + v + b"\r\n\r\n", reject(400))
    case("Host with port", b"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
         forward(fwd("GET", "/", host="example.com:8080")))
    case("Host IPv6 literal", b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", forward(fwd("GET", "/", host="[::1]:8080")))
    case("HTTP/1.0 without Host: Host added", b"GET /ten HTTP/1.0\r\n\r\n",
         forward(fwd("GET", "/ten", host="127.0.0.1:%d" % up_port, closes=True)))
    case("HTTP/1.0 with Host kept", b"GET /ten HTTP/1.0\r\nHost: h10\r\n\r\n",
         forward(fwd("GET", "/ten", host="h10", closes=True)))
    case("HTTP/1.0 duplicate Host", b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", reject(400))

    # --- request line and versions
    case("HTTP/0.9 style 'GET /'", b"GET /\r\n\r\n", reject(400))
    case("HTTP/0.9 style 'GET /' with Host", b"GET /\r\nHost: test\r\n\r\n", reject(400))
    case("HTTP/2.0", req(version=b"HTTP/2.0"), reject(505))
    case("HTTP/3.0", req(version=b"HTTP/3.0"), reject(505))
    case("lower-case version http/1.1", req(version=b"http/1.1"), reject(400))
    case("four-part request line", b"GET / HTTP/1.1 extra\r\nHost: test\r\n\r\n", reject(400))
    case("double space in the request line", b"GET  / HTTP/1.1\r\nHost: test\r\n\r\n", reject(400))
    case("invalid method character", b"G(T / HTTP/1.1\r\nHost: test\r\n\r\n", reject(400))
    case("CONNECT", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", reject(405))
    case("absolute-form target, Host matches", b"GET http://example.com/abs?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
         forward(fwd("GET", ("/abs?x=1", "http://example.com/abs?x=1"), host="example.com")))
    case("absolute-form target, Host differs (RFC 9112 3.2.2: Host := authority)",
         b"GET http://example.com/abs HTTP/1.1\r\nHost: other.test\r\n\r\n",
         forward(fwd("GET", ("/abs", "http://example.com/abs"), host="example.com")))
    case("OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: test\r\n\r\n", forward(fwd("OPTIONS", "*")))
    # RFC 9112 3.2: a target in a form its method does not allow.
    case("GET ../x (relative reference)", req(target="../x"), reject(400))
    case("GET host:80 (authority form)", req(target="test:80"), reject(400))
    case("GET * (asterisk form)", req(target="*"), reject(400))
    case("POST * (asterisk form)", post(b"Content-Length: 0\r\n", target="*"), reject(400))
    case("GET ftp://x/ (absolute form, not http)", req(target="ftp://test/x"), reject(400))
    case("CONNECT without a port", b"CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", reject(400))
    case("target of exactly 8192 bytes", req(target="/" + "t" * 8191), forward(fwd("GET", "/" + "t" * 8191)), "big")
    case("target over 8 KiB", req(target="/" + "t" * 8300), reject(414), "big")

    # --- limits
    case("100 fields (Host + 99)", get_with(many_fields(99)), forward(ok_get))
    case("101 fields", get_with(many_fields(100)), reject(431))
    case("header section just under max_header_bytes", get_with(b"X-Big: " + b"a" * 3500 + b"\r\n"), forward(ok_get))
    case("header section over max_header_bytes", get_with(b"X-Big: " + b"a" * 5000 + b"\r\n"), reject(431))
    case("CL body at max_body_bytes", post(b"Content-Length: %d\r\n" % MAX_BODY, b"b" * MAX_BODY),
         forward(fwd("POST", "/upload", b"b" * MAX_BODY)))
    case("CL body over max_body_bytes", post(b"Content-Length: %d\r\n" % (MAX_BODY + 1), b"b" * (MAX_BODY + 1)),
         reject(413))
    case("CL 10^15 over max_body_bytes, no body sent", post(b"Content-Length: 1000000000000000\r\n"), reject(413))
    case("chunked body at max_body_bytes", chunked(b"%x\r\n%s\r\n0\r\n\r\n" % (MAX_BODY, b"c" * MAX_BODY)),
         forward(fwd("POST", "/upload", b"c" * MAX_BODY)))
    case("chunked, one chunk over max_body_bytes",
         chunked(b"%x\r\n%s\r\n0\r\n\r\n" % (MAX_BODY + 1, b"c" * (MAX_BODY + 1))), reject(413))
    case("chunked, chunks adding up over max_body_bytes",
         chunked(b"200\r\n" + b"x" * 512 + b"\r\n200\r\n" + b"y" * 512 + b"\r\n0\r\n\r\n"), reject(413))

    # --- connection management, hop-by-hop, expectations
    case("pipelined two GETs", req(target="/one") + req(target="/two"),
         forward(fwd("GET", "/one"), fwd("GET", "/two")))
    case("pipelined chunked POST then CL POST then GET",
         chunked(b"3\r\none\r\n0\r\n\r\n", "/p1") + post(b"Content-Length: 3\r\n", b"two", "/p2") + req(target="/p3"),
         forward(fwd("POST", "/p1", b"one"), fwd("POST", "/p2", b"two"), fwd("GET", "/p3")))
    case("Expect: 100-continue", [post(b"Content-Length: 5\r\nExpect: 100-continue\r\n"), CONTINUE, b"hello"],
         forward(fwd("POST", "/upload", b"hello", absent=("expect",))))
    case("Expect: 100-continue, chunked",
         [post(b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n"), CONTINUE, b"5\r\nhello\r\n0\r\n\r\n"],
         forward(fwd("POST", "/upload", b"hello", absent=("expect",))))
    case("Expect: something-else", post(b"Content-Length: 5\r\nExpect: something-else\r\n", b"hello"), reject(417))
    case("Connection: close, x-foo with X-Foo", get_with(b"Connection: close, x-foo\r\nX-Foo: secret\r\n"),
         forward(fwd("GET", "/", absent=("x-foo",), closes=True)))
    case("Connection: keep-alive, X-Bar with Keep-Alive and X-Bar",
         get_with(b"Connection: keep-alive, X-Bar\r\nKeep-Alive: timeout=5\r\nX-Bar: 1\r\nX-Keep: yes\r\n"),
         forward(fwd("GET", "/", absent=("x-bar",), present={"X-Keep": "yes"})))
    case("two Connection fields name two fields",
         get_with(b"Connection: x-a\r\nConnection: x-b\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\n"),
         forward(fwd("GET", "/", absent=("x-a", "x-b"), present={"X-C": "3"})))
    case("hop-by-hop fields dropped",
         get_with(b"TE: trailers\r\nUpgrade: websocket\r\nProxy-Connection: keep-alive\r\n"
                  b"Proxy-Authorization: Basic eDp5\r\nTrailer: X-T\r\nX-End: kept\r\n"),
         forward(fwd("GET", "/", present={"X-End": "kept"})))
    case("X-Canary override not forwarded", get_with(b"X-Canary: never\r\n"), forward(fwd("GET", "/", absent=("x-canary",))))
    return C


# ---------------------------------------------------------------- upstream and checks


class RecordingSocket:
    """Wraps an upstream socket; every byte received is appended to the shared log."""

    def __init__(self, sock, log, lock):
        self._sock = sock
        self._log = log
        self._lock = lock

    def recv(self, n, *a):
        data = self._sock.recv(n, *a)
        if data:
            with self._lock:
                self._log.append(data)
        return data

    def __getattr__(self, name):
        return getattr(self._sock, name)


def recording_handler(log, lock):
    def handler(conn, up):
        conn.sock = RecordingSocket(conn.sock, log, lock)
        while True:
            r = conn.read_request()
            if r is None or not r.complete:
                return
            conn.send(response_bytes(200, headers=[("X-Echo-Target", r.target)], body=b"ok\n"))
    return handler


CHUNK_LINE = re.compile(rb"([0-9a-fA-F]+)\r\n")


def canonical_chunks(raw):
    """None if `raw` is a chunked body as canaryd must re-encode it (hex sizes without leading zeros or
    extensions, data, CRLF; last chunk 0 and no trailer section); otherwise what is wrong."""
    pos = 0
    while True:
        m = CHUNK_LINE.match(raw, pos)
        if not m:
            return "bad chunk-size line at %d: %r" % (pos, raw[pos:pos + 40])
        digits = m.group(1)
        size = int(digits, 16)
        if size and digits.startswith(b"0"):
            return "chunk size with leading zeros %r" % digits
        pos = m.end()
        if size == 0:
            if digits != b"0":
                return "last chunk %r" % digits
            if raw[pos:] != b"\r\n":
                return "trailer section or extra bytes after the last chunk: %r" % raw[pos:pos + 80]
            return None
        pos += size
        if raw[pos:pos + 2] != b"\r\n":
            return "no CRLF after chunk data at %d" % pos
        pos += 2


def check_forwarded(r, want):
    """Problems of one request as the upstream saw it, against one fwd() check."""
    p = []
    if not r.complete:
        p.append("the body did not end as its framing says")
    if r.method != want["method"]:
        p.append("method %r, want %r" % (r.method, want["method"]))
    targets = want["target"] if isinstance(want["target"], tuple) else (want["target"],)
    if r.target not in targets:
        p.append("target %r, want one of %r" % (r.target[:100], targets))
    if r.version != "HTTP/1.1":
        p.append("version %r" % r.version)
    if r.body != want["body"]:
        p.append("body %r, want %r" % (r.body[:80], want["body"][:80]))
    cls = r.header_all("Content-Length")
    tes = r.header_all("Transfer-Encoding")
    if tes:
        if cls:
            p.append("both Content-Length %r and Transfer-Encoding %r" % (cls, tes))
        if len(tes) != 1 or tes[0].lower() != "chunked":
            p.append("Transfer-Encoding %r" % tes)
        else:
            bad = canonical_chunks(r.raw_body)
            if bad:
                p.append("chunked body not re-encoded: %s (raw %r)" % (bad, r.raw_body[:120]))
    elif cls:
        if cls != [str(len(r.body))] or len(r.body) != len(want["body"]):
            p.append("Content-Length %r for a %d-byte body" % (cls, len(want["body"])))
    elif want["body"]:
        p.append("a body without Content-Length or Transfer-Encoding")
    names = r.names()
    for h in HOP_BY_HOP + ("expect",) + want["absent"]:
        if h in names:
            p.append("%s forwarded: %r" % (h, r.header_all(h)))
    hosts = r.header_all("Host")
    if len(hosts) != 1:
        p.append("Host fields %r (want exactly one)" % hosts)
    elif want["host"] is not None and hosts[0] != want["host"]:
        p.append("Host %r, want %r" % (hosts[0], want["host"]))
    for k, v in want["present"].items():
        if r.header_all(k) != [v]:
            p.append("%s %r, want [%r]" % (k, r.header_all(k), v))
    return p


def read_until_close(sock, timeout):
    """(bytes, how): how is 'eof' (recv returned b""), 'reset' or 'open' (timeout passed)."""
    out = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(out), "open"
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return bytes(out), "open"
        except ConnectionResetError:
            return bytes(out), "reset"
        if not data:
            return bytes(out), "eof"
        out += data


def short(b, n=300):
    b = bytes(b)
    return repr(b) if len(b) <= n else "%r...(%d bytes)" % (b[:n], len(b))


# ---------------------------------------------------------------- the test


class HttpTableTest(IntegrationTest):
    def test_request_table(self):
        log, lock = [], threading.Lock()
        up = self.raw_upstream(recording_handler(log, lock))
        common = dict(endpoints=[(up.port, "v1")], canary=None)
        daemons = {
            "main": self.canaryd("main", limits={"max_header_bytes": MAX_HEADER, "max_body_bytes": MAX_BODY},
                                 timeouts={"client_header": CLIENT_HEADER}, **common),
            "big": self.canaryd("big", timeouts={"client_header": CLIENT_HEADER}, **common),
        }
        cases = build_cases(up.port)
        failures = []
        started = time.monotonic()
        for name, send, expect, profile in cases:
            d = daemons[profile]
            with lock:
                log_mark = len(log)
            req_mark = len(up.requests)
            problems, happened = self.run_case(d, send, expect)
            time.sleep(SETTLE)  # stray bytes to the upstream still land in this row
            with lock:
                got_bytes = b"".join(log[log_mark:])
            got_reqs = up.requests[req_mark:]
            if expect[0] == "reject":
                if got_bytes:
                    problems.append("the upstream received %d bytes: %s" % (len(got_bytes), short(got_bytes)))
            else:
                checks = expect[1]
                if len(got_reqs) != len(checks):
                    problems.append("%d requests reached the upstream, want %d" % (len(got_reqs), len(checks)))
                for i, (r, want) in enumerate(zip(got_reqs, checks)):
                    for p in check_forwarded(r, want):
                        problems.append("upstream request %d: %s" % (i + 1, p))
                if problems:
                    happened.append("upstream received: %s" % short(got_bytes, 600))
            if problems:
                wire = send if isinstance(send, bytes) else b"".join(s for s in send if isinstance(s, bytes))
                failures.append("[%s] %s\n    sent: %s\n    want: %s\n    %s\n    %s" % (
                    profile, name, short(wire), expect[0] + " " + (
                        "/".join(map(str, expect[1])) if expect[0].startswith("reject") else
                        ", ".join("%s %s" % (c["method"], c["target"]) for c in expect[1])),
                    "\n    ".join(problems), "\n    ".join(happened)))
        passed = len(cases) - len(failures)
        print("\n%d cases, %d passed (%.1f s)" % (len(cases), passed, time.monotonic() - started))
        for d in daemons.values():
            self.assertTrue(d.alive(), "canaryd %s died during the table" % d.name)
        if failures:
            self.fail("%d of %d rows mismatched:\n\n%s" % (len(failures), len(cases), "\n\n".join(failures)))

    def run_case(self, d, send, expect):
        """Sends one row and reads what canaryd answers. Returns (problems, what happened)."""
        problems, happened = [], []
        c = RawClient(d.listen, timeout=5.0)
        try:
            steps = [send] if isinstance(send, bytes) else send
            try:
                for step in steps:
                    if step is CONTINUE:
                        head = c.read_head()
                        if not head.startswith(b"HTTP/1.1 100 "):
                            problems.append("wanted an interim 100 Continue first, got %s" % short(head))
                            return problems, happened
                    else:
                        c.send(step)
            except socket.timeout:
                problems.append("no 100 Continue within 5 s")
                return problems, happened
            except (BrokenPipeError, ConnectionResetError) as e:
                happened.append("send failed: %r" % e)  # canaryd may answer before all was sent

            if expect[0].startswith("reject"):
                reply, how = read_until_close(c.sock, 5.0)
                happened.append("client got %s, then %s" % (short(bytes(c.buf) + reply), how))
                reply = bytes(c.buf) + reply
                if status_of(reply) not in expect[1]:
                    problems.append("status %s, want %s" % (status_of(reply), "/".join(map(str, expect[1]))))
                if how != "eof":
                    problems.append("connection %s after the answer (want a clean close)" % how)
                return problems, happened

            checks = expect[1]
            for i, want in enumerate(checks):
                try:
                    r = c.read_response(want["method"])
                except (EOFError, socket.timeout, ConnectionResetError, ValueError) as e:
                    problems.append("response %d: %r (buffered %s)" % (i + 1, e, short(c.buf)))
                    return problems, happened
                happened.append("response %d: %s" % (i + 1, short(r.raw_head, 200)))
                if r.status != 200 or not r.complete:
                    problems.append("response %d: status %s complete %s, want a complete 200 (body %s)" % (
                        i + 1, r.status, r.complete, short(r.body, 100)))
                elif r.header("X-Echo-Target") is None or r.header("X-Echo-Target") not in (
                        want["target"] if isinstance(want["target"], tuple) else (want["target"],)):
                    problems.append("response %d answers target %r: out of order?" % (i + 1, r.header("X-Echo-Target")))
            closes = any(w["closes"] for w in checks)
            rest, how = read_until_close(c.sock, 3.0 if closes else SETTLE)
            rest = bytes(c.buf) + rest
            if rest:
                problems.append("extra bytes after the responses: %s" % short(rest))
            if closes and how != "eof":
                problems.append("connection %s after the response (want closed)" % how)
            return problems, happened
        finally:
            c.close()


if __name__ == "__main__":
    support.main()
