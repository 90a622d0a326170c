#!/usr/bin/env python3
"""The shared routing state in a ConfigMap when the API server is slow or loses answers (the fake API
server of tests/k8s holds, applies-then-holds or loses PUTs): a pending write stops neither probes, nor
reads, nor a reload; a write the API server applied but answered too late is acknowledged after reading
the ConfigMap back; a write it never applied answers 500 and changes nothing; and when even the read-back
fails, the answer says the outcome is unknown."""

import json
import os
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "k8s"))
import support  # noqa: E402
from support import IntegrationTest, wait_until  # noqa: E402
import fake_apiserver  # noqa: E402

CONFIGMAP = "canaryd-state"
PUT_PATH = "/api/v1/namespaces/web/configmaps/" + CONFIGMAP


class Call:
    """A control API call on its own thread: a change waits for its write while the test goes on."""

    def __init__(self, d, method, path, body=None):
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(d, method, path, body), daemon=True)
        self.thread.start()

    def _run(self, d, method, path, body):
        try:
            self.result = d.api(method, path, body)
        except OSError as e:
            self.result = ("error", str(e))

    def wait(self, timeout=20):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the call got no answer within %d s" % timeout
        return self.result


class ConfigMapStateTest(IntegrationTest):
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
        kubeconfig = fake_apiserver.write_kubeconfig(os.path.join(self.work.path, "%s.kubeconfig" % name),
                                                     self.api.url, ca_file=self.certs.ca_cert, token_file=token_file)
        # No pods are needed: the state is what is under test, and the config defines a canary set.
        self.d = self.canaryd(endpoints=[], state_configmap=CONFIGMAP,
                              extra="discovery:\n  kubernetes: {namespace: web, port: 80, kubeconfig: %s}\n"
                                    % kubeconfig)
        self.api.wait_watchers(1, "configmaps")
        self.before = self.d.status()

    def held_change(self, mode, weight):
        """A weight change whose PUT the fake holds (see FakeApiServer.stall_writes), once it is held."""
        self.api.stall_writes(mode)
        change = Call(self.d, "PUT", "/api/weight", {"canary_weight": weight})
        self.api.wait_for(lambda: self.api.stalled() == 1, message="canaryd's PUT held")
        return change

    def stored(self):
        """The current revision in the ConfigMap."""
        state = json.loads(self.api.configmap(CONFIGMAP)["data"]["state.json"])
        return state["revisions"][-1]

    def test_a_pending_write_holds_up_neither_probes_nor_reads_nor_a_reload(self):
        change = self.held_change("hold", 30)
        r = support.http_request(self.d.control, "GET", "/healthz", timeout=1)
        self.assertEqual(r.status, 200)
        status = self.d.status()
        self.assertEqual((status["revision"], status["canary_weight"]), (self.before["revision"], 0.0),
                         "reads show the state in force until the write is stored")
        mark = len(self.d.log())
        self.d.send_signal(signal.SIGHUP)
        self.d.wait_log(r"reloaded ", after=mark)
        self.assertEqual(self.api.release_writes(), 1)
        code, doc = change.wait()
        self.assertEqual(code, 200, doc)
        self.assertEqual((doc["revision"], doc["canary_weight"]), (self.before["revision"] + 1, 30.0))
        self.assertEqual(self.d.status()["canary_weight"], 30.0)
        self.assertEqual(self.stored()["revision"], self.before["revision"] + 1)

    def test_a_write_applied_but_answered_after_the_timeout_is_acknowledged(self):
        self.api.stall_writes("apply")
        change = Call(self.d, "PUT", "/api/weight", {"canary_weight": 25, "cause": "late answer"})
        code, doc = change.wait()  # canaryd gives up waiting after its 5 s timeout and reads the ConfigMap
        self.api.release_writes()
        self.assertEqual(code, 200, doc)
        self.assertEqual((doc["revision"], doc["canary_weight"]), (self.before["revision"] + 1, 25.0))
        self.assertEqual(self.api.count(method="PUT", path=PUT_PATH), 1, "decided by reading, not by writing again")
        self.assertEqual(self.d.status()["canary_weight"], 25.0)
        history = self.d.history()
        self.assertEqual([h["revision"] for h in history][-2:], [self.before["revision"], self.before["revision"] + 1])
        self.assertEqual(history[-1]["cause"], "late answer")
        self.assertEqual(self.stored()["revision"], self.before["revision"] + 1)
        # The next change builds on it.
        code, doc = self.d.api("PUT", "/api/weight", {"canary_weight": 50})
        self.assertEqual((code, doc.get("revision")), (200, self.before["revision"] + 2), doc)

    def test_a_write_the_api_server_lost_answers_500_and_changes_nothing(self):
        change = self.held_change("lose", 35)
        self.api.release_writes()  # the connection closes without an answer, nothing applied
        code, doc = change.wait()
        self.assertEqual(code, 500, doc)
        self.assertIn("not written", doc["error"])
        status = self.d.status()
        self.assertEqual((status["revision"], status["canary_weight"]), (self.before["revision"], 0.0))
        self.assertEqual(self.stored()["revision"], self.before["revision"])
        code, doc = self.d.api("PUT", "/api/weight", {"canary_weight": 35})
        self.assertEqual((code, doc.get("revision")), (200, self.before["revision"] + 1), doc)

    def test_a_write_whose_outcome_cannot_be_read_back_says_so(self):
        change = self.held_change("hold", 45)
        self.api.go_down()  # the PUT's connection breaks, and reading the ConfigMap back is refused
        code, doc = change.wait()
        self.assertEqual(code, 500, doc)
        self.assertIn("unknown", doc["error"])
        self.assertNotIn("not written", doc["error"])
        self.assertEqual(self.d.status()["revision"], self.before["revision"])
        r = support.http_request(self.d.control, "GET", "/healthz", timeout=1)
        self.assertEqual(r.status, 200)


if __name__ == "__main__":
    support.main()
