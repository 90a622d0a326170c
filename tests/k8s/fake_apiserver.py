#!/usr/bin/env python3
"""A fake Kubernetes API server for canaryd's tests (no real cluster is available).

Standard library only (plus the `openssl` CLI for make_certs). It follows the Kubernetes API
conventions for what canaryd and kubectl use:

  * HTTPS (or plain HTTP), bearer-token authentication (401 Status), optional RBAC (403 Status)
    from Role rules, API discovery (/api, /apis, /api/v1, /apis/<group>/<version>, /version).
  * Core v1 pods, configmaps, secrets, services, serviceaccounts, namespaces; apps/v1 deployments;
    rbac.authorization.k8s.io/v1 roles and rolebindings. Each supports GET (one), LIST (label and
    field selectors, limit/continue, resourceVersion and resourceVersionMatch semantics), WATCH
    (newline-delimited JSON events over a chunked response; replay from a resourceVersion;
    ERROR 410 Expired for a compacted one; BOOKMARK; timeoutSeconds), POST (201, 409
    AlreadyExists), PUT (optimistic concurrency: 409 Conflict; no-op updates keep the
    resourceVersion), PATCH (JSON merge patch; strategic merge patch treated as a merge patch),
    DELETE, and dryRun=All.
  * Failure injection: conflicts, error statuses, writes that stall until released (held, applied
    with the answer held, or lost), the whole server going down.
  * One global resourceVersion counter over every kind, as etcd has.
  * Tables (meta.k8s.io/v1 and v1beta1, `Accept: application/json;as=Table;...`) for kubectl:
    pods print NAME READY STATUS RESTARTS AGE (+ IP NODE ... with -o wide), configmaps NAME DATA
    AGE, anything else NAME CREATED AT.

Use in a test:

    certs = make_certs(tmpdir)
    api = FakeApiServer(tls=certs, tokens={"tok"})
    api.start()
    api.add_pod("nginx-v1-a", "127.0.0.1", {"name": "nginx", "version": "v1"}, ready=True, port=18081)
    ...
    api.stop()

Run by hand: `python3 tests/k8s/fake_apiserver.py --port 6443 --seed` (see --help); it prints a
kubeconfig path for kubectl and reads scripting commands from standard input
(`set_ready nginx-v1-a false`, `add_pod p 127.0.0.1 '{"name":"nginx"}' ready=true`, `help`).

Not implemented: protobuf, HTTP/2, server-side apply (application/apply-patch+yaml), JSON patch,
subresources (status, log, exec, scale, eviction), admission, graceful deletion through the API
(DELETE removes at once; use start_terminating to script it), generateName, managedFields,
ownerReferences/garbage collection, controllers (a Deployment creates no pods), OpenAPI
(/openapi/* answer 404: use kubectl --validate=false), aggregated discovery (clients fall back to
the legacy documents), watch-list (sendInitialEvents), impersonation, client certificates.
"""

import argparse
import base64
import bisect
import collections
import copy
import datetime
import http.server
import json
import os
import re
import select
import shlex
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

DEFAULT_NAMESPACE = "web"
DEFAULT_USER = "system:serviceaccount:web:canaryd"
MAX_CONFIGMAP_BYTES = 1024 * 1024          # data + binaryData, as the real validation
TOO_LARGE_RV_WAIT = 3.0                     # seconds a request for a future resourceVersion waits


# ======================================================================== resources


Resource = collections.namedtuple(
    "Resource", "group version plural singular kind namespaced short_names verbs categories")

_ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

RESOURCES = [
    Resource("", "v1", "pods", "pod", "Pod", True, ["po"], _ALL_VERBS, ["all"]),
    Resource("", "v1", "configmaps", "configmap", "ConfigMap", True, ["cm"], _ALL_VERBS, []),
    Resource("", "v1", "secrets", "secret", "Secret", True, [], _ALL_VERBS, []),
    Resource("", "v1", "services", "service", "Service", True, ["svc"],
             ["create", "delete", "get", "list", "patch", "update", "watch"], ["all"]),
    Resource("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ["sa"], _ALL_VERBS, []),
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, ["ns"],
             ["create", "delete", "get", "list", "patch", "update", "watch"], []),
    Resource("apps", "v1", "deployments", "deployment", "Deployment", True, ["deploy"], _ALL_VERBS, ["all"]),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True, [], _ALL_VERBS, []),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", True, [],
             _ALL_VERBS, []),
    Resource("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", True, ["netpol"],
             _ALL_VERBS, []),
    Resource("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", True, ["pdb"],
             _ALL_VERBS, []),
]
_BY_GV_PLURAL = {(r.group, r.version, r.plural): r for r in RESOURCES}


def _api_version(res):
    return res.version if not res.group else "%s/%s" % (res.group, res.version)


# ======================================================================== errors and Status


class ApiError(Exception):
    """An error answered as a Status object, as the real server does."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        return status_object(self.code, self.reason, self.message, self.details)


def status_object(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details is not None:
        s["details"] = details
    return s


def _not_found(res, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (_qualified(res), name),
                    {"name": name, "kind": res.plural} if not res.group else
                    {"name": name, "group": res.group, "kind": res.plural})


def _qualified(res):
    return res.plural if not res.group else "%s.%s" % (res.plural, res.group)


def _conflict(res, name):
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": the object has been modified; please apply '
                    'your changes to the latest version and try again' % (_qualified(res), name),
                    {"name": name, "kind": res.plural})


def _bad_request(message):
    return ApiError(400, "BadRequest", message)


def _expired(message):
    return ApiError(410, "Expired", message)


def _too_large_rv(rv, current):
    return ApiError(504, "Timeout", "Too large resource version: %d, current: %d" % (rv, current),
                    {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                     "retryAfterSeconds": 1},
                    headers={"Retry-After": "1"})


# ======================================================================== label and field selectors


class SelectorError(ValueError):
    pass


_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _check_label_key(key):
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        raise SelectorError("invalid label key %r: prefix part must be a DNS-1123 subdomain" % key)
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        raise SelectorError("invalid label key %r: name part must consist of alphanumeric characters, "
                            "'-', '_' or '.', and must start and end with an alphanumeric character" % key)


def _check_label_value(value):
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise SelectorError("invalid label value: %r: a valid label must be an empty string or consist of "
                            "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                            "alphanumeric character" % value)


_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|>|<|[^\s,=!()<>]+)")


def _tokens(text):
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise SelectorError("unable to parse selector %r at %d" % (text, pos))
        out.append(m.group(1))
        pos = m.end()
    return out


def parse_label_selector(text):
    """Parses a label selector in the Kubernetes syntax (labels.Parse): `k=v`, `k==v`, `k!=v`,
    `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>1`, `k<1`, comma-joined. Returns a list of
    (key, op, values) with op in exists, !, =, !=, in, notin, gt, lt. Raises SelectorError."""
    toks = _tokens(text or "")
    reqs = []
    i = 0

    def peek(k=0):
        return toks[i + k] if i + k < len(toks) else None

    while i < len(toks):
        if toks[i] == "!":
            i += 1
            key = peek()
            if key is None or key in ("=", "==", "!=", "(", ")", ",", "!", ">", "<"):
                raise SelectorError("unable to parse requirement: found %r, expected: identifier" % key)
            _check_label_key(key)
            reqs.append((key, "!", []))
            i += 1
        else:
            key = toks[i]
            if key in ("=", "==", "!=", "(", ")", ",", ">", "<"):
                raise SelectorError("unable to parse requirement: found %r, expected: identifier" % key)
            _check_label_key(key)
            i += 1
            op = peek()
            if op is None or op == ",":
                reqs.append((key, "exists", []))
            elif op in ("=", "==", "!="):
                i += 1
                val = peek()
                if val is None or val == ",":
                    val = ""
                else:
                    if val in ("=", "==", "!=", "(", ")", "!", ">", "<"):
                        raise SelectorError("unable to parse requirement: found %r, expected: identifier" % val)
                    i += 1
                _check_label_value(val)
                reqs.append((key, "!=" if op == "!=" else "=", [val]))
            elif op in (">", "<"):
                i += 1
                val = peek()
                if val is None or not re.match(r"^-?[0-9]+$", val):
                    raise SelectorError("unable to parse requirement: for 'Gt', 'Lt' operators, the value "
                                        "must be an integer")
                i += 1
                reqs.append((key, "gt" if op == ">" else "lt", [val]))
            elif op in ("in", "notin"):
                i += 1
                if peek() != "(":
                    raise SelectorError("unable to parse requirement: found %r, expected: '('" % peek())
                i += 1
                values = []
                while True:
                    t = peek()
                    if t is None:
                        raise SelectorError("unable to parse requirement: found end of string, expected: ')'")
                    if t == ")":
                        i += 1
                        break
                    if t == ",":
                        # an empty value between commas, or after '('
                        values.append("")
                        i += 1
                        if peek() == ")":
                            values.append("")
                        continue
                    if t in ("(", "=", "==", "!=", "!", ">", "<"):
                        raise SelectorError("unable to parse requirement: found %r, expected: ',', ')' or "
                                            "identifier" % t)
                    _check_label_value(t)
                    values.append(t)
                    i += 1
                    if peek() == ",":
                        i += 1
                        if peek() == ")":
                            values.append("")
                    elif peek() != ")":
                        raise SelectorError("unable to parse requirement: found %r, expected: ',' or ')'"
                                            % peek())
                values = [v for v in values if v != ""] if values == [""] else values
                if not values:
                    raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
                reqs.append((key, op, sorted(set(values))))
            else:
                raise SelectorError("unable to parse requirement: found %r, expected: in, notin, =, ==, !=, "
                                    "gt, lt" % op)
        t = peek()
        if t is None:
            break
        if t != ",":
            raise SelectorError("found %r, expected: ',' or 'end of string'" % t)
        i += 1
        if peek() is None:
            raise SelectorError("found 'end of string', expected: identifier")
    return reqs


def label_selector_matches(reqs, labels):
    labels = labels or {}
    for key, op, values in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
        if op == "=" and (not has or v != values[0]):
            return False
        if op == "!=" and has and v == values[0]:
            return False
        if op == "in" and (not has or v not in values):
            return False
        if op == "notin" and has and v in values:
            return False
        if op in ("gt", "lt"):
            if not has or not re.match(r"^-?[0-9]+$", v):
                return False
            if op == "gt" and not int(v) > int(values[0]):
                return False
            if op == "lt" and not int(v) < int(values[0]):
                return False
    return True


_FIELDS = {
    "pods": {"spec.nodeName": lambda o: o.get("spec", {}).get("nodeName", ""),
             "spec.restartPolicy": lambda o: o.get("spec", {}).get("restartPolicy", ""),
             "spec.schedulerName": lambda o: o.get("spec", {}).get("schedulerName", ""),
             "spec.serviceAccountName": lambda o: o.get("spec", {}).get("serviceAccountName", ""),
             "status.phase": lambda o: o.get("status", {}).get("phase", ""),
             "status.podIP": lambda o: o.get("status", {}).get("podIP", ""),
             "status.nominatedNodeName": lambda o: o.get("status", {}).get("nominatedNodeName", "")},
    "secrets": {"type": lambda o: o.get("type", "")},
    "namespaces": {"status.phase": lambda o: o.get("status", {}).get("phase", "")},
}


def parse_field_selector(text, plural):
    """`metadata.name=x`, `metadata.name==x`, `metadata.name!=x`, comma-joined. Returns a list of
    (field, op, value). Unsupported fields raise SelectorError ("field label not supported")."""
    reqs = []
    if not text:
        return reqs
    for part in text.split(","):
        m = re.match(r"^([^=!]+)(==|!=|=)(.*)$", part)
        if not m:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'" % (text, part))
        field, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field not in ("metadata.name", "metadata.namespace") and field not in _FIELDS.get(plural, {}):
            raise SelectorError('field label not supported: %s' % field)
        reqs.append((field, "!=" if op == "!=" else "=", value))
    return reqs


def _field_value(obj, field, plural):
    if field == "metadata.name":
        return obj["metadata"].get("name", "")
    if field == "metadata.namespace":
        return obj["metadata"].get("namespace", "")
    return _FIELDS[plural][field](obj)


def field_selector_matches(reqs, obj, plural):
    for field, op, value in reqs:
        v = _field_value(obj, field, plural)
        if (op == "=") != (v == value):
            return False
    return True


def _exact_field_name(reqs):
    names = [v for f, op, v in reqs if f == "metadata.name" and op == "="]
    return names[0] if names else None


# ======================================================================== time and printing


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _ts(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration, as kubectl's AGE column prints it."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return "%ds" % s
    minutes = s // 60
    if minutes < 10:
        r = s % 60
        return "%dm" % minutes if r == 0 else "%dm%ds" % (minutes, r)
    if minutes < 180:
        return "%dm" % minutes
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return "%dh" % hours if m == 0 else "%dh%dm" % (hours, m)
    if hours < 48:
        return "%dh" % hours
    if hours < 24 * 8:
        h = hours % 24
        return "%dd" % (hours // 24) if h == 0 else "%dd%dh" % (hours // 24, h)
    if hours < 24 * 365 * 2:
        return "%dd" % (hours // 24)
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return "%dy" % (hours // 24 // 365) if dy == 0 else "%dy%dd" % (hours // 24 // 365, dy)
    return "%dy" % (hours // 24 // 365)


def _age(obj):
    ts = obj["metadata"].get("creationTimestamp")
    if not ts:
        return "<unknown>"
    return human_duration((_now() - _parse_ts(ts)).total_seconds())


_NAME_COL = {"name": "Name", "type": "string", "format": "name", "priority": 0,
             "description": "Name must be unique within a namespace. Is required when creating resources, "
                            "although some resources may allow a client to request the generation of an "
                            "appropriate name automatically. Name is primarily intended for creation "
                            "idempotence and configuration definition. Cannot be updated. More info: "
                            "http://kubernetes.io/docs/user-guide/identifiers#names"}
_AGE_DESC = ("CreationTimestamp is a timestamp representing the server time when this object was created. "
             "It is not guaranteed to be set in happens-before order across separate operations. Clients "
             "may not set this value. It is represented in RFC3339 form and is in UTC.")


def _col(name, typ="string", priority=0, description="", fmt=""):
    return {"name": name, "type": typ, "format": fmt, "description": description, "priority": priority}


def _pod_status_reason(pod):
    """The STATUS column, after kubectl's printPod (simplified: no init containers)."""
    status = pod.get("status", {})
    reason = status.get("reason") or status.get("phase", "Unknown")
    for cs in status.get("containerStatuses", []) or []:
        state = cs.get("state", {})
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            reason = state["terminated"].get("reason") or "Error"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def table_columns(plural):
    if plural == "pods":
        return [
            dict(_NAME_COL),
            _col("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
            _col("Status", description="The aggregate status of the containers in this pod."),
            _col("Restarts", "integer", description="The number of times the containers in this pod have "
                                                    "been restarted."),
            _col("Age", description=_AGE_DESC),
            _col("IP", priority=1, description="IP address allocated to the pod. Routable at least within "
                                               "the cluster. Empty if not yet allocated."),
            _col("Node", priority=1, description="NodeName is a request to schedule this pod onto a "
                                                 "specific node."),
            _col("Nominated Node", priority=1, description="nominatedNodeName is set only when this pod "
                                                           "preempts other pods on the node."),
            _col("Readiness Gates", priority=1, description="If specified, all readiness gates will be "
                                                            "evaluated for pod readiness."),
        ]
    if plural == "configmaps":
        return [dict(_NAME_COL), _col("Data", "integer", description="Data contains the configuration data."),
                _col("Age", description=_AGE_DESC)]
    return [dict(_NAME_COL), _col("Created At", "date", description=_AGE_DESC)]


def table_cells(plural, obj):
    name = obj["metadata"]["name"]
    if plural == "pods":
        statuses = obj.get("status", {}).get("containerStatuses", []) or []
        total = len(obj.get("spec", {}).get("containers", []) or [])
        ready = sum(1 for cs in statuses if cs.get("ready"))
        restarts = sum(int(cs.get("restartCount", 0)) for cs in statuses)
        gates = obj.get("spec", {}).get("readinessGates") or []
        return [name, "%d/%d" % (ready, total), _pod_status_reason(obj), restarts, _age(obj),
                obj.get("status", {}).get("podIP") or "<none>",
                obj.get("spec", {}).get("nodeName") or "<none>",
                obj.get("status", {}).get("nominatedNodeName") or "<none>",
                "<none>" if not gates else "%d/%d" % (0, len(gates))]
    if plural == "configmaps":
        return [name, len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _age(obj)]
    return [name, obj["metadata"].get("creationTimestamp")]


# ======================================================================== certificates and kubeconfig


CertBundle = collections.namedtuple("CertBundle", "ca_cert ca_key server_cert server_key directory")


def make_certs(directory, hosts=("127.0.0.1", "localhost", "::1"), days=2):
    """Makes a CA and a server certificate signed by it for `hosts` (IP addresses and DNS names in
    subjectAltName, serverAuth) with the openssl CLI, into `directory`. Returns a CertBundle."""
    os.makedirs(directory, exist_ok=True)
    p = lambda n: os.path.join(directory, n)  # noqa: E731
    sans = []
    for h in hosts:
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in h else socket.AF_INET, h)
            sans.append("IP:" + h)
        except OSError:
            sans.append("DNS:" + h)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(args):
        r = subprocess.run(["openssl"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("openssl %s failed: %s" % (" ".join(args), r.stderr))

    run(["req", "-x509"] + ec + ["-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", str(days),
                                 "-subj", "/CN=fake-kube-apiserver-ca",
                                 "-addext", "basicConstraints=critical,CA:TRUE",
                                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    run(["req"] + ec + ["-keyout", p("server.key"), "-out", p("server.csr"), "-subj", "/CN=kube-apiserver"])
    with open(p("server.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=%s\n" % ",".join(sans))
    run(["x509", "-req", "-in", p("server.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
         "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", str(days),
         "-out", p("server.crt"), "-extfile", p("server.ext")])
    for n in ("ca.key", "server.key"):
        os.chmod(p(n), 0o600)
    return CertBundle(p("ca.crt"), p("ca.key"), p("server.crt"), p("server.key"), directory)


def write_kubeconfig(path, server, ca_file=None, token=None, token_file=None, namespace=DEFAULT_NAMESPACE,
                     insecure=False, context="fake", embed_ca=False, as_yaml=False):
    """Writes a kubeconfig whose current context points at `server` with bearer-token auth (the
    token inline, or tokenFile, which kubectl and client-go re-read). The CA as a file path
    (certificate-authority) or, with embed_ca, inline as base64 (certificate-authority-data, as
    kind and kubeadm write it). JSON (valid YAML) unless as_yaml (block-style YAML, as kubectl
    writes it)."""
    cluster = {"server": server}
    if ca_file and embed_ca:
        with open(ca_file, "rb") as f:
            cluster["certificate-authority-data"] = base64.b64encode(f.read()).decode()
    elif ca_file:
        cluster["certificate-authority"] = os.path.abspath(ca_file)
    if insecure:
        cluster["insecure-skip-tls-verify"] = True
    user = {}
    if token is not None:
        user["token"] = token
    if token_file is not None:
        user["tokenFile"] = os.path.abspath(token_file)
    cfg = {"apiVersion": "v1", "kind": "Config", "preferences": {},
           "clusters": [{"name": context, "cluster": cluster}],
           "users": [{"name": context, "user": user}],
           "contexts": [{"name": context, "context": {"cluster": context, "user": context,
                                                      "namespace": namespace}}],
           "current-context": context}
    with open(path, "w") as f:
        if as_yaml:
            f.write(_to_yaml(cfg))
        else:
            json.dump(cfg, f, indent=2)
    os.chmod(path, 0o600)
    return path


def _to_yaml(value, indent=0):
    """Block-style YAML for plain dicts, lists, strings, numbers and booleans (enough for a
    kubeconfig; strings are JSON-quoted, which YAML accepts)."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return "{}\n"
        out = ""
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out += "%s%s:\n%s" % (pad, k, _to_yaml(v, indent + 2))
            else:
                out += "%s%s: %s" % (pad, k, _to_yaml(v, 0))
        return out
    if isinstance(value, list):
        if not value:
            return "[]\n"
        out = ""
        for v in value:
            if isinstance(v, dict) and v:
                body = _to_yaml(v, indent + 2)          # its first line's indentation becomes "- "
                out += pad + "- " + body[indent + 2:]
            else:
                out += pad + "- " + _to_yaml(v, 0)
        return out
    return json.dumps(value) + "\n"


def write_service_account_dir(directory, token, ca_file, namespace=DEFAULT_NAMESPACE):
    """Lays out what a pod sees in /var/run/secrets/kubernetes.io/serviceaccount: token, ca.crt,
    namespace (for a canaryd that lets a test point its in-cluster paths elsewhere)."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "token"), "w") as f:
        f.write(token)
    with open(ca_file) as src, open(os.path.join(directory, "ca.crt"), "w") as dst:
        dst.write(src.read())
    with open(os.path.join(directory, "namespace"), "w") as f:
        f.write(namespace)
    return directory


# ======================================================================== the store


Event = collections.namedtuple("Event", "rv plural namespace name type old new")
RequestRecord = collections.namedtuple(
    "RequestRecord", "seq method path query verb plural namespace name watch user token")


class _Watcher:
    def __init__(self, plural, namespace, labels, fields, name, bookmarks, table, include, handler):
        self.plural = plural
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.name = name
        self.bookmarks = bookmarks
        self.table = table            # None, "v1" or "v1beta1"
        self.include = include
        self.handler = handler
        self.cursor = 0
        self.closed = False           # drop: close the connection abruptly
        self.end = False              # end the stream cleanly (terminating chunk)
        self.error = None             # an ERROR event to send, then end
        self.bookmark_wanted = False

    def matches(self, obj):
        if obj is None:
            return False
        md = obj["metadata"]
        if self.namespace is not None and md.get("namespace") != self.namespace:
            return False
        if self.name is not None and md.get("name") != self.name:
            return False
        return (label_selector_matches(self.labels, md.get("labels"))
                and field_selector_matches(self.fields, obj, self.plural))


def _key(res, namespace, name):
    return (res.plural, namespace if res.namespaced else "", name)


def _merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge_patch(out.get(k), v)
    return out


def _parse_bool(s):
    if s is None:
        return False
    if s in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if s in ("0", "f", "F", "false", "FALSE", "False", ""):
        return False
    raise _bad_request('strconv.ParseBool: parsing "%s": invalid syntax' % s)


def _parse_int(s, what):
    try:
        return int(s)
    except (TypeError, ValueError):
        raise _bad_request('strconv.ParseInt: parsing "%s": invalid syntax (%s)' % (s, what))


class FakeApiServer:
    """The fake API server. Thread-safe: every scripting method may be called from any thread
    while requests are served. See the module docstring."""

    def __init__(self, host="127.0.0.1", port=0, tls=None, tokens=None, bookmark_interval=60.0,
                 namespaces=(DEFAULT_NAMESPACE,), first_resource_version=1000, version_minor="20",
                 list_expired_rv_gone=False):
        """tls: a CertBundle (or (cert, key) paths) for HTTPS, None for plain HTTP.
        tokens: None (no authentication), an iterable of accepted bearer tokens (each the user
        system:serviceaccount:web:canaryd), or a dict token -> user name.
        bookmark_interval: seconds between BOOKMARK events on watches that allow them (None: only
        on demand, send_bookmarks()).
        list_expired_rv_gone: also answer 410 to a list with resourceVersion=N (NotOlderThan) when
        N is older than the compaction point. The real server serves such a list at the current
        state (any state not older than N will do) and answers 410 only for Exact lists, limited
        lists and continue tokens; this switch makes the strict behaviour testable."""
        self.host = host
        self._port = port
        self._tls = tls
        self._ssl_ctx = None
        if tls is not None:
            cert, key = (tls.server_cert, tls.server_key) if isinstance(tls, CertBundle) else tls
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(cert, key)
            ctx.set_alpn_protocols(["http/1.1"])
            self._ssl_ctx = ctx
        self.bookmark_interval = bookmark_interval
        self.version_minor = version_minor
        self.list_expired_rv_gone = list_expired_rv_gone
        self.too_large_rv_wait = TOO_LARGE_RV_WAIT
        self._cond = threading.Condition(threading.RLock())
        self._tokens = None
        self.set_tokens(tokens)
        self._rbac = None
        self._rv = first_resource_version
        self._compacted = 0
        self._objects = {}
        self._events = []
        self._event_rvs = []
        self._watchers = set()
        self._requests = []
        self._conflicts = 0
        self._pod_ips = {}
        self._injected = []
        self._stall = None          # (mode, method, plural) of writes that stall now, see stall_writes()
        self._stalled = 0           # requests held now
        self._releases = 0          # release_writes() calls so far: a held request waits for the next one
        self._conns = set()
        self._threads = set()
        self._server = None
        self._serve_thread = None
        self._reaper = None
        self._down = True
        self._stopped = False
        for ns in namespaces:
            self._create_namespace(ns)

    # ------------------------------------------------------------------ life cycle

    @property
    def port(self):
        return self._port

    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self._ssl_ctx else "http",
                               "[%s]" % self.host if ":" in self.host else self.host, self._port)

    def start(self):
        self.come_up()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def come_up(self):
        """Listens (again) on the same port and serves."""
        with self._cond:
            if not self._down:
                return
        server = _HTTPServer((self.host, self._port), _Handler, self)
        if self._reaper is None:
            self._reaper = _Reaper(self)
        with self._cond:
            self._server = server
            self._port = server.server_address[1]
            self._down = False
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                 name="fake-apiserver-accept", daemon=True)
            self._serve_thread = t
            self._cond.notify_all()
        t.start()

    def go_down(self):
        """Stops accepting (connections are refused) and closes every open connection, watches
        included, abruptly. The stored objects stay; come_up() listens again on the same port."""
        with self._cond:
            if self._down:
                return
            self._down = True
            server, t = self._server, self._serve_thread
            self._server = None
            for w in self._watchers:
                w.closed = True
            conns = list(self._conns)
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        t.join()
        for c in conns:
            _shutdown(c)

    def stop(self):
        """go_down() and wait for every connection thread to finish."""
        self.go_down()
        deadline = time.monotonic() + 10
        while True:
            with self._cond:
                threads = list(self._threads)
            if not threads:
                break
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                break
        if self._reaper is not None:
            self._reaper.stop()
            self._reaper = None
        self._stopped = True

    def is_up(self):
        with self._cond:
            return not self._down

    # ------------------------------------------------------------------ auth

    def set_tokens(self, tokens):
        """Replaces the accepted tokens (None: no authentication)."""
        with self._cond:
            if tokens is None:
                self._tokens = None
            elif isinstance(tokens, dict):
                self._tokens = dict(tokens)
            else:
                self._tokens = {t: DEFAULT_USER for t in tokens}

    def add_token(self, token, user=DEFAULT_USER):
        with self._cond:
            if self._tokens is None:
                self._tokens = {}
            self._tokens[token] = user

    def revoke_token(self, token):
        with self._cond:
            if self._tokens is not None:
                self._tokens.pop(token, None)

    def set_rbac(self, rules, namespace=DEFAULT_NAMESPACE, users=None):
        """Authorizes resource requests like RBAC with one Role bound to the authenticated users
        (all of them, or only `users`): `rules` are Role rules (dicts with apiGroups, resources,
        verbs, optional resourceNames) that apply in `namespace`; anything else is 403 Forbidden.
        Discovery and /version stay open. None switches authorization off (everything allowed)."""
        with self._cond:
            self._rbac = None if rules is None else (copy.deepcopy(list(rules)), namespace,
                                                     None if users is None else set(users))

    def _authorize(self, user, verb, res, namespace, name):
        if self._rbac is None:
            return
        rules, rns, users = self._rbac
        if (users is None or user in users) and res.namespaced and namespace == rns:
            for r in rules:
                if (("*" in r.get("apiGroups", []) or res.group in r.get("apiGroups", []))
                        and ("*" in r.get("resources", []) or res.plural in r.get("resources", []))
                        and ("*" in r.get("verbs", []) or verb in r.get("verbs", []))
                        and (not r.get("resourceNames") or (name is not None and name in r["resourceNames"]))):
                    return
        what = '%s "%s"' % (_qualified(res), name) if name else _qualified(res)
        where = ' in the namespace "%s"' % namespace if res.namespaced and namespace else " at the cluster scope"
        raise ApiError(403, "Forbidden", '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s"%s'
                       % (what, user or "system:anonymous", verb, res.plural, res.group, where),
                       {"name": name, "kind": res.plural} if name else {"kind": res.plural})

    # ------------------------------------------------------------------ failure injection

    def inject_conflicts(self, n):
        """The next n updates (PUT) answer 409 Conflict whatever resourceVersion they carry."""
        with self._cond:
            self._conflicts += n

    def inject_errors(self, n, code=500, method=None, plural=None, watch=None):
        """The next n resource requests that match (method, resource plural, watch or not; None =
        any) answer `code` with a Status (500 InternalError, 429 TooManyRequests and 503
        ServiceUnavailable carry Retry-After: 1) without doing anything."""
        reasons = {500: "InternalError", 429: "TooManyRequests", 503: "ServiceUnavailable",
                   504: "Timeout", 403: "Forbidden", 401: "Unauthorized"}
        with self._cond:
            self._injected.append([n, code, reasons.get(code, "Unknown"), method, plural, watch])

    def _take_injected(self, method, plural, watch):
        for inj in self._injected:
            n, code, reason, m, p, w = inj
            if n > 0 and (m is None or m == method) and (p is None or p == plural) and (w is None or w == watch):
                inj[0] -= 1
                headers = {"Retry-After": "1"} if code in (429, 503, 500) else {}
                return ApiError(code, reason, "injected failure (%d %s)" % (code, reason), None, headers)
        return None

    def stall_writes(self, mode="hold", method="PUT", plural="configmaps"):
        """From now on, every matching write stalls until release_writes(), as on an API server whose
        etcd is slow. mode "hold": held before anything happens, then applied and answered; "apply":
        applied at once (watches see it) and only the answer held, so a client that gave up meanwhile
        never learns that it worked; "lose": held, then the connection closes with nothing applied
        or answered. go_down() ends every held request without an answer."""
        if mode not in ("hold", "apply", "lose"):
            raise ValueError("stall mode must be hold, apply or lose, not %r" % mode)
        with self._cond:
            self._stall = (mode, method, plural)

    def release_writes(self):
        """Stops stalling writes and lets each held one go on as its mode says. Returns how many were held."""
        with self._cond:
            self._stall = None
            self._releases += 1
            self._cond.notify_all()
            return self._stalled

    def stalled(self):
        """How many requests are held by stall_writes() now."""
        with self._cond:
            return self._stalled

    def _stall_mode(self, method, plural):
        with self._cond:
            if self._stall is None:
                return None
            mode, m, p = self._stall
            return mode if (m is None or m == method) and (p is None or p == plural) else None

    def _hold(self):
        """Blocks the calling request until release_writes(); ConnectionAbortedError when the server goes
        down first."""
        with self._cond:
            self._stalled += 1
            releases = self._releases
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: self._releases != releases or self._down)
                if self._down:
                    raise ConnectionAbortedError("the fake apiserver went down")
            finally:
                self._stalled -= 1
                self._cond.notify_all()

    # ------------------------------------------------------------------ watches

    def drop_watches(self, plural=None, clean=False):
        """Closes every open watch stream (of that resource, or all): abruptly (the connection is
        cut mid-stream), or with clean=True ended with the terminating chunk as on a server-side
        timeout. Returns how many."""
        with self._cond:
            ws = [w for w in self._watchers if (plural is None or w.plural == plural) and not (w.closed or w.end)]
            for w in ws:
                if clean:
                    w.end = True
                else:
                    w.closed = True
            self._cond.notify_all()
        if not clean:
            for w in ws:
                _shutdown(w.handler.connection)
        return len(ws)

    def send_bookmarks(self, plural=None):
        """Sends a BOOKMARK now on every open watch that allowed bookmarks. Returns how many."""
        with self._cond:
            ws = [w for w in self._watchers if w.bookmarks and (plural is None or w.plural == plural)]
            for w in ws:
                w.bookmark_wanted = True
            self._cond.notify_all()
            return len(ws)

    def watchers(self, plural=None):
        """How many watch streams are open (of that resource), not counting those being closed."""
        with self._cond:
            return sum(1 for w in self._watchers
                       if (plural is None or w.plural == plural) and not (w.closed or w.end))

    def expire(self, resource_version=None, watches="drop"):
        """Compacts history: a watch (or an Exact list, a limited list, a continue token) from a
        resourceVersion older than the compaction point gets 410 Expired. Without
        resource_version, an unrelated write advances the global counter (as some other object in
        a busy cluster would) and history is compacted up to it, so every resourceVersion handed
        out so far is too old, while a fresh list works. `watches`: "drop" closes the open watch
        streams abruptly (their reconnect gets the 410), "error" sends them an ERROR 410 event
        and ends them, "keep" leaves them streaming. Returns the compaction point."""
        with self._cond:
            if resource_version is None:
                self._rv += 1
                resource_version = self._rv
            self._compacted = max(self._compacted, int(resource_version))
            point = self._compacted
            if watches == "error":
                for w in self._watchers:
                    w.error = status_object(410, "Expired", "too old resource version: %d (%d)"
                                            % (w.cursor, point))
            self._cond.notify_all()
        if watches == "drop":
            self.drop_watches()
        return point

    @property
    def resource_version(self):
        with self._cond:
            return self._rv

    @property
    def compacted_resource_version(self):
        with self._cond:
            return self._compacted

    # ------------------------------------------------------------------ requests seen

    def requests(self, **filters):
        """The requests received, oldest first (RequestRecord: seq method path query verb plural
        namespace name watch user token), optionally filtered by field values."""
        with self._cond:
            return [r for r in self._requests if all(getattr(r, k) == v for k, v in filters.items())]

    def count(self, **filters):
        """How many requests matched, e.g. count(verb="list", plural="pods"),
        count(method="PUT", path="/api/v1/namespaces/web/configmaps/canaryd-state")."""
        return len(self.requests(**filters))

    def counts(self):
        """A Counter of (method, path) -> requests."""
        with self._cond:
            return collections.Counter((r.method, r.path) for r in self._requests)

    def wait_for(self, predicate, timeout=10.0, message="condition"):
        """Waits (on the server's condition variable, woken by every request, write and watch
        change) until predicate() is true; returns its value or raises AssertionError."""
        with self._cond:
            ok = self._cond.wait_for(predicate, timeout)
        if not ok:
            raise AssertionError("fake apiserver: timed out after %.1f s waiting for %s" % (timeout, message))
        return ok

    def wait_watchers(self, n, plural=None, timeout=10.0):
        return self.wait_for(lambda: self.watchers(plural) >= n, timeout,
                             "%d open watch(es) of %s" % (n, plural or "anything"))

    # ------------------------------------------------------------------ generic store

    def _resource(self, plural):
        for r in RESOURCES:
            if r.plural == plural:
                return r
        raise KeyError(plural)

    def _commit(self, res, namespace, name, etype, new, old):
        """Records a change under the lock: bumps the global resourceVersion, stores, logs."""
        self._rv += 1
        key = _key(res, namespace, name)
        if new is not None:
            new["metadata"]["resourceVersion"] = str(self._rv)
        if etype == "DELETED":
            final = copy.deepcopy(old)
            final["metadata"]["resourceVersion"] = str(self._rv)
            self._objects.pop(key, None)
            ev = Event(self._rv, res.plural, namespace if res.namespaced else "", name, etype, old, final)
        else:
            self._objects[key] = new
            ev = Event(self._rv, res.plural, namespace if res.namespaced else "", name, etype, old,
                       copy.deepcopy(new))
        self._events.append(ev)
        self._event_rvs.append(ev.rv)
        self._cond.notify_all()
        return ev

    def _new_object(self, res, namespace, body):
        obj = copy.deepcopy(body)
        obj["kind"] = res.kind
        obj["apiVersion"] = _api_version(res)
        md = obj.setdefault("metadata", {})
        if res.namespaced:
            md["namespace"] = namespace
        else:
            md.pop("namespace", None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = _ts(_now())
        md.pop("resourceVersion", None)
        if res.plural == "namespaces":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
        return obj

    def _create_namespace(self, name):
        res = self._resource("namespaces")
        with self._cond:
            if _key(res, "", name) not in self._objects:
                obj = self._new_object(res, "", {"metadata": {"name": name,
                                                              "labels": {"kubernetes.io/metadata.name": name}}})
                self._commit(res, "", name, "ADDED", obj, None)

    def get_object(self, plural, name, namespace=DEFAULT_NAMESPACE):
        """A copy of the stored object, or None."""
        res = self._resource(plural)
        with self._cond:
            o = self._objects.get(_key(res, namespace, name))
            return copy.deepcopy(o)

    def objects(self, plural, namespace=DEFAULT_NAMESPACE):
        res = self._resource(plural)
        with self._cond:
            return [copy.deepcopy(o) for k, o in sorted(self._objects.items())
                    if k[0] == plural and (not res.namespaced or k[1] == namespace)]

    def _state_at(self, rv):
        """The objects as they were at resourceVersion rv (history is kept whole; compaction only
        moves the point before which it may not be asked for)."""
        state = {}
        for ev in self._events:
            if ev.rv > rv:
                break
            key = (ev.plural, ev.namespace, ev.name)
            if ev.type == "DELETED":
                state.pop(key, None)
            else:
                state[key] = ev.new
        return state

    # ------------------------------------------------------------------ pods

    def add_pod(self, name, ip, labels, ready=False, port=80, port_name="http", namespace=DEFAULT_NAMESPACE,
                running=None, ports=None, image="nginx:1.16.1", node="fake-node", host_ip="127.0.0.1"):
        """Adds a pod (one ADDED event). Without running/ready it is Pending (scheduled,
        ContainerCreating, no podIP); running=True gives it its podIP `ip`; ready=True implies
        running. `ports`: a list of (name, containerPort) instead of port/port_name (name may be
        None)."""
        if running is None:
            running = ready
        if ready and not running:
            raise ValueError("a pod cannot be Ready before it runs")
        if ports is None:
            ports = [(port_name, port)] if port is not None else []
        res = self._resource("pods")
        container = {"name": "nginx-containers", "image": image, "imagePullPolicy": "IfNotPresent",
                     "ports": [dict(({"name": n} if n else {}), containerPort=int(p), protocol="TCP")
                               for n, p in ports],
                     "resources": {}, "terminationMessagePath": "/dev/termination-log",
                     "terminationMessagePolicy": "File"}
        body = {"metadata": {"name": name, "labels": dict(labels or {})},
                "spec": {"containers": [container], "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                         "dnsPolicy": "ClusterFirst", "serviceAccountName": "default", "nodeName": node,
                         "schedulerName": "default-scheduler", "enableServiceLinks": True},
                "status": {}}
        with self._cond:
            if _key(res, namespace, name) in self._objects:
                raise ValueError("pod %s/%s exists" % (namespace, name))
            obj = self._new_object(res, namespace, body)
            obj["status"] = {"phase": "Pending", "hostIP": host_ip, "qosClass": "BestEffort",
                             "startTime": obj["metadata"]["creationTimestamp"]}
            self._pod_ips[(namespace, name)] = ip
            self._set_pod_state(obj, ip, running, ready)
            self._commit(res, namespace, name, "ADDED", obj, None)
            return copy.deepcopy(obj)

    @staticmethod
    def _set_pod_state(obj, ip, running, ready):
        now = _ts(_now())
        st = obj["status"]
        old = {c["type"]: c for c in st.get("conditions", [])}

        def cond(typ, value, reason=None, message=None):
            prev = old.get(typ)
            c = {"type": typ, "status": "True" if value else "False", "lastProbeTime": None,
                 "lastTransitionTime": prev["lastTransitionTime"] if prev and prev["status"] == (
                     "True" if value else "False") else now}
            if not value and reason:
                c["reason"] = reason
                c["message"] = message
            return c

        names = [c["name"] for c in obj["spec"]["containers"]]
        unready = "containers with unready status: [%s]" % " ".join(names)
        st["conditions"] = [cond("Initialized", True), cond("Ready", ready, "ContainersNotReady", unready),
                            cond("ContainersReady", ready, "ContainersNotReady", unready),
                            cond("PodScheduled", True)]
        statuses = []
        for c in obj["spec"]["containers"]:
            cs = {"name": c["name"], "image": c["image"], "imageID": "", "lastState": {}, "ready": bool(ready),
                  "restartCount": 0, "started": bool(running)}
            if running:
                prev = [s for s in st.get("containerStatuses", []) if s["name"] == c["name"]]
                started = (prev[0]["state"].get("running", {}).get("startedAt") if prev else None) or now
                cs["state"] = {"running": {"startedAt": started}}
                cs["containerID"] = "containerd://" + uuid.uuid5(uuid.NAMESPACE_OID, obj["metadata"]["uid"]).hex
            else:
                cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
            statuses.append(cs)
        st["containerStatuses"] = statuses
        if running:
            st["phase"] = "Running"
            st["podIP"] = ip
            st["podIPs"] = [{"ip": ip}]
        else:
            st["phase"] = "Pending"
            st.pop("podIP", None)
            st.pop("podIPs", None)

    def _update_pod(self, name, namespace, fn):
        res = self._resource("pods")
        with self._cond:
            cur = self._objects.get(_key(res, namespace, name))
            if cur is None:
                raise KeyError("no pod %s/%s" % (namespace, name))
            new = copy.deepcopy(cur)
            fn(new)
            self._commit(res, namespace, name, "MODIFIED", new, cur)
            return copy.deepcopy(new)

    def _pod_ip(self, obj):
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        return self._pod_ips.get(key) or obj.get("status", {}).get("podIP") or "10.244.0.%d" % (
            1 + len(self._pod_ips) % 250)

    @staticmethod
    def _pod_running(obj):
        return obj["status"].get("phase") == "Running"

    @staticmethod
    def _pod_ready(obj):
        return any(c["type"] == "Ready" and c["status"] == "True" for c in obj["status"].get("conditions", []))

    def set_running(self, name, running=True, namespace=DEFAULT_NAMESPACE):
        """Running (podIP assigned, containers started, not Ready yet) or back to Pending."""
        def fn(o):
            self._set_pod_state(o, self._pod_ip(o), running, self._pod_ready(o) and running)
        return self._update_pod(name, namespace, fn)

    def set_ready(self, name, ready=True, namespace=DEFAULT_NAMESPACE):
        """The Ready and ContainersReady conditions (and containerStatuses[].ready). A pod must be
        running to become Ready."""
        def fn(o):
            if ready and not self._pod_running(o):
                raise ValueError("pod %s is not running" % name)
            self._set_pod_state(o, self._pod_ip(o), self._pod_running(o), ready)
        return self._update_pod(name, namespace, fn)

    def start_terminating(self, name, grace_seconds=30, keep_ready=False, namespace=DEFAULT_NAMESPACE):
        """What `kubectl delete pod` does first: deletionTimestamp (now + grace) and
        deletionGracePeriodSeconds are set; Ready goes False in the same change unless
        keep_ready=True (the kubelet flips it a little later in reality: a client must exclude a
        pod on deletionTimestamp alone). delete_pod() then removes it."""
        def fn(o):
            o["metadata"]["deletionTimestamp"] = _ts(_now() + datetime.timedelta(seconds=grace_seconds))
            o["metadata"]["deletionGracePeriodSeconds"] = grace_seconds
            if not keep_ready:
                self._set_pod_state(o, self._pod_ip(o), self._pod_running(o), False)
        return self._update_pod(name, namespace, fn)

    def delete_pod(self, name, namespace=DEFAULT_NAMESPACE):
        """Removes the pod (one DELETED event carrying its last state)."""
        return self._delete("pods", name, namespace)

    def set_labels(self, name, labels, namespace=DEFAULT_NAMESPACE, plural="pods"):
        """Replaces the labels (a watch whose selector stops or starts matching sees DELETED or
        ADDED, as from the real server)."""
        res = self._resource(plural)
        with self._cond:
            cur = self._objects.get(_key(res, namespace, name))
            if cur is None:
                raise KeyError("no %s %s/%s" % (plural, namespace, name))
            new = copy.deepcopy(cur)
            new["metadata"]["labels"] = dict(labels)
            self._commit(res, namespace, name, "MODIFIED", new, cur)
            return copy.deepcopy(new)

    def _delete(self, plural, name, namespace):
        res = self._resource(plural)
        with self._cond:
            cur = self._objects.get(_key(res, namespace, name))
            if cur is None:
                raise KeyError("no %s %s/%s" % (plural, namespace, name))
            ev = self._commit(res, namespace, name, "DELETED", None, cur)
            return copy.deepcopy(ev.new)

    def pod(self, name, namespace=DEFAULT_NAMESPACE):
        return self.get_object("pods", name, namespace)

    # ------------------------------------------------------------------ configmaps

    def set_configmap(self, name, data=None, namespace=DEFAULT_NAMESPACE, labels=None, annotations=None):
        """Creates or replaces (unconditionally) a ConfigMap; data None means no data field."""
        res = self._resource("configmaps")
        with self._cond:
            cur = self._objects.get(_key(res, namespace, name))
            if cur is None:
                body = {"metadata": {"name": name}}
                if labels:
                    body["metadata"]["labels"] = dict(labels)
                if annotations:
                    body["metadata"]["annotations"] = dict(annotations)
                if data is not None:
                    body["data"] = dict(data)
                obj = self._new_object(res, namespace, body)
                self._commit(res, namespace, name, "ADDED", obj, None)
            else:
                obj = copy.deepcopy(cur)
                if data is None:
                    obj.pop("data", None)
                else:
                    obj["data"] = dict(data)
                if labels is not None:
                    obj["metadata"]["labels"] = dict(labels)
                if annotations is not None:
                    obj["metadata"]["annotations"] = dict(annotations)
                self._commit(res, namespace, name, "MODIFIED", obj, cur)
            return copy.deepcopy(obj)

    def configmap(self, name, namespace=DEFAULT_NAMESPACE):
        return self.get_object("configmaps", name, namespace)

    def delete_configmap(self, name, namespace=DEFAULT_NAMESPACE):
        return self._delete("configmaps", name, namespace)

    # ------------------------------------------------------------------ validation

    @staticmethod
    def _validate(res, obj):
        name = obj["metadata"].get("name", "")
        if res.plural == "configmaps":
            problems = []
            total = 0
            for field in ("data", "binaryData"):
                d = obj.get(field)
                if d is None:
                    continue
                if not isinstance(d, dict):
                    raise _bad_request("ConfigMap in version \"v1\" cannot be handled as a ConfigMap: "
                                       "json: cannot unmarshal into Go struct field ConfigMap.%s" % field)
                for k, v in d.items():
                    if not isinstance(v, str):
                        raise _bad_request("ConfigMap in version \"v1\" cannot be handled as a ConfigMap: "
                                           "json: cannot unmarshal %s into Go struct field ConfigMap.%s of "
                                           "type string" % (type(v).__name__, field))
                    if not re.match(r"^[-._a-zA-Z0-9]+$", k) or len(k) > 253:
                        problems.append("%s[%s]: Invalid value: %s: a valid config key must consist of "
                                        "alphanumeric characters, '-', '_' or '.'" % (field, k, json.dumps(k)))
                    total += len(k) + (len(v.encode()) if field == "data" else len(base64.b64decode(v)))
            if total > MAX_CONFIGMAP_BYTES:
                problems.append("[]: Too long: must have at most %d bytes" % MAX_CONFIGMAP_BYTES)
            if problems:
                raise ApiError(422, "Invalid", 'ConfigMap "%s" is invalid: %s' % (name, ", ".join(problems)),
                               {"name": name, "kind": "ConfigMap",
                                "causes": [{"reason": "FieldValueInvalid", "message": p} for p in problems]})
        for field in ("labels", "annotations"):
            d = obj["metadata"].get(field)
            if d is not None and (not isinstance(d, dict) or not all(isinstance(v, str) for v in d.values())):
                raise _bad_request("json: cannot unmarshal into Go struct field ObjectMeta.metadata.%s" % field)
        for k, v in (obj["metadata"].get("labels") or {}).items():
            try:
                _check_label_key(k)
                _check_label_value(v)
            except SelectorError as e:
                raise ApiError(422, "Invalid", '%s "%s" is invalid: metadata.labels: Invalid value: %s'
                               % (res.kind, name, e), {"name": name, "kind": res.kind})

    def _check_body(self, res, namespace, body, url_name=None):
        if not isinstance(body, dict):
            raise _bad_request("the body of the request was in an unknown format")
        if body.get("kind") not in (None, res.kind) or body.get("apiVersion") not in (None, _api_version(res)):
            raise _bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                               % (body.get("apiVersion"), _api_version(res))
                               if body.get("kind") in (None, res.kind) else
                               "%s in version \"%s\" cannot be handled as a %s: no kind \"%s\" is registered"
                               % (res.kind, res.version, res.kind, body.get("kind")))
        md = body.get("metadata")
        if not isinstance(md, dict):
            md = body["metadata"] = {}
        bns = md.get("namespace")
        if res.namespaced and bns and bns != namespace:
            raise _bad_request("the namespace of the provided object does not match the namespace sent on the "
                               "request")
        name = md.get("name", "")
        if url_name is not None and name != url_name:
            raise _bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                               % (name, url_name))
        if not name:
            raise ApiError(422, "Invalid", '%s "" is invalid: metadata.name: Required value: name or '
                           'generateName is required' % res.kind, {"kind": res.kind})
        if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
            raise ApiError(422, "Invalid", '%s "%s" is invalid: metadata.name: Invalid value: "%s": a '
                           'lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '
                           "'-' or '.', and must start and end with an alphanumeric character"
                           % (res.kind, name, name), {"name": name, "kind": res.kind})
        self._validate(res, body)

    # ------------------------------------------------------------------ API operations (called locked)

    def _api_get(self, res, namespace, name):
        o = self._objects.get(_key(res, namespace, name))
        if o is None:
            raise _not_found(res, name)
        return copy.deepcopy(o)

    def _api_create(self, res, namespace, body, dry_run):
        self._check_body(res, namespace, body)
        if body["metadata"].get("resourceVersion"):
            raise _bad_request("resourceVersion should not be set on objects to be created")
        name = body["metadata"]["name"]
        if res.namespaced and _key(self._resource("namespaces"), "", namespace) not in self._objects:
            raise ApiError(404, "NotFound", 'namespaces "%s" not found' % namespace,
                           {"name": namespace, "kind": "namespaces"})
        if _key(res, namespace, name) in self._objects:
            raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (_qualified(res), name),
                           {"name": name, "kind": res.plural} if not res.group else
                           {"name": name, "group": res.group, "kind": res.plural})
        obj = self._new_object(res, namespace, body)
        if dry_run:
            return obj
        self._commit(res, namespace, name, "ADDED", obj, None)
        return copy.deepcopy(obj)

    def _api_update(self, res, namespace, name, body, dry_run):
        self._check_body(res, namespace, body, url_name=name)
        cur = self._objects.get(_key(res, namespace, name))
        if cur is None:
            raise _not_found(res, name)
        rv = body["metadata"].get("resourceVersion")
        if self._conflicts > 0:
            self._conflicts -= 1
            raise _conflict(res, name)
        if rv:
            if not re.match(r"^[0-9]+$", str(rv)):
                raise _bad_request("invalid resourceVersion %r" % rv)
            if str(rv) != cur["metadata"]["resourceVersion"]:
                raise _conflict(res, name)
        new = copy.deepcopy(body)
        new["kind"] = res.kind
        new["apiVersion"] = _api_version(res)
        md = new["metadata"]
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if k in cur["metadata"]:
                md[k] = cur["metadata"][k]
            else:
                md.pop(k, None)
        if res.namespaced:
            md["namespace"] = namespace
        md["resourceVersion"] = cur["metadata"]["resourceVersion"]
        if res.plural in ("pods", "namespaces"):
            new["status"] = copy.deepcopy(cur.get("status", {}))      # status is a subresource
        if new == cur:
            return copy.deepcopy(cur)                                   # a no-op keeps the resourceVersion
        if dry_run:
            return new
        self._commit(res, namespace, name, "MODIFIED", new, cur)
        return copy.deepcopy(new)

    def _api_patch(self, res, namespace, name, patch, content_type, dry_run):
        if content_type not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/merge-patch+json, "
                           "application/strategic-merge-patch+json")
        cur = self._objects.get(_key(res, namespace, name))
        if cur is None:
            raise _not_found(res, name)
        if not isinstance(patch, dict):
            raise _bad_request("the body of the request was in an unknown format")
        merged = _merge_patch(cur, patch)
        prv = (patch.get("metadata") or {}).get("resourceVersion")
        if prv and str(prv) != cur["metadata"]["resourceVersion"]:
            raise _conflict(res, name)
        merged["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
        return self._api_update(res, namespace, name, merged, dry_run)

    def _api_delete(self, res, namespace, name, dry_run):
        cur = self._objects.get(_key(res, namespace, name))
        if cur is None:
            raise _not_found(res, name)
        if dry_run:
            return copy.deepcopy(cur)
        ev = self._commit(res, namespace, name, "DELETED", None, cur)
        return copy.deepcopy(ev.new)

    def _wait_rv(self, rv):
        """Waits (lock held, released while waiting) up to TOO_LARGE_RV_WAIT for the counter to
        reach rv, as the watch cache does; 504 'Too large resource version' if it does not."""
        if rv > self._rv:
            self._cond.wait_for(lambda: self._rv >= rv or self._down, self.too_large_rv_wait)
            if rv > self._rv:
                raise _too_large_rv(rv, self._rv)

    def _api_list(self, res, namespace, labels, fields, q):
        rv_param = q.get("resourceVersion")
        match = q.get("resourceVersionMatch")
        limit = _parse_int(q["limit"], "limit") if q.get("limit") else 0
        cont = q.get("continue")
        if match and not rv_param:
            raise _bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided")
        if match and match not in ("Exact", "NotOlderThan"):
            raise _bad_request('resourceVersionMatch: Unsupported value: "%s"' % match)
        start = None
        if cont:
            if rv_param:
                raise _bad_request("specifying resource version is not allowed when using continue")
            try:
                token = json.loads(base64.urlsafe_b64decode(cont.encode()))
                at, start = int(token["rv"]), token["start"]
            except Exception:  # noqa: BLE001
                raise _bad_request("continue key is not valid: invalid continue token")
            if at < self._compacted:
                raise _expired("The provided continue parameter is too old to display a consistent list "
                               "result. You can start a new list without the continue parameter, or use the "
                               "continue token in this response to retrieve the remainder of the results.")
            state = self._state_at(at)
        elif rv_param in (None, "", "0"):
            at, state = self._rv, self._objects
        else:
            n = _parse_int(rv_param, "resourceVersion")
            exact = match == "Exact" or (not match and limit > 0)
            self._wait_rv(n)
            if exact:
                if n < self._compacted:
                    raise _expired("The resourceVersion for the provided list is too old.")
                at, state = n, self._state_at(n)
            else:
                if self.list_expired_rv_gone and n < self._compacted:
                    raise _expired("The resourceVersion for the provided list is too old.")
                at, state = self._rv, self._objects
        items = []
        for key in sorted(state):
            plural, ns, _ = key
            if plural != res.plural or (namespace is not None and ns != namespace):
                continue
            if start is not None and [ns, key[2]] < start:
                continue
            o = state[key]
            if label_selector_matches(labels, o["metadata"].get("labels")) and field_selector_matches(
                    fields, o, res.plural):
                items.append(o)
        md = {"resourceVersion": str(at)}
        if limit and len(items) > limit:
            nxt = items[limit]["metadata"]
            md["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"rv": at, "start": [nxt.get("namespace", ""), nxt["name"]]}).encode()).decode()
            md["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        out = []
        for o in items:
            o = copy.deepcopy(o)
            o.pop("kind", None)
            o.pop("apiVersion", None)
            out.append(o)
        return {"kind": res.kind + "List", "apiVersion": _api_version(res), "metadata": md, "items": out}

    # ------------------------------------------------------------------ watch

    def _watch_start(self, w, rv_param):
        """Registers the watcher and returns its first events (lock held)."""
        first = []
        if rv_param in (None, "", "0"):
            for key in sorted(self._objects):
                o = self._objects[key]
                if key[0] == w.plural and w.matches(o):
                    first.append({"type": "ADDED", "object": copy.deepcopy(o)})
            w.cursor = self._rv
        else:
            n = _parse_int(rv_param, "resourceVersion")
            self._wait_rv(n)
            if n < self._compacted:
                first.append({"type": "ERROR", "object": status_object(
                    410, "Expired", "too old resource version: %d (%d)" % (n, self._compacted))})
                w.cursor = self._rv
                return first, True
            w.cursor = n
        self._watchers.add(w)
        self._cond.notify_all()
        return first, False

    def _watch_pending(self, w):
        """The events after w.cursor that this watcher sees (lock held); advances the cursor."""
        out = []
        i = bisect.bisect_right(self._event_rvs, w.cursor)
        for ev in self._events[i:]:
            w.cursor = ev.rv
            if ev.plural != w.plural:
                continue
            if ev.type == "ADDED":
                if w.matches(ev.new):
                    out.append({"type": "ADDED", "object": copy.deepcopy(ev.new)})
            elif ev.type == "DELETED":
                if w.matches(ev.old):
                    out.append({"type": "DELETED", "object": copy.deepcopy(ev.new)})
            else:
                was, now = w.matches(ev.old), w.matches(ev.new)
                if was and now:
                    out.append({"type": "MODIFIED", "object": copy.deepcopy(ev.new)})
                elif now:
                    out.append({"type": "ADDED", "object": copy.deepcopy(ev.new)})
                elif was:
                    out.append({"type": "DELETED", "object": copy.deepcopy(ev.new)})
        w.cursor = self._rv           # every event up to the counter has been looked at
        return out

    def _bookmark(self, w):
        res = self._resource(w.plural)
        obj = {"kind": res.kind, "apiVersion": _api_version(res),
               "metadata": {"resourceVersion": str(w.cursor), "creationTimestamp": None}}
        if w.plural == "pods":
            obj["spec"] = {"containers": None}
            obj["status"] = {}
        return {"type": "BOOKMARK", "object": obj}


# ======================================================================== a small client for tests


class KubeClient:
    """A minimal API client for tests (http.client): request() for one call, watch() for a
    stream. One connection per call."""

    def __init__(self, url, ca_file=None, token=None, timeout=10.0):
        u = urllib.parse.urlsplit(url)
        self.https = u.scheme == "https"
        self.host = u.hostname
        self.port = u.port
        self.ca_file = ca_file
        self.token = token
        self.timeout = timeout

    def _conn(self, timeout=None):
        import http.client
        if self.https:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout or self.timeout, context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)

    def _headers(self, headers, body):
        h = {"Accept": "application/json"}
        if self.token is not None:
            h["Authorization"] = "Bearer " + self.token
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return h

    def request(self, method, path, body=None, headers=None):
        """Returns (status, parsed JSON or text, headers)."""
        conn = self._conn()
        try:
            data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
            conn.request(method, path, body=data, headers=self._headers(headers, data))
            resp = conn.getresponse()
            raw = resp.read()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = raw.decode(errors="replace")
            return resp.status, payload, dict(resp.getheaders())
        finally:
            conn.close()

    def watch(self, path, timeout=10.0, headers=None):
        """Opens a watch; returns a WatchStream (status is its HTTP status)."""
        conn = self._conn(timeout)
        conn.request("GET", path, headers=self._headers(headers, None))
        return WatchStream(conn, conn.getresponse())


class WatchStream:
    """Reads newline-delimited JSON events from a watch response. next() returns the next event,
    None at a clean end of the stream; raises socket.timeout if nothing came within the
    connection's timeout, and http.client.IncompleteRead / ConnectionError when the connection
    was cut mid-stream."""

    def __init__(self, conn, resp):
        self.conn = conn
        self.resp = resp
        self.status = resp.status
        self._buf = b""
        self._ended = False
        self._chunked = (resp.getheader("Transfer-Encoding") or "").lower() == "chunked"
        if not self._chunked:                  # an error answer: keep its body as the only "event"
            self._buf = resp.read()
            self._ended = True

    def _read(self, n=None):
        try:
            return self.resp.fp.readline() if n is None else self.resp.fp.read(n)
        except TimeoutError:
            raise
        except OSError as e:                    # SSL EOF without close_notify, reset, ...
            raise ConnectionResetError("watch stream cut: %s" % e) from e

    def _chunk(self):
        line = self._read()
        if not line:
            raise ConnectionResetError("watch stream cut: no terminating chunk")
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            while self._read() not in (b"\r\n", b"\n", b""):
                pass
            return None
        data = self._read(size)
        if len(data) < size or self._read(2) != b"\r\n":
            raise ConnectionResetError("watch stream cut inside a chunk")
        return data

    def next(self):
        while b"\n" not in self._buf:
            if self._ended:
                if self._buf.strip():
                    line, self._buf = self._buf, b""
                    return json.loads(line)
                return None
            data = self._chunk()
            if data is None:
                self._ended = True
            else:
                self._buf += data
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)

    def events(self, n):
        out = []
        for _ in range(n):
            ev = self.next()
            if ev is None:
                break
            out.append(ev)
        return out

    def close(self):
        try:
            self.conn.sock and socket.socket.shutdown(self.conn.sock, socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Reaper:
    """Notices watch clients that went away (the real server sees its request context cancelled):
    one thread polls the watch connections (epoll) for readability - a watch client sends nothing,
    so data or EOF means it closed - and marks their watchers closed."""

    def __init__(self, fake):
        self.fake = fake
        self.ep = select.epoll()
        self.r, self.w = socket.socketpair()
        self.ep.register(self.r.fileno(), select.EPOLLIN)
        self.lock = threading.Lock()
        self.by_fd = {}
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="fake-apiserver-reaper", daemon=True)
        self.thread.start()

    def add(self, watcher, sock):
        with self.lock:
            fd = sock.fileno()
            if fd < 0:
                return
            self.by_fd[fd] = watcher
            watcher.fd = fd
            self.ep.register(fd, select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR)

    def remove(self, watcher):
        with self.lock:
            fd = getattr(watcher, "fd", None)
            if fd is not None and self.by_fd.get(fd) is watcher:
                del self.by_fd[fd]
                try:
                    self.ep.unregister(fd)
                except OSError:
                    pass
            watcher.fd = None

    def _run(self):
        while True:
            try:
                events = self.ep.poll()
            except InterruptedError:
                continue
            gone = []
            with self.lock:
                if self.stopping:
                    break
                for fd, _ in events:
                    if fd == self.r.fileno():
                        continue
                    w = self.by_fd.pop(fd, None)
                    if w is not None:
                        try:
                            self.ep.unregister(fd)
                        except OSError:
                            pass
                        w.fd = None
                        gone.append(w)
            if gone:
                with self.fake._cond:
                    for w in gone:
                        w.closed = True
                    self.fake._cond.notify_all()

    def stop(self):
        with self.lock:
            self.stopping = True
        self.w.send(b"x")
        self.thread.join(10)
        self.ep.close()
        self.r.close()
        self.w.close()


def _shutdown(sock):
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError, ValueError):
        pass


# ======================================================================== HTTP


class _HTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, fake):
        self.fake = fake
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        t = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                             name="fake-apiserver-conn", daemon=True)
        with self.fake._cond:
            self.fake._threads.add(t)
        t.start()

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.fake._cond:
                self.fake._threads.discard(threading.current_thread())
                self.fake._cond.notify_all()

    def finish_request(self, request, client_address):
        fake = self.fake
        conn = request
        with fake._cond:
            if fake._down:
                _shutdown(request)
                return
            fake._conns.add(request)
        try:
            if fake._ssl_ctx is not None:
                try:
                    request.settimeout(10)
                    conn = fake._ssl_ctx.wrap_socket(request, server_side=True)
                    conn.settimeout(None)
                except (OSError, ssl.SSLError):
                    return
                with fake._cond:
                    fake._conns.discard(request)
                    if fake._down:
                        _shutdown(conn)
                        conn.close()
                        return
                    fake._conns.add(conn)
            try:
                self.RequestHandlerClass(conn, client_address, self)
            except (OSError, ssl.SSLError, ValueError):
                pass
        finally:
            with fake._cond:
                fake._conns.discard(request)
                fake._conns.discard(conn)
            if conn is not request:
                try:
                    conn.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        pass


_PATH = re.compile(r"^/(?:api/(?P<cv>v1)|apis/(?P<g>[^/]+)/(?P<gv>[^/]+))(?P<rest>/.*)?$")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    sys_version = ""

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_APISERVER_LOG"):
            sys.stderr.write("fake-apiserver: %s\n" % (fmt % args))

    @property
    def fake(self):
        return self.server.fake

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_OPTIONS(self):
        self._dispatch("OPTIONS")

    # ------------------------------------------------------------------ plumbing

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code, body, content_type="application/json", headers=None):
        data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def _send_error(self, e):
        self._send(e.code, e.status(), headers=e.headers)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, method):
        fake = self.fake
        u = urllib.parse.urlsplit(self.path)
        path = u.path
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        token = None
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            token = value.strip()
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        route = self._route(method, path, q)
        with fake._cond:
            user = None
            if fake._tokens is not None:
                user = fake._tokens.get(token) if token else None
            elif token:
                user = DEFAULT_USER
            rec = RequestRecord(len(fake._requests) + 1, method, path, q, route.get("verb"),
                                route.get("plural"), route.get("namespace"), route.get("name"),
                                route.get("verb") == "watch", user, token)
            fake._requests.append(rec)
            fake._cond.notify_all()
            tokens_on = fake._tokens is not None
        if tokens_on and user is None:
            self._send_error(ApiError(401, "Unauthorized", "Unauthorized"))
            return
        try:
            if "error" in route:
                raise route["error"]
            if route["kind"] == "raw":
                code, payload, ctype = route["answer"]
                self._send(code, payload, ctype)
                return
            if route["kind"] == "discovery":
                self._send(200, route["answer"])
                return
            self._resource_request(method, route, q, body, user)
        except ApiError as e:
            self._send_error(e)
        except (OSError, ssl.SSLError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - a bug in the fake: say so loudly, answer like the real server
            import traceback
            traceback.print_exc()
            self._send_error(ApiError(500, "InternalError", "fake apiserver bug: %r" % e))

    def _route(self, method, path, q):
        """Works out what a request is: discovery, a raw path, or a resource request (verb,
        resource, namespace, name)."""
        fake = self.fake
        if path in ("/healthz", "/livez", "/readyz"):
            return {"kind": "raw", "answer": (200, b"ok", "text/plain; charset=utf-8")}
        if path == "/version":
            return {"kind": "discovery", "answer": {
                "major": "1", "minor": fake.version_minor, "gitVersion": "v1.%s.0-fake" % fake.version_minor,
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.19", "compiler": "gc",
                "platform": "linux/amd64"}}
        if path in ("/api", "/api/"):
            return {"kind": "discovery", "answer": {
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                "serverAddress": "%s:%d" % (fake.host, fake.port)}]}}
        if path in ("/apis", "/apis/"):
            groups = []
            for g in sorted({r.group for r in RESOURCES if r.group}):
                v = {"groupVersion": "%s/v1" % g, "version": "v1"}
                groups.append({"name": g, "versions": [v], "preferredVersion": v})
            return {"kind": "discovery", "answer": {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}}
        m = re.match(r"^/apis/([^/]+)/?$", path)
        if m and any(r.group == m.group(1) for r in RESOURCES):
            v = {"groupVersion": "%s/v1" % m.group(1), "version": "v1"}
            return {"kind": "discovery", "answer": {"kind": "APIGroup", "apiVersion": "v1", "name": m.group(1),
                                                    "versions": [v], "preferredVersion": v}}
        m = _PATH.match(path)
        if not m:
            return {"kind": "raw", "answer": (404, b"404 page not found\n", "text/plain; charset=utf-8")}
        group = m.group("g") or ""
        version = m.group("cv") or m.group("gv")
        rest = (m.group("rest") or "").strip("/")
        parts = rest.split("/") if rest else []
        gv = version if not group else "%s/%s" % (group, version)
        if not any(r.group == group and r.version == version for r in RESOURCES):
            return {"kind": "raw", "answer": (404, b"404 page not found\n", "text/plain; charset=utf-8")}
        if not parts:
            resources = []
            for r in RESOURCES:
                if r.group == group and r.version == version:
                    e = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                         "kind": r.kind, "verbs": r.verbs}
                    if r.short_names:
                        e["shortNames"] = r.short_names
                    if r.categories:
                        e["categories"] = r.categories
                    resources.append(e)
            return {"kind": "discovery", "answer": {"kind": "APIResourceList", "apiVersion": "v1",
                                                    "groupVersion": gv, "resources": resources}}
        watch_path = False
        if parts[0] == "watch":
            watch_path = True
            parts = parts[1:]
        namespace = None
        if len(parts) >= 3 and parts[0] == "namespaces":
            namespace = parts[1]
            parts = parts[2:]
        if not parts:
            return self._not_found_route()
        res = _BY_GV_PLURAL.get((group, version, parts[0]))
        if res is None or (namespace is not None and not res.namespaced) or len(parts) > 2:
            return self._not_found_route()
        name = urllib.parse.unquote(parts[1]) if len(parts) == 2 else None
        route = {"kind": "resource", "res": res, "plural": res.plural, "namespace": namespace, "name": name}
        try:
            fields = parse_field_selector(q.get("fieldSelector", ""), res.plural)
            labels = parse_label_selector(q.get("labelSelector", ""))
        except SelectorError as e:
            route["error"] = _bad_request(str(e))
            fields, labels = [], []
        route["labels"], route["fields"] = labels, fields
        try:
            watch = watch_path or _parse_bool(q.get("watch"))
        except ApiError as e:
            route["error"] = e
            watch = False
        if method in ("GET", "HEAD"):
            if name is not None and not watch_path:
                verb = "get"
            else:
                verb = "watch" if watch else "list"
                if name is None:
                    name = _exact_field_name(fields)      # as the real RequestInfo does, for RBAC
                    route["name_from_selector"] = name is not None
                route["path_name"] = route["name"]
        else:
            verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method)
            if (method == "POST" and name is not None) or (method in ("PUT", "PATCH") and name is None) or \
                    verb is None or watch_path:
                route["error"] = ApiError(405, "MethodNotAllowed", "the server does not allow this method on "
                                          "the requested resource")
            if method == "DELETE" and name is None:
                verb = "deletecollection"
                route["error"] = ApiError(405, "MethodNotAllowed", "the server does not allow this method on "
                                          "the requested resource")
        route["verb"] = verb
        route["name"] = name
        return route

    @staticmethod
    def _not_found_route():
        return {"kind": "resource", "error": ApiError(404, "NotFound", "the server could not find the requested "
                                                      "resource", {})}

    # ------------------------------------------------------------------ resources

    def _accept(self):
        """None for plain JSON, or the Table version asked for ("v1" / "v1beta1")."""
        accept = self.headers.get("Accept", "") or "*/*"
        json_ok = False
        for part in accept.split(","):
            fields = [f.strip() for f in part.split(";")]
            media = fields[0]
            params = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
            if media not in ("application/json", "*/*", "application/*"):
                continue
            if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and \
                    params.get("v") in ("v1", "v1beta1"):
                return params["v"]
            if "as" not in params:
                json_ok = True
                break
        if not json_ok:
            raise ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json, "
                           "application/yaml, application/vnd.kubernetes.protobuf")
        return None

    def _table(self, version, plural, objs, list_md, include):
        rows = []
        for o in objs:
            row = {"cells": table_cells(plural, o)}
            if include == "Object":
                full = copy.deepcopy(o)
                res = self.fake._resource(plural)
                full["kind"] = res.kind
                full["apiVersion"] = _api_version(res)
                row["object"] = full
            elif include != "None":
                row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/" + version,
                                 "metadata": copy.deepcopy(o["metadata"])}
            rows.append(row)
        return {"kind": "Table", "apiVersion": "meta.k8s.io/" + version, "metadata": list_md,
                "columnDefinitions": table_columns(plural), "rows": rows}

    def _resource_request(self, method, route, q, body, user):
        fake = self.fake
        res, namespace, name, verb = route["res"], route["namespace"], route["name"], route["verb"]
        dry_run = q.get("dryRun") == "All"
        if q.get("dryRun") not in (None, "", "All"):
            raise _bad_request('dryRun: Unsupported value: "%s": supported values: "All"' % q.get("dryRun"))
        with fake._cond:
            fake._authorize(user, verb, res, namespace, name)
            inj = fake._take_injected(method, res.plural, verb == "watch")
        if inj is not None:
            raise inj
        if res.namespaced and namespace is None and verb not in ("list", "watch"):
            return self._send_error(_not_found(res, name or ""))
        if verb == "watch":
            return self._watch(route, q)
        stall = fake._stall_mode(method, res.plural)
        if stall in ("hold", "lose"):
            fake._hold()
            if stall == "lose":
                self.close_connection = True
                return
        payload = None
        if method in ("POST", "PUT", "PATCH"):
            try:
                payload = json.loads(body.decode() or "null")
            except ValueError as e:
                raise _bad_request("the body of the request was in an unknown format: %s" % e)
            if self.headers.get("Content-Type", "application/json").split(";")[0].strip() not in (
                    "application/json", "application/merge-patch+json",
                    "application/strategic-merge-patch+json", ""):
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json, application/yaml")
        table = self._accept() if method in ("GET", "HEAD") else None
        include = q.get("includeObject", "Metadata")
        with fake._cond:
            if verb == "get":
                obj = fake._api_get(res, namespace, name)
                if table:
                    obj = self._table(table, res.plural, [obj], {"resourceVersion": obj["metadata"]
                                                                 ["resourceVersion"]}, include)
                code = 200
            elif verb == "list":
                if route.get("path_name"):
                    raise self._not_found_route()["error"]
                obj = fake._api_list(res, namespace, route["labels"], route["fields"], q)
                if table:
                    obj = self._table(table, res.plural, obj["items"], obj["metadata"], include)
                code = 200
            elif verb == "create":
                obj, code = fake._api_create(res, namespace, payload, dry_run), 201
            elif verb == "update":
                obj, code = fake._api_update(res, namespace, name, payload, dry_run), 200
            elif verb == "patch":
                ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
                obj, code = fake._api_patch(res, namespace, name, payload, ctype, dry_run), 200
            elif verb == "delete":
                obj, code = fake._api_delete(res, namespace, name, dry_run), 200
            else:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                               "resource")
        if stall == "apply":
            fake._hold()
        self._send(code, obj)

    def _watch(self, route, q):
        fake = self.fake
        res = route["res"]
        table = self._accept()
        timeout = _parse_int(q["timeoutSeconds"], "timeoutSeconds") if q.get("timeoutSeconds") else None
        bookmarks = _parse_bool(q.get("allowWatchBookmarks"))
        w = _Watcher(res.plural, route["namespace"], route["labels"], route["fields"],
                     route.get("path_name") if route.get("path_name") else None,
                     bookmarks, table, q.get("includeObject", "Metadata"), self)
        with fake._cond:
            if fake._down:
                self.close_connection = True
                return
            first, finished = fake._watch_start(w, q.get("resourceVersion"))
        reaper = fake._reaper
        now = time.monotonic()
        deadline = now + timeout if timeout else None
        next_bookmark = now + fake.bookmark_interval if bookmarks and fake.bookmark_interval else None
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            if not finished and reaper is not None:
                reaper.add(w, self.connection)
            self._write_events(w, first)
            if finished:
                self._chunk(b"")
                return
            while True:
                with fake._cond:
                    while True:
                        if w.closed or fake._down:
                            raise ConnectionAbortedError
                        events = fake._watch_pending(w)
                        now = time.monotonic()
                        if w.error is not None:
                            events.append({"type": "ERROR", "object": w.error})
                            w.end = True
                        if bookmarks and (w.bookmark_wanted or (next_bookmark is not None and now >= next_bookmark)):
                            w.bookmark_wanted = False
                            events.append(fake._bookmark(w))
                            if next_bookmark is not None:
                                next_bookmark = now + fake.bookmark_interval
                        if deadline is not None and now >= deadline:
                            w.end = True
                        if events or w.end:
                            break
                        waits = [t - now for t in (deadline, next_bookmark) if t is not None]
                        fake._cond.wait(min(waits) if waits else None)
                self._write_events(w, events)
                if w.end:
                    self._chunk(b"")
                    return
        except (ConnectionAbortedError, OSError, ssl.SSLError, ValueError):
            self.close_connection = True
            _shutdown(self.connection)
        finally:
            if reaper is not None:
                reaper.remove(w)
            with fake._cond:
                fake._watchers.discard(w)
                fake._cond.notify_all()

    def _write_events(self, w, events):
        for ev in events:
            if w.table and ev["type"] in ("ADDED", "MODIFIED", "DELETED"):
                t = self._table(w.table, w.plural, [ev["object"]], {"resourceVersion": ev["object"]["metadata"]
                                                                      ["resourceVersion"]}, w.include)
                ev = {"type": ev["type"], "object": t}
            self._chunk((json.dumps(ev) + "\n").encode())


# ======================================================================== standalone


SCRIPT_METHODS = ["add_pod", "set_running", "set_ready", "start_terminating", "delete_pod", "set_labels",
                  "set_configmap", "delete_configmap", "drop_watches", "send_bookmarks", "expire", "go_down",
                  "come_up", "inject_conflicts", "inject_errors", "stall_writes", "release_writes", "stalled",
                  "add_token", "revoke_token", "watchers", "counts", "resource_version"]


def _script_value(s):
    try:
        return json.loads(s)
    except ValueError:
        return s


def run_command(fake, line):
    """One scripting line: `method arg... key=value...` (values JSON when they parse as JSON)."""
    words = shlex.split(line)
    if not words:
        return None
    if words[0] == "help":
        return "commands: " + " ".join(SCRIPT_METHODS)
    if words[0] not in SCRIPT_METHODS:
        raise ValueError("unknown command %r (help lists them)" % words[0])
    args, kwargs = [], {}
    for w in words[1:]:
        k, eq, v = w.partition("=")
        if eq and re.match(r"^[a-z_]+$", k):
            kwargs[k] = _script_value(v)
        else:
            args.append(_script_value(w))
    attr = getattr(fake, words[0])
    return attr(*args, **kwargs) if callable(attr) else attr


def seed_tutorial(fake):
    """The seed's workload: three nginx v1 pods and one v2 pod in `web`, all Ready, and the empty
    canaryd-state ConfigMap the manifests ship."""
    for i, ip in enumerate(["10.10.113.185", "10.10.113.186", "10.10.169.155"]):
        fake.add_pod("nginx-v1-d5c788d6c-%s" % ["fqzpq", "hr7l6", "ps62g"][i], ip,
                     {"name": "nginx", "version": "v1"}, ready=True)
    fake.add_pod("nginx-v2-7b9f5d8c4-x2k9q", "10.10.169.156", {"name": "nginx", "version": "v2"}, ready=True,
                 image="nginx:1.18.0")
    fake.set_configmap("canaryd-state", None, labels={"app.kubernetes.io/name": "canaryd"})


def main(argv=None):
    ap = argparse.ArgumentParser(description="A fake Kubernetes API server (see the module docstring).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6443)
    ap.add_argument("--plain", action="store_true", help="plain HTTP instead of HTTPS")
    ap.add_argument("--certs", help="directory for the generated CA and server certificate (default: a new "
                                    "temporary directory)")
    ap.add_argument("--token", action="append", help="accepted bearer token (repeatable; default: one "
                                                     "random token, printed); 'none' disables authentication")
    ap.add_argument("--kubeconfig", help="where to write a kubeconfig for kubectl (default: in --certs)")
    ap.add_argument("--seed", action="store_true", help="start with the tutorial's pods and canaryd-state")
    ap.add_argument("--bookmark-interval", type=float, default=60.0)
    args = ap.parse_args(argv)
    import tempfile
    certdir = args.certs or tempfile.mkdtemp(prefix="fake-apiserver-")
    certs = None if args.plain else make_certs(certdir, hosts=(args.host, "localhost"))
    tokens = args.token or [base64.urlsafe_b64encode(os.urandom(18)).decode()]
    fake = FakeApiServer(args.host, args.port, tls=certs, tokens=None if tokens == ["none"] else tokens,
                         bookmark_interval=args.bookmark_interval)
    if args.seed:
        seed_tutorial(fake)
    fake.start()
    kubeconfig = args.kubeconfig or os.path.join(certdir, "kubeconfig")
    write_kubeconfig(kubeconfig, fake.url, ca_file=certs.ca_cert if certs else None,
                     token=None if tokens == ["none"] else tokens[0])
    print("fake apiserver on %s" % fake.url)
    if certs:
        print("CA: %s" % certs.ca_cert)
    print("token: %s" % tokens[0])
    print("kubectl --kubeconfig %s get pods" % kubeconfig)
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())

    def console():
        for line in sys.stdin:
            try:
                r = run_command(fake, line)
                if r is not None:
                    print(json.dumps(r, default=str) if not isinstance(r, str) else r)
            except Exception as e:  # noqa: BLE001 - a console reports every error and goes on
                print("error: %s" % e)
            sys.stdout.flush()

    if sys.stdin is not None:
        threading.Thread(target=console, daemon=True).start()
    while not stop.wait(3600):
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
