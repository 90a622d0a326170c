#!/usr/bin/env python3
"""A rollout with the routing state in a ConfigMap (contract section 7): two canaryd replicas on the fake
Kubernetes API server (tests/k8s/fake_apiserver.py) with nginx pods run ONE rollout, not two: started on
one replica, both show it, it completes, and the history holds exactly one revision per step; when the
replica that drives it is killed, the other takes the steps over once the step is overdue by the
takeover delay (30 s)."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "k8s"))
import support  # noqa: E402
from support import IntegrationTest, wait_until  # noqa: E402
import fake_apiserver  # noqa: E402
from test_kubernetes import NS, POD_PORT, V1, V2, PodServer  # noqa: E402
from test_rollout import rfc3339_seconds  # noqa: E402

CONFIGMAP = "canaryd-state"
TAKEOVER_S = 30  # weights::kDriverTakeover


class RolloutReplicasTest(IntegrationTest):
    next_ip = 120  # pods on 127.0.0.121 and up (test_kubernetes.py uses 127.0.0.11 and up)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certs = fake_apiserver.make_certs(os.path.join(cls.work.path, "certs"))

    def setUp(self):
        super().setUp()
        self.api = fake_apiserver.FakeApiServer(tls=self.certs, tokens={"token-1"}, bookmark_interval=1.0)
        self.api.start()
        self.addCleanup(self.api.stop)
        name = self.id().rsplit(".", 1)[-1]
        token_file = self.work.file("%s.token" % name, "token-1\n", mode=0o600)
        self.kubeconfig = fake_apiserver.write_kubeconfig(os.path.join(self.work.path, "%s.kubeconfig" % name),
                                                          self.api.url, ca_file=self.certs.ca_cert,
                                                          token_file=token_file)
        self.pod("nginx-v1-a", V1)
        self.pod("nginx-v2-a", V2)
        self.a = self.replica("replica-a")
        self.b = self.replica("replica-b")
        self.api.wait_watchers(2, "configmaps")
        for d in (self.a, self.b):
            wait_until(lambda: d.status()["canary"] and d.status()["canary"]["endpoints"],
                       message="%s seeing both pods" % d.name)

    def pod(self, name, labels):
        RolloutReplicasTest.next_ip += 1
        ip = "127.0.0.%d" % RolloutReplicasTest.next_ip
        server = PodServer(self.work.path, name, ip)
        self.addCleanup(server.stop)
        self.api.add_pod(name, ip, dict(labels), ready=True, port=POD_PORT)

    def replica(self, name):
        extra = "discovery:\n  kubernetes: {namespace: %s, port: %s, kubeconfig: %s}\n" % (NS, POD_PORT, self.kubeconfig)
        return self.canaryd(name=name, endpoints=[], extra=extra, state_configmap=CONFIGMAP)

    def rollout(self, d):
        s, doc = d.api("GET", "/api/rollout")
        self.assertEqual(s, 200, doc)
        return doc

    def wait_rollout(self, d, predicate, timeout, message):
        return wait_until(lambda: (lambda r: r if predicate(r) else None)(self.rollout(d)), timeout=timeout,
                          interval=0.05, message="%s on %s" % (message, d.name))

    def step_causes(self, d):
        return [h["cause"] for h in d.history() if h.get("cause", "").startswith("rollout step")]

    def test_one_rollout_for_two_replicas(self):
        before = self.a.status()["revision"]
        s, doc = self.a.api("POST", "/api/rollout", {"steps": [{"weight": 10, "pause": "2s"},
                                                               {"weight": 30, "pause": "2s"}, {"promote": True}]})
        self.assertEqual(s, 200, doc)
        # Both replicas show it, at the same revision.
        r = self.wait_rollout(self.b, lambda r: r["phase"] == "progressing", 5, "the rollout")
        self.assertEqual((r["step"], r["steps"], r["canary_weight"]), (1, 3, 10.0), r)
        # A second start, on the other replica, is refused: one rollout per cluster.
        s, doc = self.b.api("POST", "/api/rollout", {"steps": [{"weight": 50, "pause": "1m"}]})
        self.assertEqual((s, doc.get("kind")), (409, "conflict"), doc)
        for d in (self.a, self.b):
            self.wait_rollout(d, lambda r: r["phase"] == "completed", 30, "completed")
        for d in (self.a, self.b):
            st = d.status()
            self.assertIsNone(st["canary"], st)
            self.assertIn("version=v2", st["stable"]["selector"])
            self.assertEqual(st["revision"], before + 3, st)
        # Exactly one revision per step, the same history on both replicas and in the ConfigMap.
        causes = self.step_causes(self.a)
        self.assertEqual(len(causes), 3, causes)
        for i, (cause, what) in enumerate(zip(causes, ("weight 10", "weight 30", "promote")), start=1):
            self.assertTrue(cause.startswith("rollout step %d/3: %s" % (i, what)), causes)
        self.assertEqual(self.step_causes(self.b), causes)
        self.assertEqual([h["revision"] for h in self.a.history()], [h["revision"] for h in self.b.history()])

    def test_the_other_replica_takes_over_when_the_driver_dies(self):
        s, doc = self.a.api("POST", "/api/rollout", {"steps": [{"weight": 10, "pause": "3s"},
                                                               {"weight": 30, "pause": "1h"}, {"promote": True}]})
        self.assertEqual(s, 200, doc)
        self.a.kill9()  # the driver is gone before its step ends
        deadline = rfc3339_seconds(doc["pause_until"])
        r = self.wait_rollout(self.b, lambda r: r["step"] >= 2, TAKEOVER_S + 30, "step 2 moved by the other replica")
        moved_at = time.time()
        print("takeover %.1f s after the step's end" % (moved_at - deadline), file=sys.stderr)
        self.assertGreaterEqual(moved_at, deadline + TAKEOVER_S - 5, "took over before the driver was overdue")
        self.assertEqual((r["phase"], r["canary_weight"]), ("progressing", 30.0), r)
        self.assertEqual(len(self.step_causes(self.b)), 2)
        # The new driver goes on: an early promote on it completes the rollout.
        s, doc = self.b.api("POST", "/api/rollout/promote", {})
        self.assertEqual(s, 200, doc)
        self.assertEqual(self.rollout(self.b)["phase"], "completed")


if __name__ == "__main__":
    support.main()
