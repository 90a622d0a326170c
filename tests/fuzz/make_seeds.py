#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ (run from anywhere; rewrites them whole).

The seeds are small on purpose: a valid and an invalid example of each shape the targets check, so the
fuzzers start from inputs that reach deep code. run.sh fuzzes a copy and never writes here."""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# fuzz_request_validator: header blocks, valid and invalid framing.
REQUESTS = {
    "get": "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "get-query-headers": "GET /a/b?c=d&e HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8\r\nAccept: */*\r\nX-Canary: always\r\n\r\n",
    "post-content-length": "POST /api HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
    "post-zero-length": "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    "post-duplicate-equal-cl": "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "chunked": "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "chunked-ext-trailer": "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;a=1;b=\"q;\\\"x\"\r\nhello\r\n0\r\nX-T: v\r\n\r\n",
    "bad-chunk-bare-lf": "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
    "bad-chunk-overrun": "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
    "chunked-case-ows": "PUT /x HTTP/1.1\r\nhost: h\r\ntransfer-encoding:  Chunked \t\r\n\r\n",
    "http10-no-host": "GET / HTTP/1.0\r\n\r\n",
    "http10-keepalive": "GET / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi",
    "http11-minor-higher": "GET / HTTP/1.2\r\nHost: h\r\n\r\n",
    "absolute-form": "GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "authority-connect": "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "options-star": "OPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
    "connect-ipv6": "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
    "bad-target-relative": "GET ../x HTTP/1.1\r\nHost: h\r\n\r\n",
    "bad-target-authority-get": "GET h:80 HTTP/1.1\r\nHost: h\r\n\r\n",
    "bad-target-asterisk-get": "GET * HTTP/1.1\r\nHost: h\r\n\r\n",
    "bad-target-ftp": "GET ftp://x/ HTTP/1.1\r\nHost: h\r\n\r\n",
    "bad-target-connect-no-port": "CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n",
    "xff-via": "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\nVia: 1.1 a\r\nVia: 1.1 b\r\n\r\n",
    "empty-host": "GET / HTTP/1.1\r\nHost:\r\n\r\n",
    "cl-max": "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n",
    "bad-cl-te": "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    # Read as response heads too (parse_response_head, write_client_response).
    "response-nginx": "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 612\r\nConnection: keep-alive, X-Hint\r\nX-Hint: 1\r\nVia: 1.1 a\r\n\r\n",
    "response-chunked-10": "HTTP/1.0 404\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\nX-Canary-Set: x\r\n\r\n",
    "response-gzip-chunked": "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
    "response-bad-chunked-gzip": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    "bad-te-gzip": "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "bad-te-twice": "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    "bad-te-http10": "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    "bad-cl-conflict": "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
    "bad-cl-list": "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n",
    "bad-cl-sign": "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n",
    "bad-cl-overflow": "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n",
    "bad-obs-fold": "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n",
    "bad-bare-lf": "GET / HTTP/1.1\nHost: h\n\n",
    "bad-bare-cr": "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",
    "bad-nul": "GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n",
    "bad-ctl-value": "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n",
    "bad-space-before-colon": "POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n",
    "bad-missing-host": "GET / HTTP/1.1\r\n\r\n",
    "bad-duplicate-host": "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "bad-host-chars": "GET / HTTP/1.1\r\nHost: a b@c\r\n\r\n",
    "bad-http2": "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    "bad-version": "GET / HTTP/1.10\r\nHost: h\r\n\r\n",
    "bad-double-space": "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
    "bad-no-colon": "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",
    "incomplete": "GET / HTTP/1.1\r\nHost: h\r\n",
    "pipelined": "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
}

# fuzz_config_loader: the shipped examples plus small valid and invalid configs.
CONFIGS = {
    "minimal.yaml": "listen:\n  - address: 127.0.0.1:0\nservice:\n  stable: {}\n",
    "string-selectors.yaml": "listen: [{address: \"[::1]:8080\"}]\nendpoints:\n"
    "  - {address: \"10.0.0.1:80\", labels: {app: web, track: stable}}\n"
    "  - {address: \"10.0.0.2:80\", labels: {app: web, track: canary}}\n"
    "service:\n  selector: app=web\n  stable: \"track in (stable)\"\n  canary: \"track notin (stable),track\"\n"
    "  canary_weight: 12.5\n",
    "health.yaml": "listen: [{address: 0.0.0.0:8080}]\nservice: {stable: {v: \"1\"}, canary: {v: \"2\"}, canary_weight: 100}\n"
    "health: {path: /healthz, interval: 2s, timeout: 250ms, healthy_threshold: 2, unhealthy_threshold: 3}\n"
    "timeouts: {connect: 1s, drain: 0s}\nlimits: {max_header_bytes: 1024, max_body_bytes: 1048576}\n"
    "routing: {override_header: \"\", retries: 0}\nhistory_limit: 1000\nthreads: 256\n",
    "discovery-insecure-http.yaml": "listen: [{address: 127.0.0.1:0}]\nservice: {selector: {app: web}, stable: {v: \"1\"}}\n"
    "discovery: {kubernetes: {namespace: web, port: http, api_server: \"http://127.0.0.1:8001\", insecure_http: true}}\n",
    "bad-discovery-http.yaml": "listen: [{address: 127.0.0.1:0}]\nservice: {selector: {app: web}, stable: {v: \"1\"}}\n"
    "discovery: {kubernetes: {namespace: web, port: 80, api_server: \"http://10.0.0.1\", insecure_http: yes}}\n",
    "bad-overlap.yaml": "listen: [{address: 127.0.0.1:8080}]\nservice:\n  stable: {app: web}\n  canary: version=v2\n",
    "bad-weight-no-canary.yaml": "listen: [{address: 127.0.0.1:8080}]\nservice: {stable: a=b, canary_weight: 10}\n",
    "bad-weight.yaml": "listen: [{address: 127.0.0.1:8080}]\nservice: {stable: a=b, canary: a=c, canary_weight: 100.001}\n",
    "bad-contradiction.yaml": "listen: [{address: 127.0.0.1:8080}]\nservice: {selector: a=x, stable: a=y}\n",
    "bad-types.yaml": "listen: 8080\nthreads: -1\nservice: [stable]\nlimits: {max_header_bytes: 1e9}\n"
    "timeouts: {connect: 0s}\nunknown: 1\n",
    "bad-duplicate-listen.yaml": "listen:\n  - address: localhost:80\n  - address: LOCALHOST:80\n"
    "control: {address: 127.0.0.1:80}\nservice: {stable: \"!canary\"}\n",
    "bad-two-docs.yaml": "listen: []\n---\nservice: {}\n",
    "bad-anchor.yaml": "a: &x {stable: b=c}\nlisten: [{address: 127.0.0.1:1}]\nservice: *x\n",
    "bad-tag.yaml": "listen: [{address: !!str 127.0.0.1:1}]\nservice: {stable: !version}\n",
    "empty.yaml": "",
}

# fuzz_selector_parser: every operator; two selectors separated by NUL make a pair.
SELECTORS = {
    "equals": "name=nginx",
    "equals-double": "name==nginx",
    "not-equals": "version!=v1",
    "in": "track in (stable, canary)",
    "notin": "track notin (canary)",
    "exists": "version",
    "not-exists": "!version",
    "empty-value": "a=",
    "prefixed-key": "example.com/app=web,app.kubernetes.io/name in (x)",
    "combined": " name=nginx , version in (v1,v2),!beta,tier!=db,zone ",
    "empty": "",
    "spaces": " \t\n",
    "contradiction": "a=x,a=y",
    "dup-values": "a in (z,y,z,x)",
    "pair-disjoint": "track=stable\0track=canary",
    "pair-exists": "!version\0version=v2",
    "pair-overlap": "app=web\0tier notin (db)",
    "pair-in-notin": "a in (x,y)\0a notin (x,y)",
    "bad-triple-equals": "a===b",
    "bad-empty-in": "a in ()",
    "bad-unclosed": "a in (x",
    "bad-comma": ",",
    "bad-trailing-comma": "a,",
    "bad-operator": "a ~ b",
    "bad-key": "-a=b",
    "bad-value": "a=b c",
    "bad-long-value": "a=" + "x" * 64,
    "bad-not-op": "!a=b",
    "bad-paren": "a=(b)",
}

# fuzz_control_api: byte 0 = route (low 4 bits) | auth << 4, then the body; calls separated by 0xFF.
CALLS = {
    "status": b"\x00",
    "history": b"\x07",
    "weight": b'\x01{"canary_weight":10}',
    "weight-decimals-cause": b'\x01{"canary_weight":33.33,"cause":"ramp"}',
    "promote": b"\x02",
    "rollback": b'\x03{"cause":"bad"}',
    "undo": b"\x04",
    "undo-to": b'\x04{"to_revision":1}',
    "define-canary-string": b'\x05{"selector":"version=v2","canary_weight":5}',
    "define-canary-labels": b'\x05{"selector":{"track":"canary"},"canary_weight":0}',
    "delete-canary": b"\x06",
    "wrong-method": b"\x08{}",
    "unknown-path": b"\x09",
    "outside-api": b"\x0a",
    "weight-query": b'\x0b{"canary_weight":1}',
    "lowercase-method": b"\x0e",
    "custom-target": b'\x0f/api/weight?x=1\n{"canary_weight":50}',
    "custom-target-odd": b"\x0f/api/../api/status\n",
    "auth-missing": b'\x11{"canary_weight":10}',
    "auth-wrong": b"\x20",
    "auth-odd-spelling": b'\x31{"canary_weight":10}',
    "bad-weight-string": b'\x01{"canary_weight":"30"}',
    "bad-weight-range": b'\x01{"canary_weight":100.001}',
    "bad-weight-huge": b'\x01{"canary_weight":1e400}',
    "bad-field": b'\x01{"canary_wieght":1}',
    "bad-not-object": b"\x01[1]",
    "bad-json": b'\x01{"canary_weight":',
    "bad-empty-body": b"\x01",
    "bad-selector-empty": b'\x05{"selector":""}',
    "bad-selector-overlap": b'\x05{"selector":"app=web"}',
    "bad-undo-zero": b'\x04{"to_revision":0}',
    "bad-undo-missing": b'\x04{"to_revision":99}',
    "bad-cause-type": b'\x02{"cause":1}',
    "sequence": b'\x01{"canary_weight":20}\xff\x02\xff\x04\xff\x04{"to_revision":2}\xff\x06\xff'
    b'\x05{"selector":"track=canary","canary_weight":1}\xff\x03\xff\x07',
    "sequence-trim": b'\x01{"canary_weight":1}\xff\x01{"canary_weight":2}\xff\x01{"canary_weight":3}\xff'
    b'\x01{"canary_weight":4}\xff\x04{"to_revision":1}\xff\x04',
    "if-revision-match": b'\x01{"canary_weight": 20, "if_revision": 1}\xff\x03{"if_revision": 2}',
    "if-revision-stale": b'\x01{"canary_weight": 20}\xff\x01{"canary_weight": 30, "if_revision": 1}',
    "unchanged-twice": b'\x01{"canary_weight": 20}\xff\x01{"canary_weight": 20.0}\xff\x03\xff\x03\xff\x06\xff\x06',
    "duplicate-keys": b'\x01{"canary_weight": 20, "canary_weight": 30}\xff\x05{"selector": {"track": "x", "track": "y"}}',
    "weight-text-rounding": b'\x01{"canary_weight": 33.3300000001}\xff\x01{"canary_weight": 0.000000001}\xff'
    b'\x01{"canary_weight": 1e1}',
    "cause-long": b'\x01{"canary_weight": 5, "cause": "' + b"x" * 1025 + b'"}\xff\x02{"cause": "' + b"y" * 1024 + b'"}',
    "cause-control": b'\x03{"cause": "a\\nb"}\xff\x03{"cause": "\\u001b[2J"}\xff\x03{"cause": "\\u009b"}',
}


def main():
    shutil.rmtree(os.path.join(HERE, "corpus"), ignore_errors=True)
    for name, data in REQUESTS.items():
        write("fuzz_request_validator", name, data)
    examples = os.path.join(ROOT, "config", "examples")
    for f in sorted(os.listdir(examples)):
        with open(os.path.join(examples, f), "rb") as src:
            write("fuzz_config_loader", "example-" + f, src.read())
    with open(os.path.join(ROOT, "deploy", "image", "canaryd.yaml"), "rb") as src:
        write("fuzz_config_loader", "example-container.yaml", src.read())
    for name, data in CONFIGS.items():
        write("fuzz_config_loader", name, data)
    for name, data in SELECTORS.items():
        write("fuzz_selector_parser", name, data)
    for name, data in CALLS.items():
        write("fuzz_control_api", name, data)


if __name__ == "__main__":
    main()
