#!/usr/bin/env python3
"""Tests of the fake Kubernetes API server (tests/k8s/fake_apiserver.py): its own behaviour, and
that the real kubectl reads it correctly (the fake is only worth something if a real client agrees).

Run: python3 tests/k8s/test_fake_apiserver.py [--bin-dir IGNORED] [-k PATTERN]
kubectl: the binaries in $KUBECTL (paths separated by ':'), else `kubectl` on PATH. Without one the
kubectl tests are skipped, except under CI=true, where a missing kubectl is a failure.
"""

import http.client
import json
import os
import queue
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_apiserver as F  # noqa: E402

NS = "web"
PODS = "/api/v1/namespaces/web/pods"
CMS = "/api/v1/namespaces/web/configmaps"
TOKEN = "token-one"
CERTS = None          # one CA and server certificate for the whole run (setUpModule)
CERTS_DIR = None


def setUpModule():
    global CERTS, CERTS_DIR
    CERTS_DIR = tempfile.mkdtemp(prefix="fake-apiserver-test-")
    CERTS = F.make_certs(os.path.join(CERTS_DIR, "pki"))


def tearDownModule():
    shutil.rmtree(CERTS_DIR, ignore_errors=True)
    # every server was stopped: none of its threads may outlive the tests
    left = [t.name for t in threading.enumerate() if t.name.startswith("fake-apiserver")]
    if left:
        raise AssertionError("fake apiserver threads still running: %s" % left)


def q(**params):
    return "?" + urllib.parse.urlencode(params)


def names(items):
    return sorted(i["metadata"]["name"] for i in items)


def ready_condition(pod):
    return [c["status"] for c in pod["status"].get("conditions", []) if c["type"] == "Ready"]


class ApiTest(unittest.TestCase):
    """A fresh HTTPS fake with token auth for every test."""

    server_kwargs = {}

    def setUp(self):
        self.api = F.FakeApiServer(tls=CERTS, tokens={TOKEN}, **self.server_kwargs)
        self.api.start()
        self.addCleanup(self.api.stop)
        self.client = F.KubeClient(self.api.url, CERTS.ca_cert, TOKEN, timeout=5)

    def get(self, path, **kw):
        return self.client.request("GET", path, **kw)

    def watch(self, path, timeout=5.0, **kw):
        w = self.client.watch(path, timeout=timeout, **kw)
        self.addCleanup(w.close)
        return w

    def seed(self):
        a = self.api
        a.add_pod("v1-a", "10.0.0.1", {"name": "nginx", "version": "v1"}, ready=True)
        a.add_pod("v1-b", "10.0.0.2", {"name": "nginx", "version": "v1"}, ready=True, port=8080, port_name="web")
        a.add_pod("v1-pending", "10.0.0.3", {"name": "nginx", "version": "v1"})
        a.add_pod("v2-a", "10.0.0.4", {"name": "nginx", "version": "v2"}, ready=True)
        a.add_pod("plain", "10.0.0.5", {"name": "nginx"}, ready=True)
        a.add_pod("other", "10.0.0.6", {"name": "other", "version": "v1"}, ready=True)
        a.add_pod("elsewhere", "10.0.0.7", {"name": "nginx", "version": "v1"}, ready=True, namespace="default")


class TransportAndAuth(ApiTest):

    def test_discovery_documents(self):
        code, body, _ = self.get("/api")
        self.assertEqual((code, body["kind"], body["versions"]), (200, "APIVersions", ["v1"]))
        code, body, _ = self.get("/api/v1")
        self.assertEqual(body["kind"], "APIResourceList")
        res = {r["name"]: r for r in body["resources"]}
        self.assertEqual(res["pods"]["kind"], "Pod")
        self.assertTrue(res["pods"]["namespaced"])
        self.assertIn("watch", res["configmaps"]["verbs"])
        self.assertIn("cm", res["configmaps"]["shortNames"])
        code, body, _ = self.get("/apis")
        self.assertIn("apps", [g["name"] for g in body["groups"]])
        code, body, _ = self.get("/version")
        self.assertEqual((code, body["major"]), (200, "1"))
        code, body, _ = self.get("/openapi/v2")
        self.assertEqual(code, 404)
        code, body, _ = self.get("/api/v1/namespaces/web/frobs")
        self.assertEqual((code, body["kind"], body["reason"]), (404, "Status", "NotFound"))

    def test_bearer_token_required(self):
        for token in (None, "wrong"):
            c = F.KubeClient(self.api.url, CERTS.ca_cert, token)
            code, body, headers = c.request("GET", PODS)
            self.assertEqual(code, 401)
            self.assertEqual(body, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                    "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
            self.assertTrue(headers["Content-Type"].startswith("application/json"))
        code, body, _ = self.get(PODS)
        self.assertEqual((code, body["kind"]), (200, "PodList"))
        self.assertEqual(self.api.count(path=PODS, token="wrong"), 1)
        self.assertEqual(self.api.count(path=PODS, user=F.DEFAULT_USER), 1)

    def test_token_rotation(self):
        w = self.watch(PODS + q(watch=1, resourceVersion=self.api.resource_version))
        self.api.add_token("token-two")
        self.api.revoke_token(TOKEN)
        self.assertEqual(self.get(PODS)[0], 401)
        self.assertEqual(F.KubeClient(self.api.url, CERTS.ca_cert, "token-two").request("GET", PODS)[0], 200)
        # an open watch was authenticated when it started and goes on, as on the real server
        self.api.add_pod("late", "10.0.0.9", {"name": "nginx"})
        self.assertEqual(w.next()["object"]["metadata"]["name"], "late")
        self.api.set_tokens(None)
        self.assertEqual(F.KubeClient(self.api.url, CERTS.ca_cert, None).request("GET", PODS)[0], 200)

    def test_tls_verifies_against_the_generated_ca(self):
        for host in ("127.0.0.1", "localhost"):
            ctx = ssl.create_default_context(cafile=CERTS.ca_cert)
            with socket.create_connection(("127.0.0.1", self.api.port), timeout=5) as s:
                with ctx.wrap_socket(s, server_hostname=host) as t:
                    self.assertEqual(t.selected_alpn_protocol(), None)
                    self.assertIn(t.version(), ("TLSv1.2", "TLSv1.3"))
        other = F.make_certs(os.path.join(CERTS_DIR, "other-%d" % self.api.port))
        with self.assertRaises(ssl.SSLCertVerificationError):
            F.KubeClient(self.api.url, other.ca_cert, TOKEN).request("GET", PODS)
        with self.assertRaises(ssl.SSLCertVerificationError):
            ctx = ssl.create_default_context(cafile=CERTS.ca_cert)
            with socket.create_connection(("127.0.0.1", self.api.port), timeout=5) as s:
                ctx.wrap_socket(s, server_hostname="kubernetes.example")

    def test_plain_http_without_auth(self):
        api = F.FakeApiServer(tls=None, tokens=None).start()
        self.addCleanup(api.stop)
        self.assertTrue(api.url.startswith("http://"))
        code, body, _ = F.KubeClient(api.url).request("GET", PODS)
        self.assertEqual((code, body["items"]), (200, []))

    def test_keep_alive_connection_serves_many_requests(self):
        conn = http.client.HTTPSConnection("127.0.0.1", self.api.port, timeout=5,
                                           context=ssl.create_default_context(cafile=CERTS.ca_cert))
        self.addCleanup(conn.close)
        for _ in range(3):
            conn.request("GET", PODS, headers={"Authorization": "Bearer " + TOKEN})
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        self.assertEqual(self.api.count(path=PODS), 3)

    def test_not_acceptable_and_table(self):
        self.seed()
        code, body, _ = self.get(PODS, headers={"Accept": "application/vnd.kubernetes.protobuf"})
        self.assertEqual((code, body["reason"]), (406, "NotAcceptable"))
        code, body, _ = self.get(PODS + q(labelSelector="version=v2"), headers={
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
        self.assertEqual((code, body["kind"], body["apiVersion"]), (200, "Table", "meta.k8s.io/v1"))
        self.assertEqual([c["name"] for c in body["columnDefinitions"]][:5],
                         ["Name", "Ready", "Status", "Restarts", "Age"])
        self.assertEqual(body["rows"][0]["cells"][:3], ["v2-a", "1/1", "Running"])
        self.assertEqual(body["rows"][0]["object"]["kind"], "PartialObjectMetadata")
        code, body, _ = self.get(CMS, headers={"Accept": "application/json;as=Table;v=v1beta1;g=meta.k8s.io"})
        self.assertEqual((body["apiVersion"], [c["name"] for c in body["columnDefinitions"]]),
                         ("meta.k8s.io/v1beta1", ["Name", "Data", "Age"]))


class PodsListAndSelectors(ApiTest):

    def test_pod_list_shape(self):
        self.seed()
        code, body, _ = self.get(PODS)
        self.assertEqual((code, body["kind"], body["apiVersion"]), (200, "PodList", "v1"))
        self.assertEqual(body["metadata"]["resourceVersion"], str(self.api.resource_version))
        by = {p["metadata"]["name"]: p for p in body["items"]}
        self.assertEqual(sorted(by), ["other", "plain", "v1-a", "v1-b", "v1-pending", "v2-a"])
        self.assertNotIn("kind", by["v1-a"])            # list items carry no kind, as from the real server
        a = by["v1-a"]
        self.assertEqual(a["metadata"]["namespace"], NS)
        self.assertEqual(a["metadata"]["labels"], {"name": "nginx", "version": "v1"})
        self.assertEqual((a["status"]["phase"], a["status"]["podIP"]), ("Running", "10.0.0.1"))
        self.assertEqual(ready_condition(a), ["True"])
        self.assertEqual(a["spec"]["containers"][0]["ports"],
                         [{"name": "http", "containerPort": 80, "protocol": "TCP"}])
        self.assertEqual(by["v1-b"]["spec"]["containers"][0]["ports"][0]["containerPort"], 8080)
        pend = by["v1-pending"]
        self.assertEqual(pend["status"]["phase"], "Pending")
        self.assertNotIn("podIP", pend["status"])
        self.assertEqual(ready_condition(pend), ["False"])
        self.assertNotIn("deletionTimestamp", pend["metadata"])
        code, one, _ = self.get(PODS + "/v1-a")
        self.assertEqual((code, one["kind"], one["metadata"]["resourceVersion"]),
                         (200, "Pod", a["metadata"]["resourceVersion"]))
        code, allns, _ = self.get("/api/v1/pods")
        self.assertEqual(len(allns["items"]), 7)

    def test_label_selectors(self):
        self.seed()
        cases = {
            "name=nginx": ["plain", "v1-a", "v1-b", "v1-pending", "v2-a"],
            "name==nginx,version=v1": ["v1-a", "v1-b", "v1-pending"],
            "name=nginx,version!=v1": ["plain", "v2-a"],
            "version in (v1, v2),name=nginx": ["v1-a", "v1-b", "v1-pending", "v2-a"],
            "version notin (v1)": ["plain", "v2-a"],
            "name=nginx,version": ["v1-a", "v1-b", "v1-pending", "v2-a"],
            "name=nginx,!version": ["plain"],
            "name in (other)": ["other"],
            "": ["other", "plain", "v1-a", "v1-b", "v1-pending", "v2-a"],
        }
        for sel, want in cases.items():
            with self.subTest(sel=sel):
                code, body, _ = self.get(PODS + q(labelSelector=sel))
                self.assertEqual((code, names(body["items"])), (200, want))
        for bad in ("name=", "=nginx", "version in ()", "version in (v1", "name=a=b", "na me=x",
                    "version notin v1", "-bad=x", "x,", "x>y"):
            with self.subTest(bad=bad):
                code, body, _ = self.get(PODS + q(labelSelector=bad))
                if bad == "name=":       # `name=` means the empty value: valid, matches nothing here
                    self.assertEqual((code, body["items"]), (200, []))
                    continue
                self.assertEqual((code, body["kind"], body["reason"]), (400, "Status", "BadRequest"), body)

    def test_selector_parser(self):
        self.assertEqual(F.parse_label_selector("a=b,c!=d, e in (x,y),f notin(z),g,!h,i>3"),
                         [("a", "=", ["b"]), ("c", "!=", ["d"]), ("e", "in", ["x", "y"]),
                          ("f", "notin", ["z"]), ("g", "exists", []), ("h", "!", []), ("i", "gt", ["3"])])
        m = F.label_selector_matches
        self.assertTrue(m(F.parse_label_selector("a!=b"), {}))
        self.assertFalse(m(F.parse_label_selector("a in (b)"), {}))
        self.assertTrue(m(F.parse_label_selector("a notin (b)"), {}))
        self.assertTrue(m(F.parse_label_selector("example.com/tier=web"), {"example.com/tier": "web"}))
        self.assertFalse(m(F.parse_label_selector("i<3"), {"i": "3"}))

    def test_field_selectors(self):
        self.seed()
        code, body, _ = self.get(PODS + q(fieldSelector="status.phase=Pending"))
        self.assertEqual(names(body["items"]), ["v1-pending"])
        code, body, _ = self.get(PODS + q(fieldSelector="metadata.name!=other,status.phase==Running",
                                          labelSelector="version=v1"))
        self.assertEqual(names(body["items"]), ["v1-a", "v1-b"])
        code, body, _ = self.get(PODS + q(fieldSelector="spec.color=blue"))
        self.assertEqual((code, body["message"]), (400, "field label not supported: spec.color"))

    def test_limit_and_continue(self):
        self.seed()
        code, p1, _ = self.get(PODS + q(limit=4))
        self.assertEqual(len(p1["items"]), 4)
        self.assertEqual(p1["metadata"]["remainingItemCount"], 2)
        token = p1["metadata"]["continue"]
        self.api.add_pod("aaa-new", "10.0.0.8", {"name": "nginx"})      # not in the consistent snapshot
        code, p2, _ = self.get(PODS + q(limit=4, **{"continue": token}))
        self.assertEqual(names(p1["items"] + p2["items"]),
                         ["other", "plain", "v1-a", "v1-b", "v1-pending", "v2-a"])
        self.assertNotIn("continue", p2["metadata"])
        self.assertEqual(p2["metadata"]["resourceVersion"], p1["metadata"]["resourceVersion"])
        self.api.expire()
        code, body, _ = self.get(PODS + q(limit=4, **{"continue": token}))
        self.assertEqual((code, body["reason"], body["code"]), (410, "Expired", 410))

    def test_list_resource_version_semantics(self):
        self.seed()
        old = self.api.resource_version
        self.api.add_pod("later", "10.0.0.8", {"name": "nginx"})
        # Exact: the state at that resourceVersion
        code, body, _ = self.get(PODS + q(resourceVersion=old, resourceVersionMatch="Exact"))
        self.assertEqual((code, body["metadata"]["resourceVersion"]), (200, str(old)))
        self.assertNotIn("later", names(body["items"]))
        # NotOlderThan (the default for a non-zero resourceVersion): the current state
        code, body, _ = self.get(PODS + q(resourceVersion=old))
        self.assertIn("later", names(body["items"]))
        self.api.expire()
        code, body, _ = self.get(PODS + q(resourceVersion=old, resourceVersionMatch="Exact"))
        self.assertEqual((code, body["reason"]), (410, "Expired"))
        code, body, _ = self.get(PODS + q(resourceVersion=old, limit=100))      # legacy: limit means Exact
        self.assertEqual(code, 410)
        code, body, _ = self.get(PODS + q(resourceVersion=old))               # served at the current state
        self.assertEqual(code, 200)
        self.api.list_expired_rv_gone = True
        code, body, _ = self.get(PODS + q(resourceVersion=old))
        self.assertEqual((code, body["reason"]), (410, "Expired"))
        code, body, _ = self.get(PODS)
        self.assertEqual(code, 200)
        self.api.too_large_rv_wait = 0.2
        code, body, headers = self.get(PODS + q(resourceVersion=self.api.resource_version + 100))
        self.assertEqual((code, body["reason"], headers.get("Retry-After")), (504, "Timeout", "1"))
        code, body, _ = self.get(PODS + q(resourceVersionMatch="Exact"))
        self.assertEqual(code, 400)


class Watches(ApiTest):

    def test_watch_replays_changes_after_the_resource_version_then_goes_live(self):
        self.seed()
        code, lst, _ = self.get(PODS + q(labelSelector="name=nginx"))
        rv = lst["metadata"]["resourceVersion"]
        a = self.api
        a.add_pod("v1-c", "10.0.0.10", {"name": "nginx", "version": "v1"})
        a.add_pod("noise", "10.0.0.11", {"name": "other"})
        a.set_running("v1-c")
        a.set_ready("v1-c", True)
        a.start_terminating("v1-a")
        a.delete_pod("v1-a")
        w = self.watch(PODS + q(labelSelector="name=nginx", watch=1, resourceVersion=rv, allowWatchBookmarks="true"))
        self.assertEqual(w.status, 200)
        self.assertEqual(w.resp.getheader("Transfer-Encoding"), "chunked")
        evs = w.events(5)
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in evs],
                         [("ADDED", "v1-c"), ("MODIFIED", "v1-c"), ("MODIFIED", "v1-c"), ("MODIFIED", "v1-a"),
                          ("DELETED", "v1-a")])
        for e in evs:
            self.assertEqual((e["object"]["kind"], e["object"]["apiVersion"]), ("Pod", "v1"))
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
        self.assertEqual(rvs, sorted(rvs))
        self.assertGreater(rvs[0], int(rv))
        added, running, ready, term, deleted = [e["object"] for e in evs]
        self.assertNotIn("podIP", added["status"])
        self.assertEqual((running["status"]["podIP"], ready_condition(running)), ("10.0.0.10", ["False"]))
        self.assertEqual(ready_condition(ready), ["True"])
        self.assertIn("deletionTimestamp", term["metadata"])
        self.assertEqual(ready_condition(term), ["False"])
        self.assertEqual(deleted["metadata"]["resourceVersion"], str(rvs[-1]))
        # live
        a.set_ready("v1-c", False)
        e = w.next()
        self.assertEqual((e["type"], ready_condition(e["object"])), ("MODIFIED", ["False"]))
        self.assertEqual(self.api.watchers("pods"), 1)
        self.assertEqual(self.api.count(verb="watch", plural="pods"), 1)

    def test_watch_without_resource_version_starts_with_the_current_objects(self):
        self.seed()
        for rv in (None, "0"):
            with self.subTest(rv=rv):
                params = {"labelSelector": "version=v2", "watch": "true"}
                if rv is not None:
                    params["resourceVersion"] = rv
                w = self.watch(PODS + q(**params))
                e = w.next()
                self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("ADDED", "v2-a"))
                self.api.set_ready("v2-a", False)
                self.assertEqual(w.next()["type"], "MODIFIED")
                self.api.set_ready("v2-a", True)
                w.next()
                w.close()

    def test_label_changes_look_like_added_and_deleted_to_a_selector(self):
        self.seed()
        w = self.watch(PODS + q(labelSelector="name=nginx,version=v1", watch=1,
                                resourceVersion=self.api.resource_version))
        self.api.set_labels("v2-a", {"name": "nginx", "version": "v1"})
        self.api.set_labels("v1-a", {"name": "nginx", "version": "v3"})
        self.api.set_labels("other", {"name": "other", "version": "v9"})        # never matched: nothing
        self.api.set_labels("v1-b", {"name": "nginx", "version": "v1", "extra": "x"})
        evs = w.events(3)
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in evs],
                         [("ADDED", "v2-a"), ("DELETED", "v1-a"), ("MODIFIED", "v1-b")])
        self.assertEqual(evs[1]["object"]["metadata"]["labels"]["version"], "v3")

    def test_expired_resource_version_gets_an_error_event(self):
        self.seed()
        old = self.api.resource_version
        point = self.api.expire()
        self.assertEqual(point, old + 1)
        w = self.watch(PODS + q(watch=1, resourceVersion=old, allowWatchBookmarks=1))
        self.assertEqual(w.status, 200)
        e = w.next()
        self.assertEqual(e, {"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "too old resource version: %d (%d)" % (old, point), "reason": "Expired", "code": 410}})
        self.assertIsNone(w.next())                     # and the stream ends
        # a fresh list works and its resourceVersion can be watched from
        code, body, _ = self.get(PODS)
        w2 = self.watch(PODS + q(watch=1, resourceVersion=body["metadata"]["resourceVersion"]))
        self.api.set_ready("v1-a", False)
        self.assertEqual(w2.next()["type"], "MODIFIED")

    def test_expire_drops_open_watches_or_sends_them_410(self):
        self.seed()
        rv = self.api.resource_version
        w = self.watch(PODS + q(watch=1, resourceVersion=rv))
        self.api.wait_watchers(1, "pods")
        self.api.expire(watches="error")
        e = w.next()
        self.assertEqual((e["type"], e["object"]["code"], e["object"]["reason"]), ("ERROR", 410, "Expired"))
        self.assertIsNone(w.next())
        w2 = self.watch(PODS + q(watch=1, resourceVersion=self.api.resource_version))
        self.api.wait_watchers(1, "pods")
        self.api.expire()                              # default: drop them
        with self.assertRaises(ConnectionError):
            w2.next()
        self.api.wait_for(lambda: self.api.watchers() == 0)

    def test_bookmarks(self):
        self.seed()
        rv = self.api.resource_version
        w = self.watch(PODS + q(labelSelector="version=v2", watch=1, resourceVersion=rv, allowWatchBookmarks="true"))
        plain = self.watch(PODS + q(labelSelector="version=v2", watch=1, resourceVersion=rv))
        self.api.wait_watchers(2, "pods")
        self.api.set_configmap("unrelated", {"k": "v"})      # the counter is global across kinds
        self.assertEqual(self.api.send_bookmarks(), 1)
        e = w.next()
        self.assertEqual(e["type"], "BOOKMARK")
        self.assertEqual(e["object"]["metadata"]["resourceVersion"], str(self.api.resource_version))
        self.assertEqual(e["object"]["kind"], "Pod")
        self.assertEqual(set(e["object"]["metadata"]), {"resourceVersion", "creationTimestamp"})
        self.assertNotIn("name", e["object"]["metadata"])
        # the watch without allowWatchBookmarks got nothing: its next event is the next change
        self.api.set_ready("v2-a", False)
        self.assertEqual(plain.next()["type"], "MODIFIED")
        self.assertEqual(w.next()["type"], "MODIFIED")

    def test_periodic_bookmarks(self):
        api = F.FakeApiServer(tls=None, tokens=None, bookmark_interval=0.2).start()
        self.addCleanup(api.stop)
        c = F.KubeClient(api.url)
        w = c.watch(PODS + q(watch=1, resourceVersion=api.resource_version, allowWatchBookmarks=1), timeout=5)
        self.addCleanup(w.close)
        started = time.monotonic()
        kinds = [w.next()["type"], w.next()["type"]]
        self.assertEqual(kinds, ["BOOKMARK", "BOOKMARK"])
        self.assertGreaterEqual(time.monotonic() - started, 0.35)

    def test_timeout_seconds_ends_the_stream_cleanly(self):
        started = time.monotonic()
        w = self.watch(PODS + q(watch=1, timeoutSeconds=1, resourceVersion=self.api.resource_version))
        self.assertIsNone(w.next())                     # a clean end, not a cut connection
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        self.api.wait_for(lambda: self.api.watchers() == 0)

    def test_drop_watches(self):
        w = self.watch(PODS + q(watch=1, resourceVersion=self.api.resource_version))
        w2 = self.watch(CMS + q(watch=1, resourceVersion=self.api.resource_version))
        self.api.wait_watchers(2)
        self.assertEqual(self.api.drop_watches(clean=True, plural="configmaps"), 1)
        self.assertIsNone(w2.next())
        self.assertEqual(self.api.drop_watches(), 1)
        with self.assertRaises(ConnectionError):
            w.next()
        self.api.wait_for(lambda: self.api.watchers() == 0)

    def test_watch_of_one_configmap_by_field_selector(self):
        self.api.set_configmap("canaryd-state", {"state.json": "{}"})
        self.api.set_configmap("canaryd-config", {"canaryd.yaml": "x: 1"})
        code, cm, _ = self.get(CMS + "/canaryd-state")
        rv = cm["metadata"]["resourceVersion"]
        code, lst, _ = self.get(CMS + q(fieldSelector="metadata.name=canaryd-state"))
        self.assertEqual(names(lst["items"]), ["canaryd-state"])
        w = self.watch(CMS + "?fieldSelector=metadata.name%3Dcanaryd-state&watch=1&resourceVersion=" + rv +
                       "&allowWatchBookmarks=true")
        legacy = self.watch("/api/v1/watch/namespaces/web/configmaps/canaryd-state" + q(resourceVersion=rv))
        self.api.set_configmap("canaryd-config", {"canaryd.yaml": "x: 2"})
        self.api.set_configmap("canaryd-state", {"state.json": '{"revision": 2}'})
        for stream in (w, legacy):
            e = stream.next()
            self.assertEqual((e["type"], e["object"]["metadata"]["name"], e["object"]["data"]),
                             ("MODIFIED", "canaryd-state", {"state.json": '{"revision": 2}'}))
        self.api.delete_configmap("canaryd-state")
        self.assertEqual(w.next()["type"], "DELETED")


    def test_an_unchanged_objects_resource_version_expires(self):
        """Why a client must not watch one object from the resourceVersion its GET returned: an
        object unchanged for a while carries an old one, which compaction makes 410 again and
        again. Watching without resourceVersion (the current object as ADDED, then changes) and
        resuming from the last event's or BOOKMARK's resourceVersion works."""
        self.api.set_configmap("canaryd-state", {"s": "1"})
        self.api.add_pod("busy", "10.0.0.1", {"name": "nginx"})       # the cluster goes on writing
        self.api.expire()
        code, cm, _ = self.get(CMS + "/canaryd-state")
        sel = "metadata.name=canaryd-state"
        for _ in range(2):
            w = self.watch(CMS + q(fieldSelector=sel, watch=1, resourceVersion=cm["metadata"]["resourceVersion"]))
            e = w.next()
            self.assertEqual((e["type"], e["object"]["code"]), ("ERROR", 410))
        w = self.watch(CMS + q(fieldSelector=sel, watch=1, allowWatchBookmarks="true"))
        e = w.next()
        self.assertEqual((e["type"], e["object"]["data"]), ("ADDED", {"s": "1"}))
        self.api.wait_watchers(1, "configmaps")
        self.api.add_pod("busy-2", "10.0.0.2", {"name": "nginx"})
        self.api.send_bookmarks()
        b = w.next()
        self.assertEqual((b["type"], b["object"]["metadata"]["resourceVersion"]),
                         ("BOOKMARK", str(self.api.resource_version)))
        self.api.drop_watches()
        self.api.expire(self.api.resource_version)      # compacted up to the bookmark: still fine
        w2 = self.watch(CMS + q(fieldSelector=sel, watch=1, resourceVersion=b["object"]["metadata"]["resourceVersion"]))
        self.api.set_configmap("canaryd-state", {"s": "2"})
        e = w2.next()
        self.assertEqual((e["type"], e["object"]["data"]), ("MODIFIED", {"s": "2"}))


class ConfigMaps(ApiTest):

    def test_get_create_update_conflict(self):
        path = CMS + "/canaryd-state"
        code, body, _ = self.get(path)
        self.assertEqual(body, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": 'configmaps "canaryd-state" not found', "reason": "NotFound",
                                "details": {"name": "canaryd-state", "kind": "configmaps"}, "code": 404})
        code, created, _ = self.client.request("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap",
                                                             "metadata": {"name": "canaryd-state"},
                                                             "data": {"state.json": "{}"}})
        self.assertEqual(code, 201)
        rv1 = created["metadata"]["resourceVersion"]
        self.assertEqual((created["metadata"]["namespace"], created["data"]), (NS, {"state.json": "{}"}))
        self.assertTrue(created["metadata"]["uid"])
        code, body, _ = self.client.request("POST", CMS, {"metadata": {"name": "canaryd-state"}})
        self.assertEqual((code, body["reason"], body["message"]),
                         (409, "AlreadyExists", 'configmaps "canaryd-state" already exists'))
        # update with the current resourceVersion
        created["data"] = {"state.json": '{"revision": 2}'}
        code, upd, _ = self.client.request("PUT", path, created)
        self.assertEqual(code, 200)
        rv2 = upd["metadata"]["resourceVersion"]
        self.assertGreater(int(rv2), int(rv1))
        self.assertEqual(upd["metadata"]["uid"], created["metadata"]["uid"])
        # a stale one
        created["data"] = {"state.json": '{"revision": 3}'}
        code, body, _ = self.client.request("PUT", path, created)
        self.assertEqual((code, body["reason"], body["code"]), (409, "Conflict", 409))
        self.assertEqual(body["message"], 'Operation cannot be fulfilled on configmaps "canaryd-state": the object '
                                          'has been modified; please apply your changes to the latest version and '
                                          'try again')
        self.assertEqual(self.api.configmap("canaryd-state")["data"], {"state.json": '{"revision": 2}'})
        # no resourceVersion: unconditional
        del created["metadata"]["resourceVersion"]
        code, upd3, _ = self.client.request("PUT", path, created)
        self.assertEqual((code, upd3["data"]), (200, {"state.json": '{"revision": 3}'}))
        # a no-op update keeps the resourceVersion (and makes no watch event)
        code, same, _ = self.client.request("PUT", path, upd3)
        self.assertEqual((code, same["metadata"]["resourceVersion"]), (200, upd3["metadata"]["resourceVersion"]))

    def test_injected_conflicts_and_errors(self):
        cm = self.api.set_configmap("canaryd-state", {"a": "1"})
        path = CMS + "/canaryd-state"
        self.api.inject_conflicts(2)
        for _ in range(2):
            self.assertEqual(self.client.request("PUT", path, cm)[0], 409)
        cm["data"] = {"a": "2"}
        self.assertEqual(self.client.request("PUT", path, cm)[0], 200)
        self.api.inject_errors(1, 500, method="PUT")
        code, body, headers = self.client.request("PUT", path, self.api.configmap("canaryd-state"))
        self.assertEqual((code, body["reason"]), (500, "InternalError"))
        self.assertEqual(self.client.request("GET", path)[0], 200)
        self.api.inject_errors(1, 503, plural="pods", watch=True)
        self.assertEqual(self.get(PODS + q(watch=1))[0], 503)

    def test_stalled_writes(self):
        self.api.set_configmap("canaryd-state", {"a": "1"})
        path = CMS + "/canaryd-state"
        results = queue.Queue()

        def put(value):
            body = dict(self.api.configmap("canaryd-state"), data={"a": value})
            try:
                results.put(self.client.request("PUT", path, body)[:2])
            except (OSError, http.client.HTTPException) as e:
                results.put(("no answer", type(e).__name__))

        def held_put(mode, value):
            self.api.stall_writes(mode)
            threading.Thread(target=put, args=(value,), daemon=True).start()
            self.api.wait_for(lambda: self.api.stalled() == 1, message="the PUT held")

        # hold: nothing happens until the release, then the write is applied and answered.
        held_put("hold", "2")
        self.assertEqual(self.get(path)[1]["data"], {"a": "1"}, "reads are not held")
        self.assertEqual(self.api.release_writes(), 1)
        code, body = results.get(timeout=5)
        self.assertEqual((code, body["data"]), (200, {"a": "2"}))
        # apply: applied (and seen by a watch) at once; only the answer waits.
        w = self.watch(CMS + q(watch=1, resourceVersion=self.api.configmap("canaryd-state")["metadata"]
                                ["resourceVersion"]))
        self.api.stall_writes("apply")
        threading.Thread(target=put, args=("3",), daemon=True).start()
        ev = w.next()
        self.assertEqual((ev["type"], ev["object"]["data"]), ("MODIFIED", {"a": "3"}))
        self.assertTrue(results.empty())
        self.api.release_writes()
        self.assertEqual(results.get(timeout=5)[0], 200)
        # lose: held, then the connection closes; nothing applied.
        held_put("lose", "4")
        self.api.release_writes()
        self.assertEqual(results.get(timeout=5)[0], "no answer")
        self.assertEqual(self.api.configmap("canaryd-state")["data"], {"a": "3"})
        # Other writes are not held, and the stall ends with the release.
        self.assertEqual(self.client.request("PUT", path, dict(self.api.configmap("canaryd-state"),
                                                                  data={"a": "5"}))[0], 200)
        # A held request ends without an answer when the server goes down.
        held_put("hold", "6")
        self.api.go_down()
        self.assertEqual(results.get(timeout=5)[0], "no answer")
        self.assertEqual(self.api.configmap("canaryd-state")["data"], {"a": "5"})

    def test_update_validation(self):
        cm = self.api.set_configmap("canaryd-state", {"a": "1"})
        path = CMS + "/canaryd-state"
        other = dict(cm, metadata=dict(cm["metadata"], name="x"))
        self.assertEqual(self.client.request("PUT", path, other)[0], 400)
        bad = dict(cm, data={"a b": "1"})
        self.assertEqual(self.client.request("PUT", path, bad)[0], 422)
        big = dict(cm, data={"a": "x" * (F.MAX_CONFIGMAP_BYTES + 1)})
        code, body, _ = self.client.request("PUT", path, big)
        self.assertEqual((code, body["reason"]), (422, "Invalid"))
        self.assertEqual(self.client.request("PUT", path, dict(cm, data={"a": 1}))[0], 400)
        self.assertEqual(self.client.request("PUT", CMS + "/missing",
                                             {"metadata": {"name": "missing"}, "data": {}})[0], 404)
        self.assertEqual(self.client.request("POST", CMS, {"metadata": {"name": "n", "resourceVersion": "5"}})[0], 400)
        self.assertEqual(self.client.request("POST", CMS, {"kind": "Pod", "metadata": {"name": "n"}})[0], 400)
        self.assertEqual(self.client.request("PUT", CMS, cm)[0], 405)

    def test_patch_delete_and_dry_run(self):
        self.api.set_configmap("c", {"a": "1", "b": "2"})
        code, body, _ = self.client.request("PATCH", CMS + "/c", {"data": {"b": None, "c": "3"}},
                                            headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual((code, body["data"]), (200, {"a": "1", "c": "3"}))
        rv = self.api.resource_version
        code, body, _ = self.client.request("POST", CMS + "?dryRun=All", {"metadata": {"name": "d"}})
        self.assertEqual((code, self.api.resource_version, self.api.configmap("d")), (201, rv, None))
        code, body, _ = self.client.request("DELETE", CMS + "/c")
        self.assertEqual((code, body["metadata"]["name"], self.api.configmap("c")), (200, "c", None))


class Operations(ApiTest):

    def test_go_down_and_come_up(self):
        self.seed()
        port = self.api.port
        w = self.watch(PODS + q(watch=1, resourceVersion=self.api.resource_version))
        self.api.wait_watchers(1)
        self.api.go_down()
        self.assertFalse(self.api.is_up())
        with self.assertRaises(ConnectionError):
            w.next()
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        self.api.set_ready("v1-a", False)               # scripting goes on while it is down
        self.api.come_up()
        self.assertEqual(self.api.port, port)
        code, body, _ = self.get(PODS + "/v1-a")
        self.assertEqual((code, ready_condition(body)), (200, ["False"]))

    def test_request_counters_and_wait_for(self):
        self.get(PODS + q(labelSelector="name=nginx"))
        self.get(PODS + q(labelSelector="name=nginx"))
        self.get(CMS + "/x")
        self.assertEqual(self.api.count(verb="list", plural="pods"), 2)
        self.assertEqual(self.api.count(verb="get", plural="configmaps", name="x"), 1)
        self.assertEqual(self.api.counts()[("GET", PODS)], 2)
        self.assertEqual(self.api.requests(plural="pods")[0].query, {"labelSelector": "name=nginx"})
        t = threading.Thread(target=self.get, args=(CMS,))
        t.start()
        self.addCleanup(t.join)
        self.api.wait_for(lambda: self.api.count(verb="list", plural="configmaps") == 1, timeout=5)
        with self.assertRaises(AssertionError):
            self.api.wait_for(lambda: False, timeout=0.05)

    def test_rbac_like_the_shipped_role(self):
        self.seed()
        self.api.set_configmap("canaryd-state", None)
        self.api.set_configmap("other", {"a": "1"})
        self.api.set_rbac([
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["canaryd-state"],
             "verbs": ["get", "update", "watch"]},
        ])
        self.assertEqual(self.get(PODS + q(labelSelector="name=nginx"))[0], 200)
        self.assertEqual(self.get("/api/v1")[0], 200)
        code, cm, _ = self.get(CMS + "/canaryd-state")
        self.assertEqual(code, 200)
        cm["data"] = {"state.json": "{}"}
        self.assertEqual(self.client.request("PUT", CMS + "/canaryd-state", cm)[0], 200)
        w = self.watch(CMS + q(fieldSelector="metadata.name=canaryd-state", watch=1,
                               resourceVersion=self.api.resource_version))
        self.assertEqual(w.status, 200)
        forbidden = [
            ("GET", CMS + "/other"), ("GET", CMS), ("GET", CMS + q(fieldSelector="metadata.name=canaryd-state")),
            ("GET", CMS + q(watch=1)), ("POST", CMS), ("DELETE", CMS + "/canaryd-state"),
            ("GET", "/api/v1/namespaces/web/secrets"), ("GET", "/api/v1/namespaces/default/pods"),
            ("PUT", PODS + "/v1-a"),
        ]
        for method, path in forbidden:
            with self.subTest(method=method, path=path):
                body = {"metadata": {"name": "canaryd-state"}} if method in ("POST", "PUT") else None
                code, st, _ = self.client.request(method, path, body)
                self.assertEqual((code, st["reason"]), (403, "Forbidden"))
        code, st, _ = self.client.request("PUT", CMS + "/other", {"metadata": {"name": "other"}})
        self.assertEqual(st["message"], 'configmaps "other" is forbidden: User "system:serviceaccount:web:canaryd" '
                                        'cannot update resource "configmaps" in API group "" in the namespace "web"')

    def test_standalone_process(self):
        port = _free_port()
        d = tempfile.mkdtemp(prefix="fake-apiserver-standalone-")
        self.addCleanup(shutil.rmtree, d, True)
        p = subprocess.Popen([sys.executable, F.__file__, "--port", str(port), "--seed", "--certs", d,
                              "--token", "t0k"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def stop():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            p.stdout.close()
            p.stdin.close()
        self.addCleanup(stop)
        first = p.stdout.readline()
        self.assertEqual(first.strip(), "fake apiserver on https://127.0.0.1:%d" % port)
        c = F.KubeClient("https://127.0.0.1:%d" % port, os.path.join(d, "ca.crt"), "t0k")
        code, body, _ = c.request("GET", PODS + q(labelSelector="name=nginx"))
        self.assertEqual(len(body["items"]), 4)
        while "kubectl" not in p.stdout.readline():
            pass
        p.stdin.write("set_ready nginx-v2-7b9f5d8c4-x2k9q false\n")
        p.stdin.flush()
        p.stdout.readline()                             # the command's answer
        code, body, _ = c.request("GET", PODS + "/nginx-v2-7b9f5d8c4-x2k9q")
        self.assertEqual(ready_condition(body), ["False"])
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), 0)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ======================================================================== the real kubectl


def _kubectls():
    env = os.environ.get("KUBECTL")
    paths = [p for p in env.split(os.pathsep) if p] if env else [shutil.which("kubectl")]
    return [p for p in paths if p and os.access(p, os.X_OK)]


def _kubectl_version(path):
    r = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=60)
    try:
        return json.loads(r.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        return r.stdout.strip() or r.stderr.strip()


class Kubectl(unittest.TestCase):
    """The real kubectl against the fake: kubeconfig with the generated CA and a bearer token."""

    @classmethod
    def setUpClass(cls):
        cls.kubectls = _kubectls()
        if not cls.kubectls:
            if os.environ.get("CI"):
                raise AssertionError("no kubectl (set KUBECTL or install Debian's kubernetes-client)")
            raise unittest.SkipTest("no kubectl on PATH (install Debian's kubernetes-client, or set KUBECTL)")
        cls.versions = {k: _kubectl_version(k) for k in cls.kubectls}

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fake-apiserver-kubectl-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.api = F.FakeApiServer(tls=CERTS, tokens={TOKEN}).start()
        self.addCleanup(self.api.stop)
        a = self.api
        a.add_pod("nginx-v1-d5c788d6c-fqzpq", "10.10.113.185", {"name": "nginx", "version": "v1"}, ready=True)
        a.add_pod("nginx-v1-d5c788d6c-hr7l6", "10.10.113.186", {"name": "nginx", "version": "v1"}, ready=True)
        a.add_pod("nginx-v1-d5c788d6c-ps62g", "10.10.169.155", {"name": "nginx", "version": "v1"}, running=True)
        a.add_pod("nginx-v2-7b9f5d8c4-x2k9q", "10.10.169.156", {"name": "nginx", "version": "v2"}, ready=True)
        a.add_pod("nginx-v2-7b9f5d8c4-pend1", "10.10.169.157", {"name": "nginx", "version": "v2"})
        a.add_pod("busybox", "10.10.169.200", {"app": "busybox"}, ready=True)
        a.start_terminating("nginx-v1-d5c788d6c-hr7l6")
        a.set_configmap("canaryd-state", {"state.json": json.dumps({"revision": 3, "canary_weight": 25.0})},
                        labels={"app.kubernetes.io/name": "canaryd"})
        self.kubeconfig = F.write_kubeconfig(os.path.join(self.dir, "kubeconfig"), a.url, ca_file=CERTS.ca_cert,
                                             token=TOKEN, namespace="default")

    def kubectl(self, kubectl, *args, kubeconfig=None, check=True):
        env = dict(os.environ, HOME=self.dir, KUBECONFIG=kubeconfig or self.kubeconfig)
        cmd = [kubectl, "--cache-dir", os.path.join(self.dir, "cache"), "--request-timeout", "20s"] + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=90)
        if check:
            self.assertEqual(r.returncode, 0, "%s: %s\n%s" % (" ".join(cmd), r.stdout, r.stderr))
        return r

    def sub(self, k):
        return self.subTest(kubectl=k, version=self.versions[k])

    def test_get_pods_by_label(self):
        want = [
            ["nginx-v1-d5c788d6c-fqzpq", "1/1", "Running"],
            ["nginx-v1-d5c788d6c-hr7l6", "0/1", "Terminating"],
            ["nginx-v1-d5c788d6c-ps62g", "0/1", "Running"],
            ["nginx-v2-7b9f5d8c4-pend1", "0/1", "ContainerCreating"],
            ["nginx-v2-7b9f5d8c4-x2k9q", "1/1", "Running"],
        ]
        for k in self.kubectls:
            with self.sub(k):
                r = self.kubectl(k, "get", "pods", "-n", "web", "-l", "name=nginx")
                lines = r.stdout.splitlines()
                self.assertEqual(lines[0].split(), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"])
                rows = [line.split() for line in lines[1:]]
                self.assertEqual([row[:3] for row in rows], want)
                self.assertTrue(all(row[3] == "0" and row[4].endswith("s") for row in rows), rows)
                # the request kubectl made: a list with the label selector, asking for a Table
                rec = [x for x in self.api.requests(verb="list", plural="pods")][-1]
                self.assertEqual((rec.namespace, rec.query.get("labelSelector")), ("web", "name=nginx"))
                r = self.kubectl(k, "get", "pods", "-n", "web", "-l", "name=nginx,version in (v2)", "-o", "wide")
                lines = r.stdout.splitlines()
                self.assertEqual(lines[0].split()[:7], ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"])
                self.assertEqual([(l.split()[0], l.split()[5]) for l in lines[1:]],
                                 [("nginx-v2-7b9f5d8c4-pend1", "<none>"), ("nginx-v2-7b9f5d8c4-x2k9q", "10.10.169.156")])
                r = self.kubectl(k, "get", "pods", "-n", "web", "-l", "name=nginx,version=v2", "-o", "json")
                lst = json.loads(r.stdout)
                self.assertEqual(names(lst["items"]), ["nginx-v2-7b9f5d8c4-pend1", "nginx-v2-7b9f5d8c4-x2k9q"])
                r = self.kubectl(k, "get", "pods", "-n", "web", "-l", "name=nobody")
                self.assertEqual(r.stdout, "")
                self.assertIn("No resources found", r.stderr)

    def test_get_configmap_json(self):
        want = self.api.configmap("canaryd-state")
        for k in self.kubectls:
            with self.sub(k):
                r = self.kubectl(k, "get", "configmap", "canaryd-state", "-n", "web", "-o", "json")
                self.assertEqual(json.loads(r.stdout), want)
                r = self.kubectl(k, "get", "cm", "-n", "web")
                self.assertEqual([l.split()[:2] for l in r.stdout.splitlines()], [["NAME", "DATA"], ["canaryd-state", "1"]])
                r = self.kubectl(k, "get", "configmap", "absent", "-n", "web", check=False)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn('configmaps "absent" not found', r.stderr)

    def test_wrong_token_and_token_file_rotation(self):
        token_file = os.path.join(self.dir, "token")
        with open(token_file, "w") as f:
            f.write("rotated-1")
        kc = F.write_kubeconfig(os.path.join(self.dir, "kc-file"), self.api.url, ca_file=CERTS.ca_cert,
                                token_file=token_file)
        for k in self.kubectls:
            with self.sub(k):
                r = self.kubectl(k, "get", "pods", "-n", "web", kubeconfig=kc, check=False)
                self.assertNotEqual(r.returncode, 0)
                self.assertRegex(r.stderr, "Unauthorized|must be logged in")
                self.api.add_token("rotated-1")
                r = self.kubectl(k, "get", "pods", "-n", "web", kubeconfig=kc)
                with open(token_file, "w") as f:
                    f.write("rotated-2")
                self.api.add_token("rotated-2")
                self.api.revoke_token("rotated-1")
                self.kubectl(k, "get", "pods", "-n", "web", kubeconfig=kc)
                self.assertEqual(self.api.requests(plural="pods")[-1].token, "rotated-2")
                self.api.revoke_token("rotated-2")
                with open(token_file, "w") as f:
                    f.write("rotated-1")

    def test_kubeconfig_forms(self):
        for embed in (False, True):
            kc = F.write_kubeconfig(os.path.join(self.dir, "kc-%s.yaml" % embed), self.api.url, ca_file=CERTS.ca_cert,
                                    token=TOKEN, embed_ca=embed, as_yaml=True, namespace="web")
            for k in self.kubectls:
                with self.sub(k):
                    r = self.kubectl(k, "get", "configmaps", "-o", "name", kubeconfig=kc)
                    self.assertEqual(r.stdout.split(), ["configmap/canaryd-state"])

    def test_watch(self):
        for k in self.kubectls:
            with self.sub(k):
                env = dict(os.environ, HOME=self.dir, KUBECONFIG=self.kubeconfig)
                p = subprocess.Popen([k, "--cache-dir", os.path.join(self.dir, "cache"), "get", "pods", "-n", "web",
                                      "-l", "name=nginx,version=v2", "-w"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                lines = queue.Queue()

                def reader():
                    for line in p.stdout:
                        lines.put(line)
                    lines.put(None)
                t = threading.Thread(target=reader, daemon=True)
                t.start()
                try:
                    got = [lines.get(timeout=30).split() for _ in range(3)]
                    self.assertEqual([g[:3] for g in got], [["NAME", "READY", "STATUS"],
                                                            ["nginx-v2-7b9f5d8c4-pend1", "0/1", "ContainerCreating"],
                                                            ["nginx-v2-7b9f5d8c4-x2k9q", "1/1", "Running"]])
                    self.api.wait_watchers(1, "pods", timeout=30)
                    self.api.set_running("nginx-v2-7b9f5d8c4-pend1")
                    self.api.set_ready("nginx-v2-7b9f5d8c4-pend1", True)
                    seen = []
                    while ["nginx-v2-7b9f5d8c4-pend1", "1/1", "Running"] not in seen:
                        line = lines.get(timeout=30)
                        if line is None:
                            self.fail("kubectl -w ended: %s" % p.stderr.read())
                        seen.append(line.split()[:3])
                    self.assertIn(["nginx-v2-7b9f5d8c4-pend1", "0/1", "Running"], seen)
                finally:
                    p.terminate()
                    p.wait(10)
                    t.join(10)
                    p.stdout.close()
                    p.stderr.close()
                    self.api.wait_for(lambda: self.api.watchers() == 0, timeout=10)
                    self.api.set_running("nginx-v2-7b9f5d8c4-pend1", False)


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--bin-dir" in args:                 # accepted for ctest's uniform command line; not needed here
        i = args.index("--bin-dir")
        del args[i:i + 2]
    unittest.main(argv=[sys.argv[0]] + args, verbosity=2)
