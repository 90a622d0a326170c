#!/usr/bin/env python3
"""Kubernetes discovery and shared state against the fake API server (tests/k8s/fake_apiserver.py),
with real nginx processes standing in for pods (each on its own loopback IP, 127.0.0.x, on one
port, as pods share a container port): pods become endpoints only while Ready, a rolling update
under load fails no request, the seed's canary at 25 %, promote, a watch drop and a 410 relist, the
API server down for 10 s, two replicas sharing the routing state in a ConfigMap."""

import json
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "k8s"))
import support  # noqa: E402
from support import IntegrationTest, free_port, wait_until  # noqa: E402
import fake_apiserver  # noqa: E402

POD_PORT = free_port()  # the container port every pod listens on (on its own IP)
NS = "web"
V1 = {"name": "nginx", "version": "v1"}
V2 = {"name": "nginx", "version": "v2"}


class PodServer:
    """One nginx standing in for one pod: it listens on the pod's IP and answers with its name."""

    def __init__(self, workdir, name, ip):
        self.name, self.ip = name, ip
        self.dir = os.path.join(workdir, "pod-" + name)
        server = f"""
    server {{
        listen {ip}:{POD_PORT};
        location / {{ add_header X-Pod {name} always; return 200 "{name}\\n"; }}
    }}"""
        self.proc = support.start_nginx(self.dir, [server], [(ip, POD_PORT)], worker_connections=1024)

    def stop(self):
        """A graceful stop (SIGQUIT), as a pod's nginx gets at the end of its grace period."""
        support.stop_nginx(self.proc, signal.SIGQUIT)


class Load:
    """Keep-alive GETs from a thread until stopped; records (status, pod) of each."""

    def __init__(self, port, headers=None):
        self.port, self.headers = port, headers or {}
        self.results = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        conn = None
        while not self.done.is_set():
            try:
                import http.client
                if conn is None:
                    conn = http.client.HTTPConnection(support.LOOPBACK, self.port, timeout=10)
                conn.request("GET", "/", headers=self.headers)
                r = conn.getresponse()
                r.read()
                self.results.append((r.status, r.getheader("X-Pod")))
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except OSError as e:  # a failed request is a result too
                self.results.append(("error %s" % e, None))
                if conn is not None:
                    conn.close()
                conn = None

    def wait_more(self, n, message="requests"):
        mark = len(self.results)
        wait_until(lambda: len(self.results) >= mark + n, timeout=30, message="%d more %s" % (n, message))
        return mark

    def stop(self):
        self.done.set()
        self.thread.join(15)
        return self.results


class KubernetesTest(IntegrationTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certs = fake_apiserver.make_certs(os.path.join(cls.work.path, "certs"))
        cls.next_ip = 10

    def setUp(self):
        super().setUp()
        self.api = fake_apiserver.FakeApiServer(tls=self.certs, tokens={"token-1"}, bookmark_interval=1.0)
        self.api.start()
        self.addCleanup(self.api.stop)
        self.token_file = self.work.file("%s.token" % self.id().rsplit(".", 1)[-1], "token-1\n", mode=0o600)
        self.kubeconfig = fake_apiserver.write_kubeconfig(
            os.path.join(self.work.path, "%s.kubeconfig" % self.id().rsplit(".", 1)[-1]), self.api.url,
            ca_file=self.certs.ca_cert, token_file=self.token_file)
        self.pods = {}

    # ---------------------------------------------------------------- helpers

    def pod(self, name, labels, ready=True):
        """A pod with its nginx: added to the API (Pending unless ready), its server started."""
        KubernetesTest.next_ip += 1
        ip = "127.0.0.%d" % KubernetesTest.next_ip
        server = PodServer(self.work.path, name, ip)
        self.addCleanup(server.stop)
        self.pods[name] = server
        self.api.add_pod(name, ip, dict(labels), ready=ready, port=POD_PORT)
        return server

    def make_ready(self, name):
        self.api.set_running(name)
        self.api.set_ready(name, True)

    def discovery(self, port=POD_PORT):
        return ("discovery:\n  kubernetes: {namespace: %s, port: %s, kubeconfig: %s}\n"
                % (NS, port, self.kubeconfig))

    def start_canaryd(self, name=None, configmap=None, **kw):
        return self.canaryd(name=name, endpoints=[], extra=self.discovery(), state_configmap=configmap, **kw)

    def served_by(self, d, n, headers=None):
        pods = []
        for _ in range(n):
            r = d.get("/", headers=headers)
            self.assertEqual(r.status, 200, r.body)
            pods.append(r.header("X-Pod"))
        return pods

    def status_pods(self, d):
        st = d.status()
        out = {}
        for s in ("stable", "canary"):
            for e in (st[s] or {}).get("endpoints", []):
                out[e.get("pod")] = s
        return out

    # ---------------------------------------------------------------- tests

    def test_only_ready_pods_get_traffic_and_status_names_them(self):
        self.pod("nginx-v1-a", V1)
        self.pod("nginx-v1-b", V1, ready=False)  # Pending: ContainerCreating, no podIP yet
        d = self.start_canaryd()
        wait_until(lambda: self.status_pods(d) == {"nginx-v1-a": "stable"}, message="one ready pod")
        self.assertEqual(set(self.served_by(d, 6)), {"nginx-v1-a"})
        self.api.set_running("nginx-v1-b")  # running, not Ready yet
        self.api.wait_for(lambda: True)
        self.assertEqual(set(self.served_by(d, 6)), {"nginx-v1-a"})
        # Ready: from the event to its first request.
        started = time.monotonic()
        self.api.set_ready("nginx-v1-b", True)
        wait_until(lambda: d.get("/").header("X-Pod") == "nginx-v1-b", interval=0.001,
                   message="the first request on the new pod")
        elapsed_ms = (time.monotonic() - started) * 1000
        print("pod Ready -> first request: %.1f ms" % elapsed_ms, file=sys.stderr)
        self.assertLess(elapsed_ms, 1000)
        out = d.ctl("status").stdout
        self.assertIn("nginx-v1-a", out)
        self.assertIn("nginx-v1-b", out)
        # Terminating: no new requests, even before the pod is deleted.
        self.api.start_terminating("nginx-v1-a")
        wait_until(lambda: "nginx-v1-a" not in self.status_pods(d), message="the terminating pod out")
        self.assertEqual(set(self.served_by(d, 6)), {"nginx-v1-b"})
        m = d.metrics()
        self.assertEqual(m.value("canaryd_kubernetes_api_reachable"), 1)

    def test_rolling_update_of_three_pods_under_load_fails_no_request(self):
        for i in range(3):
            self.pod("nginx-v1-old-%d" % i, V1)
        d = self.start_canaryd()
        wait_until(lambda: len(self.status_pods(d)) == 3, message="three pods")
        load = Load(d.listen)
        try:
            load.wait_more(50)
            for i in range(3):
                new, old = "nginx-v1-new-%d" % i, "nginx-v1-old-%d" % i
                self.pod(new, V1, ready=False)  # Pending
                load.wait_more(20)
                self.make_ready(new)
                wait_until(lambda: new in self.status_pods(d), message="%s in the service" % new)
                self.api.start_terminating(old)  # Terminating: out of the endpoints at once
                wait_until(lambda: old not in self.status_pods(d), message="%s out of the service" % old)
                load.wait_more(20)
                self.pods[old].stop()  # the grace period ends
                self.api.delete_pod(old)
                load.wait_more(20)
            mark = load.wait_more(100)
        finally:
            results = load.stop()
        failed = [r for r in results if r[0] != 200]
        self.assertEqual(failed, [], "%d of %d requests failed" % (len(failed), len(results)))
        self.assertTrue({p for _, p in results[mark:]} <= {"nginx-v1-new-%d" % i for i in range(3)})
        print("rolling update: %d requests, 0 failed" % len(results), file=sys.stderr)

    def test_seed_canary_at_25_percent_then_promote(self):
        for i in range(3):
            self.pod("nginx-v1-%d" % i, V1)
        self.pod("nginx-v2-0", V2)
        d = self.start_canaryd()
        wait_until(lambda: len(self.status_pods(d)) == 4, message="four pods")
        self.assertEqual(d.ctl("weight", "25").returncode, 0)
        n = 400
        pods = self.served_by(d, n)
        canary = sum(1 for p in pods if p == "nginx-v2-0")
        self.assertLessEqual(abs(canary - n * 25 // 100), support.THREADS + 1, "canary served %d of %d" % (canary, n))
        self.assertEqual(d.ctl("promote").returncode, 0)
        self.assertEqual(set(self.served_by(d, 20)), {"nginx-v2-0"})
        # The v1 pods go away, as after the seed's switch of the selector; v2 keeps serving.
        for i in range(3):
            self.api.delete_pod("nginx-v1-%d" % i)
        wait_until(lambda: self.status_pods(d) == {"nginx-v2-0": "stable"}, message="only v2 left")

    def test_watch_drop_resumes_and_410_relists(self):
        self.pod("nginx-v1-a", V1)
        d = self.start_canaryd()
        wait_until(lambda: len(self.status_pods(d)) == 1, message="one pod")
        self.api.wait_watchers(1, "pods")
        lists = self.api.count(verb="list", plural="pods")
        # A dropped watch resumes from the last resourceVersion: no relist, and nothing missed.
        self.api.drop_watches()
        self.pod("nginx-v1-b", V1)
        wait_until(lambda: "nginx-v1-b" in self.status_pods(d), message="the pod added while the watch was down")
        self.assertEqual(self.api.count(verb="list", plural="pods"), lists)
        # History compacted while disconnected: the watch gets 410 Gone and canaryd lists again.
        self.api.wait_watchers(1, "pods")
        self.api.expire(watches="drop")
        self.api.delete_pod("nginx-v1-a")
        wait_until(lambda: set(self.status_pods(d)) == {"nginx-v1-b"}, message="the deletion seen after the relist")
        self.assertGreater(self.api.count(verb="list", plural="pods"), lists)
        self.assertGreaterEqual(d.metrics().value("canaryd_kubernetes_pod_lists_total"), 2)
        self.assertIn("expired (410 Gone); relisting", d.log())
        self.assertEqual(set(self.served_by(d, 4)), {"nginx-v1-b"})

    def test_api_server_down_for_10_s_does_not_disturb_traffic(self):
        self.pod("nginx-v1-a", V1)
        self.pod("nginx-v1-b", V1)
        d = self.start_canaryd()
        wait_until(lambda: len(self.status_pods(d)) == 2, message="two pods")
        load = Load(d.listen)
        try:
            load.wait_more(20)
            self.api.go_down()
            wait_until(lambda: d.metrics().value("canaryd_kubernetes_api_reachable") == 0,
                       message="canaryd noticing the API server is gone")
            r = support.http_request(d.control, "GET", "/readyz")
            self.assertEqual(r.status, 200, "the last known pods still serve")
            self.assertIn(b"unreachable", r.body)
            # The outage itself lasts 10 s: that duration is what is being tested, not a wait for an event.
            time.sleep(10)
            load.wait_more(20)
            self.api.come_up()
            wait_until(lambda: d.metrics().value("canaryd_kubernetes_api_reachable") == 1, timeout=20,
                       message="canaryd back in touch")
            self.pod("nginx-v1-c", V1)
            wait_until(lambda: "nginx-v1-c" in self.status_pods(d), message="changes seen again")
            load.wait_more(20)
        finally:
            results = load.stop()
        failed = [r for r in results if r[0] != 200]
        self.assertEqual(failed, [], "%d of %d requests failed" % (len(failed), len(results)))
        self.assertIn("unreachable", d.log())

    def test_rotated_token_is_read_again(self):
        self.pod("nginx-v1-a", V1)
        d = self.start_canaryd()
        wait_until(lambda: len(self.status_pods(d)) == 1, message="one pod")
        # The kubelet replaces the projected token; the old one stops working.
        self.api.add_token("token-2")
        tmp = self.token_file + ".new"
        with open(tmp, "w") as f:
            f.write("token-2\n")
        os.replace(tmp, self.token_file)
        os.utime(self.token_file, (time.time() + 5, time.time() + 5))  # a new mtime even within one tick
        self.api.revoke_token("token-1")
        self.api.drop_watches()
        self.pod("nginx-v1-b", V1)
        wait_until(lambda: "nginx-v1-b" in self.status_pods(d), message="the pod seen with the new token")
        self.assertGreater(len(self.api.requests(token="token-2")), 0)

    def test_in_cluster_service_account(self):
        sa = fake_apiserver.write_service_account_dir(os.path.join(self.work.path, "sa"), "token-1",
                                                      self.certs.ca_cert)
        self.pod("nginx-v1-a", V1)
        env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.api.port),
               "CANARYD_SERVICEACCOUNT_DIR": sa}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            d = self.canaryd(endpoints=[], extra="discovery: {kubernetes: {namespace: web, port: %d}}\n" % POD_PORT)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        wait_until(lambda: len(self.status_pods(d)) == 1, message="the pod found in-cluster")

    # ---------------------------------------------------------------- shared state

    def test_two_replicas_converge_within_one_second(self):
        self.pod("nginx-v1-a", V1)
        self.pod("nginx-v2-a", V2)
        a = self.start_canaryd(name="replica-a", configmap="canaryd-state")
        b = self.start_canaryd(name="replica-b", configmap="canaryd-state")
        self.api.wait_watchers(2, "configmaps")
        self.assertEqual(a.status()["revision"], b.status()["revision"])
        started = time.monotonic()
        s, doc = a.api("PUT", "/api/weight", {"canary_weight": 25})
        self.assertEqual(s, 200, doc)
        wait_until(lambda: b.status()["canary_weight"] == 25, timeout=1.0, interval=0.005,
                   message="replica b at 25 %")
        print("replicas converged in %.0f ms" % ((time.monotonic() - started) * 1000), file=sys.stderr)
        self.assertEqual(b.status()["revision"], doc["revision"])
        # The change is in the ConfigMap, and survives both replicas.
        state = json.loads(self.api.configmap("canaryd-state")["data"]["state.json"])
        self.assertIn('"canary_weight_bp": 2500', json.dumps(state))
        self.assertEqual(b.ctl("promote").returncode, 0)
        wait_until(lambda: a.status()["stable"]["selector"] == "name=nginx,version=v2", timeout=1.0,
                   message="replica a promoted")
        self.assertEqual(set(self.served_by(a, 4)), {"nginx-v2-a"})

    def test_racing_changes_through_two_replicas_never_lose_one(self):
        self.pod("nginx-v1-a", V1)
        self.pod("nginx-v2-a", V2)
        a = self.start_canaryd(name="race-a", configmap="canaryd-state", history_limit=100)
        b = self.start_canaryd(name="race-b", configmap="canaryd-state", history_limit=100)
        self.api.wait_watchers(2, "configmaps")
        acknowledged, refused = [], []
        lock = threading.Lock()

        def changes(d, weights):
            for w in weights:
                s, doc = d.api("PUT", "/api/weight", {"canary_weight": w})
                with lock:
                    if s == 200:
                        acknowledged.append((doc["revision"], w))
                    else:
                        refused.append((s, doc))

        ta = threading.Thread(target=changes, args=(a, [i + 0.01 for i in range(20)]))
        tb = threading.Thread(target=changes, args=(b, [50 + i + 0.02 for i in range(20)]))
        ta.start(), tb.start()
        ta.join(60), tb.join(60)
        self.assertEqual(refused, [])
        self.assertEqual(len(acknowledged), 40, "every change acknowledged")
        self.assertGreater(self.api.count(method="PUT", path="/api/v1/namespaces/web/configmaps/canaryd-state"), 0)
        # b's last acknowledged change reaches a through the watch: read a's history once both agree.
        wait_until(lambda: a.status()["revision"] == b.status()["revision"] == max(r for r, _ in acknowledged),
                   message="both replicas at the last revision")
        for d in (a, b):
            by_revision = {h["revision"]: h["canary_weight"] for h in d.history()}
            for revision, weight in acknowledged:
                self.assertAlmostEqual(by_revision.get(revision, -1), weight, places=2,
                                       msg="acknowledged revision %d (%s %%) lost on %s" % (revision, weight, d.name))
        self.assertEqual(len({r for r, _ in acknowledged}), 40, "two changes got one revision")

    def test_the_shipped_role_is_all_canaryd_needs(self):
        import yaml
        with open(os.path.join(os.path.dirname(os.path.dirname(HERE)), "deploy", "20-canaryd-rbac.yaml")) as f:
            role = [doc for doc in yaml.safe_load_all(f) if doc and doc.get("kind") == "Role"][0]
        self.api.set_rbac(role["rules"], namespace=NS)
        self.api.set_configmap("canaryd-state", None)  # shipped empty: the Role has no `create`
        self.pod("nginx-v1-a", V1)
        self.pod("nginx-v2-a", V2)
        a = self.start_canaryd(name="rbac-a", configmap="canaryd-state")
        b = self.start_canaryd(name="rbac-b", configmap="canaryd-state")
        wait_until(lambda: len(self.status_pods(a)) == 2, message="pods found under the Role")
        self.assertEqual(a.api("PUT", "/api/weight", {"canary_weight": 10})[0], 200)
        wait_until(lambda: b.status()["canary_weight"] == 10, message="replica b follows under the Role")
        for d in (a, b):
            # A refusal by the Role, not the digits of a port number in the log.
            self.assertNotRegex(d.log(), r"(?<![0-9])403(?![0-9])")

    def test_state_configmap_unreachable_at_start_is_one_line_and_exit_1(self):
        self.api.go_down()
        d = self.canaryd(endpoints=[], extra=self.discovery(), state_configmap="canaryd-state", start=False)
        d.start(wait=False)
        self.assertEqual(d.proc.wait(20), 1, d.log())
        lines = [line for line in d.log().splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("state.kubernetes_configmap", lines[0])


class ClearTextApiServerTest(IntegrationTest):
    """An http:// API server would get the service account's token in clear text: canaryd refuses to
    start with one, named in the config or in the kubeconfig, and `canaryd -t` fails, unless
    discovery.kubernetes.insecure_http is true (the old canaryd used it without a word)."""

    def setUp(self):
        super().setUp()
        self.api = fake_apiserver.FakeApiServer(tokens={"token-1"}, bookmark_interval=1.0)  # no tls: http
        self.api.start()
        self.addCleanup(self.api.stop)
        self.assertTrue(self.api.url.startswith("http://"), self.api.url)
        name = self.id().rsplit(".", 1)[-1]
        token_file = self.work.file("%s.token" % name, "token-1\n", mode=0o600)
        self.kubeconfig = fake_apiserver.write_kubeconfig(
            os.path.join(self.work.path, "%s.kubeconfig" % name), self.api.url, token_file=token_file)

    def discovery(self, insecure=None):
        return ("discovery:\n  kubernetes: {namespace: %s, port: %d, kubeconfig: %s%s}\n"
                % (NS, POD_PORT, self.kubeconfig, "" if insecure is None else ", insecure_http: %s" % insecure))

    def test_refused_at_start_and_by_the_check(self):
        for insecure in (None, "false"):
            with self.subTest(insecure_http=insecure):
                d = self.canaryd(name="clear-%s" % insecure, endpoints=[], extra=self.discovery(insecure), start=False)
                check = d.check_config()
                self.assertEqual(check.returncode, 1, check.stdout + check.stderr)
                self.assertIn("discovery.kubernetes.kubeconfig: ", check.stderr)
                self.assertIn("clear text", check.stderr)
                d.start(wait=False)
                self.assertEqual(d.proc.wait(20), 1, d.log())
                self.assertIn("server %s" % self.api.url, d.log())
                self.assertIn("insecure_http: true", d.log())
        # Named in the config itself: a config error.
        d = self.canaryd(name="clear-api-server", endpoints=[], start=False,
                         extra="discovery: {kubernetes: {namespace: %s, port: %d, api_server: \"%s\"}}\n"
                               % (NS, POD_PORT, self.api.url))
        check = d.check_config()
        self.assertEqual(check.returncode, 1, check.stdout + check.stderr)
        self.assertIn("discovery.kubernetes.api_server: an http:// API server", check.stderr)

    def test_allowed_with_insecure_http(self):
        self.api.add_pod("nginx-http-a", "127.0.0.9", dict(V1), ready=True, port=POD_PORT)
        d = self.canaryd(endpoints=[], extra=self.discovery("true"), start=False)
        check = d.check_config()
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        d.start()
        wait_until(lambda: "nginx-http-a" in str(d.status()), message="the pod found over http")


if __name__ == "__main__":
    support.main()
