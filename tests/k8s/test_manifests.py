#!/usr/bin/env python3
"""Checks the Kubernetes manifests in deploy/ against each other, against the canaryd config they
embed and against the Dockerfile: ports, probes, RBAC, mounted paths, labels and selectors,
securityContext. Renders deploy/ with `kubectl kustomize` and checks what `kubectl apply -k deploy/`
would apply: the app.kubernetes.io labels, the PodDisruptionBudget, the Service's traffic policy, the
scrape annotations, the pinned image tag, and the ServiceMonitor kept out of it (deploy/servicemonitor/).
Then points the real kubectl at the fake API server (fake_apiserver.py) to `apply -k` them, and checks
that the shipped Role allows exactly the requests canaryd makes.

Run: python3 tests/k8s/test_manifests.py [--bin-dir BUILD_DIR] [-v] [-k PATTERN]
Needs PyYAML (Debian: python3-yaml). With --bin-dir (or $CANARYD_BIN_DIR) holding canaryd, the
embedded config is also validated with `canaryd -t`. kubectl: as in test_fake_apiserver.py ($KUBECTL
or PATH; a missing one skips those tests, and fails them under CI=true).
"""

import glob
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEPLOY = os.environ.get("CANARYD_DEPLOY_DIR") or os.path.join(ROOT, "deploy")
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
KUSTOMIZATION = os.path.join(DEPLOY, "kustomization.yaml")
SERVICEMONITOR = os.path.join(DEPLOY, "servicemonitor", "servicemonitor.yaml")
sys.path.insert(0, HERE)
import fake_apiserver as F  # noqa: E402

BIN_DIR = os.environ.get("CANARYD_BIN_DIR")
NS = "web"
STATE_CM = "canaryd-state"
CONFIG_CM = "canaryd-config"
CONFIG_KEY = "canaryd.yaml"

# The config keys canaryd knows (CONTRACT.md section 2, with the Kubernetes extension of section 6).
CONFIG_KEYS = {
    "listen", "threads", "control", "state_file", "history_limit", "endpoints", "service", "routing",
    "timeouts", "limits", "health", "discovery", "state",
}
# What canaryd needs from the API server, as RBAC sees it: (apiGroup, resource, resourceName) -> verbs.
NEEDED_RBAC = {
    ("", "pods", None): {"get", "list", "watch"},
    ("", "configmaps", STATE_CM): {"get", "update", "watch"},
}


# ---------------------------------------------------------------- loading


def manifest_files():
    """The manifests at the top of deploy/ (kustomization.yaml is kustomize's, not an object)."""
    paths = sorted(glob.glob(os.path.join(DEPLOY, "*.yaml")) + glob.glob(os.path.join(DEPLOY, "*.yml")))
    return [p for p in paths if os.path.basename(p) not in ("kustomization.yaml", "kustomization.yml")]


def load_documents():
    docs = []
    for path in manifest_files():
        with open(path) as f:
            for d in yaml.safe_load_all(f):
                if d is not None:
                    docs.append((os.path.basename(path), d))
    return docs


def project_version():
    """project(canaryd VERSION X.Y.Z) in the top CMakeLists.txt: the release the manifests pin."""
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        m = re.search(r"^project\(canaryd\s+VERSION\s+([0-9]+\.[0-9]+\.[0-9]+)\b", f.read(), re.M)
    assert m, "no project(canaryd VERSION ...) in CMakeLists.txt"
    return m.group(1)


def parse_dockerfile(path):
    """USER, ENTRYPOINT and CMD of the final stage (JSON or shell form)."""
    out = {}
    stage = None
    with open(path) as f:
        text = re.sub(r"\\\n", " ", f.read())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stage = rest
            out = {"from": stage}
        elif word in ("USER", "ENTRYPOINT", "CMD", "WORKDIR"):
            rest = rest.strip()
            out[word] = json.loads(rest) if rest.startswith("[") else (
                shlex.split(rest) if word in ("ENTRYPOINT", "CMD") else rest)
    return out


def duration_seconds(s):
    m = re.match(r"^([0-9]+)(ms|s|m|h)$", str(s))
    if not m:
        raise ValueError("bad duration %r" % s)
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def cpu_cores(q):
    q = str(q)
    return int(q[:-1]) / 1000 if q.endswith("m") else float(q)


def address_port(addr):
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


def selector_reqs(sel):
    """A config or manifest selector (a label map, or a string in the Kubernetes syntax) as
    requirements for fake_apiserver.label_selector_matches."""
    if sel is None:
        return []
    if isinstance(sel, str):
        return F.parse_label_selector(sel)
    return [(k, "=", [str(v)]) for k, v in sel.items()]


def matches(sel, labels):
    return F.label_selector_matches(selector_reqs(sel), labels)


def match_labels(label_selector):
    """A metav1.LabelSelector (matchLabels only, as these manifests use) as requirements."""
    reqs = selector_reqs(label_selector.get("matchLabels") or {})
    for e in label_selector.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}[e["operator"]]
        reqs.append((e["key"], op, sorted(e.get("values") or [])))
    return reqs


def container_port(container, port):
    """The containerPort a probe or Service targetPort (number or name) means."""
    for p in container.get("ports") or []:
        if port == p.get("name") or port == p.get("containerPort"):
            return p["containerPort"]
    return None


class Manifests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.docs = load_documents()
        cls.by = {}
        for fname, d in cls.docs:
            key = (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"])
            cls.by[key] = d
        cls.dockerfile = parse_dockerfile(DOCKERFILE)

    def obj(self, kind, name, namespace=NS):
        key = (kind, namespace, name)
        self.assertIn(key, self.by, "deploy/ has no %s %s/%s" % (kind, namespace, name))
        return self.by[key]

    def config(self):
        cm = self.obj("ConfigMap", CONFIG_CM)
        return yaml.safe_load(cm["data"][CONFIG_KEY])

    def canaryd(self):
        dep = self.obj("Deployment", "canaryd")
        pod = dep["spec"]["template"]["spec"]
        containers = {c["name"]: c for c in pod["containers"]}
        self.assertIn("canaryd", containers)
        return dep, pod, containers["canaryd"]

    def nginx_deployments(self):
        return [d for (kind, ns, name), d in self.by.items() if kind == "Deployment" and name != "canaryd"]

    # ------------------------------------------------------------ the set of objects

    def test_every_document_is_a_well_formed_object(self):
        self.assertTrue(self.docs)
        seen = set()
        for fname, d in self.docs:
            with self.subTest(file=fname, name=d.get("metadata", {}).get("name")):
                self.assertIn("apiVersion", d)
                self.assertIn("kind", d)
                md = d["metadata"]
                self.assertRegex(md["name"], r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
                if d["kind"] != "Namespace":
                    self.assertEqual(md.get("namespace"), NS)
                key = (d["kind"], md.get("namespace"), md["name"])
                self.assertNotIn(key, seen)
                seen.add(key)
                for field in ("labels", "annotations"):
                    for k, v in (md.get(field) or {}).items():
                        self.assertIsInstance(v, str, "%s.%s must be a string" % (field, k))

    def test_the_objects_shipped(self):
        self.assertEqual(sorted(self.by), sorted([
            ("Namespace", None, NS),
            ("Deployment", NS, "nginx-v1"), ("Deployment", NS, "nginx-v2"), ("Deployment", NS, "canaryd"),
            ("ServiceAccount", NS, "canaryd"), ("Role", NS, "canaryd"), ("RoleBinding", NS, "canaryd"),
            ("ConfigMap", NS, CONFIG_CM), ("ConfigMap", NS, STATE_CM),
            ("Service", NS, "nginx-svc"), ("Service", NS, "canaryd-control"),
            ("NetworkPolicy", NS, "canaryd"), ("PodDisruptionBudget", NS, "canaryd"),
        ]))
        # the namespace comes first: kustomization.yaml lists the files in name order
        self.assertEqual(self.docs[0][1]["kind"], "Namespace")
        # no Secret: the control token is made in the cluster, never taken from the repository
        self.assertFalse([d for _, d in self.docs if d["kind"] == "Secret"])

    def test_state_configmap_is_shipped_empty(self):
        cm = self.obj("ConfigMap", STATE_CM)
        self.assertNotIn("data", cm)
        self.assertNotIn("binaryData", cm)
        self.assertEqual(self.config()["state"], {"kubernetes_configmap": STATE_CM})

    # ------------------------------------------------------------ the embedded config

    def test_config_is_the_kubernetes_form(self):
        cfg = self.config()
        self.assertFalse(set(cfg) - CONFIG_KEYS, "unknown config keys")
        self.assertNotIn("endpoints", cfg)
        self.assertNotIn("state_file", cfg)
        k8s = cfg["discovery"]["kubernetes"]
        self.assertEqual(set(k8s), {"namespace", "port", "api_server", "kubeconfig"})
        self.assertEqual(k8s["namespace"], NS)
        self.assertEqual((k8s["api_server"], k8s["kubeconfig"]), ("", ""))     # in-cluster
        self.assertEqual(cfg["service"]["selector"], {"name": "nginx"})
        self.assertEqual(cfg["service"]["stable"], {"version": "v1"})
        self.assertEqual(cfg["service"]["canary"], {"version": "v2"})
        self.assertEqual(address_port(cfg["listen"][0]["address"]), ("0.0.0.0", 31180))
        self.assertEqual(address_port(cfg["control"]["address"]), ("0.0.0.0", 9901))
        self.assertTrue(cfg["control"]["token_file"])

    def test_config_validates_with_canaryd(self):
        binary = os.path.join(BIN_DIR, "canaryd") if BIN_DIR else None
        if not binary or not os.access(binary, os.X_OK):
            raise unittest.SkipTest("no canaryd binary (pass --bin-dir BUILD_DIR)")
        d = tempfile.mkdtemp(prefix="canaryd-manifest-")
        self.addCleanup(shutil.rmtree, d, True)
        text = self.obj("ConfigMap", CONFIG_CM)["data"][CONFIG_KEY]
        self.check_with_runtime_files(binary, d, text, self.config()["control"]["token_file"])

    def check_with_runtime_files(self, binary, d, text, token_file, state_dir=None):
        """`canaryd -t` opens the files a config names: without the pod's token it fails naming it;
        with the token (mode 0440, as the Secret is mounted) and the state directory in place it passes."""
        path = os.path.join(d, "canaryd.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([binary, "-t", "-c", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("control.token_file: %s: " % token_file, r.stderr)
        token = os.path.join(d, "token")
        with open(token, "w") as f:
            f.write("t\n")
        os.chmod(token, 0o440)
        text = text.replace(token_file, token)
        if state_dir:
            text = text.replace(state_dir, d)
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([binary, "-t", "-c", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def image_config_path(self):
        """The repository file the Dockerfile copies to the path CMD runs."""
        with open(DOCKERFILE) as f:
            m = re.search(r"^COPY\s+(\S+)\s+/etc/canaryd/canaryd\.yaml\s*$", f.read(), re.M)
        self.assertTrue(m, "the Dockerfile copies no config to /etc/canaryd/canaryd.yaml")
        return os.path.join(ROOT, m.group(1))

    def test_image_config_serves_the_api_only_with_the_deployed_token(self):
        path = self.image_config_path()
        self.assertTrue(path.startswith(DEPLOY + os.sep), "the image's config lives in deploy/: " + path)
        with open(path) as f:
            text = f.read()
        cfg = yaml.safe_load(text)
        self.assertIn(address_port(cfg["control"]["address"])[0], ("0.0.0.0", "::"))
        self.assertNotIn("allow_unauthenticated", cfg["control"])
        # the same path the Deployment mounts its Secret at
        self.assertEqual(cfg["control"]["token_file"], self.config()["control"]["token_file"])
        binary = os.path.join(BIN_DIR, "canaryd") if BIN_DIR else None
        if not binary or not os.access(binary, os.X_OK):
            raise unittest.SkipTest("no canaryd binary (pass --bin-dir BUILD_DIR)")
        d = tempfile.mkdtemp(prefix="canaryd-image-config-")
        self.addCleanup(shutil.rmtree, d, True)
        self.check_with_runtime_files(binary, d, text, cfg["control"]["token_file"],
                                      state_dir=os.path.dirname(cfg["state_file"]))

    # ------------------------------------------------------------ the network policy

    def policy_allows(self, policy, port_name, pod_labels, namespace_labels):
        """Whether `policy` admits a connection to the named container port from a pod with these
        labels in a namespace with these labels (NetworkPolicy semantics for ingress)."""
        for rule in policy["spec"].get("ingress") or []:
            ports = rule.get("ports")
            if ports is not None and not any(p.get("port") == port_name for p in ports):
                continue
            peers = rule.get("from")
            if not peers:
                return True
            for peer in peers:
                self.assertNotIn("ipBlock", peer)
                ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
                ns_ok = (namespace_labels.get("kubernetes.io/metadata.name") == NS if ns_sel is None
                         else F.label_selector_matches(match_labels(ns_sel), namespace_labels))
                pod_ok = pod_sel is None or F.label_selector_matches(match_labels(pod_sel), pod_labels)
                if ns_ok and pod_ok:
                    return True
        return False

    def test_network_policy_guards_only_the_control_port(self):
        policy = self.obj("NetworkPolicy", "canaryd")
        dep, pod, c = self.canaryd()
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(F.label_selector_matches(match_labels(policy["spec"]["podSelector"]), pod_labels))
        self.assertEqual(policy["spec"]["policyTypes"], ["Ingress"])
        names = {p["name"] for p in c["ports"]}
        for rule in policy["spec"]["ingress"]:
            for p in rule.get("ports") or []:
                self.assertIn(p["port"], names, "the policy names container ports by name")
        web = {"kubernetes.io/metadata.name": NS}
        ops = {"kubernetes.io/metadata.name": "ops"}
        monitoring = {"kubernetes.io/metadata.name": "monitoring"}
        cases = [
            # (port, pod labels, namespace labels, allowed)
            ("http", {}, ops, True),                                      # the data plane is open
            ("http", {"app": "nginx"}, web, True),
            ("control", {}, web, False),                                  # any pod, even in canaryd's namespace
            ("control", {"name": "nginx", "version": "v2"}, web, False),  # an upstream pod
            ("control", {"canaryd.io/control": "true"}, ops, True),       # canaryctl's pod, any namespace
            ("control", {"canaryd.io/control": "false"}, ops, False),
            ("control", {"app.kubernetes.io/name": "prometheus"}, monitoring, True),
            ("control", {"app.kubernetes.io/name": "prometheus"}, ops, False),
            ("control", {}, monitoring, False),
        ]
        for port, labels, ns, allowed in cases:
            with self.subTest(port=port, labels=labels, namespace=ns):
                self.assertEqual(self.policy_allows(policy, port, labels, ns), allowed)

    # ------------------------------------------------------------ the example workload

    def test_nginx_workload_matches_the_config(self):
        cfg = self.config()
        svc = cfg["service"]
        port = cfg["discovery"]["kubernetes"]["port"]
        versions = {}
        deps = self.nginx_deployments()
        self.assertEqual(len(deps), 2)
        for d in deps:
            with self.subTest(deployment=d["metadata"]["name"]):
                tmpl = d["spec"]["template"]
                labels = tmpl["metadata"]["labels"]
                self.assertTrue(F.label_selector_matches(match_labels(d["spec"]["selector"]), labels))
                self.assertEqual(labels["name"], "nginx")
                self.assertTrue(matches(svc["selector"], labels), "service.selector must pick these pods")
                stable, canary = matches(svc["stable"], labels), matches(svc["canary"], labels)
                self.assertNotEqual(stable, canary, "each version is in exactly one set")
                versions[labels["version"]] = ("stable" if stable else "canary", d["spec"]["replicas"])
                for c in tmpl["spec"]["containers"]:
                    self.assertIsNotNone(container_port(c, port),
                                         "discovery.kubernetes.port %r is not a port of %s" % (port, c["name"]))
                    probe = c.get("readinessProbe")
                    self.assertTrue(probe, "canaryd routes only to Ready pods: a readiness probe is needed")
                    self.assertEqual(container_port(c, probe["httpGet"]["port"]), container_port(c, port))
                    self.assertTrue(c["resources"]["limits"] and c["resources"]["requests"])
                    self.assertEqual(c["imagePullPolicy"], "IfNotPresent")
        self.assertEqual(versions, {"v1": ("stable", 3), "v2": ("canary", 1)})

    # ------------------------------------------------------------ canaryd's Deployment

    def test_canaryd_image_command_and_config_mount(self):
        df = self.dockerfile
        dep, pod, c = self.canaryd()
        self.assertEqual(dep["spec"]["replicas"], 2)
        self.assertEqual(c["image"], "canaryd:" + project_version())
        self.assertIn(c.get("imagePullPolicy"), ("IfNotPresent", "Never"))     # a locally built image
        command = c.get("command") or df["ENTRYPOINT"]
        args = c.get("args") if (c.get("args") is not None or c.get("command")) else df.get("CMD", [])
        argv = list(command) + list(args)
        self.assertEqual(os.path.basename(argv[0]), "canaryd")
        self.assertIn("-c", argv)
        config_path = argv[argv.index("-c") + 1]
        self.assertEqual(config_path, "/etc/canaryd/canaryd.yaml")
        source = self.mounted_file(pod, c, config_path)
        self.assertEqual(source, ("configMap", CONFIG_CM, CONFIG_KEY))
        self.assertEqual(dep["spec"]["template"]["spec"]["serviceAccountName"], "canaryd")
        self.assertNotEqual(pod.get("automountServiceAccountToken"), False,
                            "in-cluster discovery needs the service-account token")

    def mounted_file(self, pod, container, path):
        """Which volume source provides `path` in the container: (kind, name, key), checking the
        mount is read-only. Handles a directory mount with items (or without: key = file name)
        and a subPath mount."""
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        for m in container.get("volumeMounts") or []:
            mp = m["mountPath"].rstrip("/")
            v = volumes[m["name"]]
            kind = "configMap" if "configMap" in v else "secret" if "secret" in v else None
            if kind is None:
                continue
            src = v[kind]
            name = src.get("name") or src.get("secretName")
            if m.get("subPath"):
                if mp == path:
                    self.assertTrue(m.get("readOnly"), "mount %s must be readOnly" % mp)
                    return kind, name, self.item_key(src, m["subPath"])
                continue
            if os.path.dirname(path) == mp:
                self.assertTrue(m.get("readOnly"), "mount %s must be readOnly" % mp)
                key = self.item_key(src, os.path.basename(path))
                if key is not None:
                    return kind, name, key
        self.fail("nothing mounts %s" % path)

    @staticmethod
    def item_key(src, file_name):
        items = src.get("items")
        if items is None:
            return file_name
        for it in items:
            if it["path"] == file_name:
                return it["key"]
        return None

    def test_control_token_file_is_a_private_secret_mount(self):
        cfg = self.config()
        dep, pod, c = self.canaryd()
        token_file = cfg["control"]["token_file"]
        kind, name, key = self.mounted_file(pod, c, token_file)
        self.assertEqual((kind, name, key), ("secret", "canaryd-control-token", "token"))
        vol = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == name][0]["secret"]
        mode = vol.get("defaultMode", 0o644)
        for it in vol.get("items") or []:
            if it["key"] == key and "mode" in it:
                mode = it["mode"]
        self.assertIn(mode, (0o400, 0o440), "mode %o: canaryd refuses a world-readable token file" % mode)
        # the files of a secret volume belong to root (group fsGroup): a non-root canaryd reads the
        # token through its group
        sc = pod["securityContext"]
        self.assertEqual(mode, 0o440, "with 0400 only root could read the token")
        self.assertEqual(sc.get("fsGroup"), self.image_gid())
        self.assertTrue(any(m["mountPath"] == "/etc/canaryd" for m in c["volumeMounts"]))
        # the token directory is not inside the config mount (nested mounts into a ConfigMap volume)
        self.assertFalse(os.path.dirname(token_file).startswith("/etc/canaryd/"))

    def image_uid(self):
        return int(self.dockerfile["USER"].split(":")[0])

    def image_gid(self):
        u = self.dockerfile["USER"].split(":")
        return int(u[1]) if len(u) > 1 else int(u[0])

    def test_security_context(self):
        dep, pod, c = self.canaryd()
        psc, csc = pod["securityContext"], c["securityContext"]
        self.assertTrue(psc["runAsNonRoot"])
        self.assertEqual(psc["runAsUser"], self.image_uid())
        self.assertEqual(psc["runAsGroup"], self.image_gid())
        self.assertNotEqual(self.image_uid(), 0)
        self.assertTrue(csc.get("runAsNonRoot", psc["runAsNonRoot"]))
        self.assertEqual(csc.get("runAsUser", psc["runAsUser"]), self.image_uid())
        self.assertIs(csc["readOnlyRootFilesystem"], True)
        self.assertIs(csc["allowPrivilegeEscalation"], False)
        self.assertFalse(csc.get("privileged", False))
        self.assertEqual(csc["capabilities"]["drop"], ["ALL"])
        self.assertFalse(csc["capabilities"].get("add"))
        self.assertEqual(psc["seccompProfile"]["type"], "RuntimeDefault")
        # with a read-only root, canaryd may write nowhere but the mounted emptyDirs; no state file
        self.assertNotIn("state_file", self.config())

    def test_ports_probes_and_services(self):
        cfg = self.config()
        dep, pod, c = self.canaryd()
        listen_host, listen_port = address_port(cfg["listen"][0]["address"])
        control_host, control_port = address_port(cfg["control"]["address"])
        # probes and Services reach the pod IP: nothing may listen on loopback only
        self.assertIn(listen_host, ("0.0.0.0", "::"))
        self.assertIn(control_host, ("0.0.0.0", "::"))
        self.assertEqual(container_port(c, "http"), listen_port)
        self.assertEqual(container_port(c, "control"), control_port)
        self.assertEqual(sorted(p["containerPort"] for p in c["ports"]), sorted([listen_port, control_port]))
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
        for probe in ("readinessProbe", "livenessProbe"):
            self.assertEqual(container_port(c, c[probe]["httpGet"]["port"]), control_port, probe)
            self.assertEqual(c[probe]["httpGet"].get("scheme", "HTTP"), "HTTP")
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(F.label_selector_matches(match_labels(dep["spec"]["selector"]), pod_labels))
        # canaryd's own pods are not upstreams of canaryd
        self.assertFalse(matches(cfg["service"]["selector"], pod_labels))
        nodeport = self.obj("Service", "nginx-svc")
        self.assertEqual(nodeport["spec"]["type"], "NodePort")
        [p] = nodeport["spec"]["ports"]
        self.assertEqual(p["nodePort"], 31180)
        self.assertEqual(container_port(c, p["targetPort"]), listen_port)
        control = self.obj("Service", "canaryd-control")
        self.assertEqual(control["spec"].get("type", "ClusterIP"), "ClusterIP")
        [cp] = control["spec"]["ports"]
        self.assertEqual(container_port(c, cp["targetPort"]), control_port)
        for svc in (nodeport, control):
            sel = svc["spec"]["selector"]
            self.assertTrue(matches(sel, pod_labels), "%s must select canaryd" % svc["metadata"]["name"])
            for d in self.nginx_deployments():
                self.assertFalse(matches(sel, d["spec"]["template"]["metadata"]["labels"]),
                                 "%s must not select the nginx pods" % svc["metadata"]["name"])

    def test_resources_threads_and_shutdown(self):
        cfg = self.config()
        dep, pod, c = self.canaryd()
        res = c["resources"]
        for r in ("cpu", "memory"):
            self.assertIn(r, res["requests"])
            self.assertIn(r, res["limits"])
        self.assertLessEqual(cpu_cores(res["requests"]["cpu"]), cpu_cores(res["limits"]["cpu"]))
        threads = cfg.get("threads", 0)
        self.assertGreater(threads, 0, "threads: 0 means one per node CPU, not per CPU of the limit")
        self.assertLessEqual(threads, math.ceil(cpu_cores(res["limits"]["cpu"])))
        drain = duration_seconds(cfg["timeouts"]["drain"])
        pre_stop = 0
        cmd = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
        if cmd:
            self.assertEqual(os.path.basename(cmd[0]), "sleep")
            pre_stop = int(cmd[1])
        self.assertGreaterEqual(pod["terminationGracePeriodSeconds"], pre_stop + drain + 1)
        strategy = dep["spec"]["strategy"]["rollingUpdate"]
        self.assertEqual(strategy["maxUnavailable"], 0)

    # ------------------------------------------------------------ RBAC

    def role_rules(self):
        role = self.obj("Role", "canaryd")
        return role["rules"]

    def test_rbac_grants_exactly_what_canaryd_needs(self):
        granted = {}
        for r in self.role_rules():
            names = r.get("resourceNames") or [None]
            for g in r["apiGroups"]:
                for res in r["resources"]:
                    for n in names:
                        granted.setdefault((g, res, n), set()).update(r["verbs"])
        self.assertEqual(granted, NEEDED_RBAC)
        self.assertFalse(any("*" in r[f] for r in self.role_rules() for f in ("apiGroups", "resources", "verbs")))
        binding = self.obj("RoleBinding", "canaryd")
        self.assertEqual(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                              "name": "canaryd"})
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": "canaryd", "namespace": NS}])
        self.obj("ServiceAccount", "canaryd")
        self.assertEqual(self.config()["state"]["kubernetes_configmap"], STATE_CM)
        self.assertEqual(self.config()["discovery"]["kubernetes"]["namespace"], self.obj("Role", "canaryd")
                         ["metadata"]["namespace"])

    def test_rbac_against_the_requests_canaryd_makes(self):
        """The shipped Role loaded into the fake API server: canaryd's requests pass, others are 403."""
        api = F.FakeApiServer(tls=None, tokens={"t": F.DEFAULT_USER}).start()
        self.addCleanup(api.stop)
        api.add_pod("nginx-v1-a", "10.0.0.1", {"name": "nginx", "version": "v1"}, ready=True)
        api.set_configmap(STATE_CM, None)
        api.set_configmap(CONFIG_CM, {CONFIG_KEY: "x"})
        api.set_rbac(self.role_rules(), namespace=self.obj("Role", "canaryd")["metadata"]["namespace"])
        c = F.KubeClient(api.url, token="t")
        pods = "/api/v1/namespaces/web/pods"
        cms = "/api/v1/namespaces/web/configmaps"
        code, lst, _ = c.request("GET", pods + "?labelSelector=name%3Dnginx")
        self.assertEqual(code, 200)
        rv = lst["metadata"]["resourceVersion"]
        w = c.watch(pods + "?labelSelector=name%3Dnginx&watch=1&resourceVersion=" + rv + "&allowWatchBookmarks=true")
        self.addCleanup(w.close)
        self.assertEqual(w.status, 200)
        code, cm, _ = c.request("GET", cms + "/" + STATE_CM)
        self.assertEqual(code, 200)
        cm["data"] = {"state.json": "{}"}
        self.assertEqual(c.request("PUT", cms + "/" + STATE_CM, cm)[0], 200)
        w2 = c.watch(cms + "?fieldSelector=metadata.name%3D" + STATE_CM + "&watch=1&resourceVersion=" + rv)
        self.addCleanup(w2.close)
        self.assertEqual(w2.status, 200)
        for method, path in [("POST", cms), ("PUT", cms + "/" + CONFIG_CM), ("GET", cms + "/" + CONFIG_CM),
                             ("GET", cms), ("DELETE", cms + "/" + STATE_CM), ("GET", "/api/v1/namespaces/web/secrets"),
                             ("GET", "/api/v1/namespaces/default/pods"), ("DELETE", pods + "/nginx-v1-a"),
                             ("GET", "/apis/apps/v1/namespaces/web/deployments")]:
            with self.subTest(method=method, path=path):
                body = {"metadata": {"name": STATE_CM}} if method in ("POST", "PUT") else None
                self.assertEqual(c.request(method, path, body)[0], 403)


# ---------------------------------------------------------------- kubectl


def _kubectls():
    env = os.environ.get("KUBECTL")
    paths = [p for p in env.split(os.pathsep) if p] if env else [shutil.which("kubectl")]
    return [p for p in paths if p and os.access(p, os.X_OK)]


# ---------------------------------------------------------------- kustomize

# The app.kubernetes.io labels every object carries (the recommended set).
RECOMMENDED_LABELS = ("name", "instance", "version", "component", "part-of", "managed-by")
# kustomization fields that kustomize v2 (inside Debian 12's kubectl 1.20) reads. The kubectl here is
# newer (kustomize v5), which would also accept `labels:`, `patches:`, `components:` ...; v2 fails on
# them ("json: unknown field"), so the file is held to this list and the test says so.
KUSTOMIZE_V2_FIELDS = {
    "apiVersion", "kind", "resources", "bases", "images", "commonLabels", "commonAnnotations", "namespace",
    "namePrefix", "nameSuffix", "configMapGenerator", "secretGenerator", "generatorOptions",
    "patchesStrategicMerge", "patchesJson6902", "vars", "crds", "configurations",
}


def kustomize(k):
    r = subprocess.run([k, "kustomize", DEPLOY], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("kubectl kustomize %s failed: %s" % (DEPLOY, r.stderr))
    return [d for d in yaml.safe_load_all(r.stdout) if d is not None]


class Kustomized(unittest.TestCase):
    """What `kubectl apply -k deploy/` applies: `kubectl kustomize deploy/` rendered by the real kubectl
    and checked object by object."""

    @classmethod
    def setUpClass(cls):
        with open(KUSTOMIZATION) as f:
            cls.kustomization = yaml.safe_load(f)
        cls.kubectls = _kubectls()
        if not cls.kubectls:
            if os.environ.get("CI"):
                raise AssertionError("no kubectl (set KUBECTL or install Debian's kubernetes-client)")
            raise unittest.SkipTest("no kubectl on PATH (install Debian's kubernetes-client, or set KUBECTL)")
        cls.rendered = kustomize(cls.kubectls[0])
        cls.by = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in cls.rendered}

    def obj(self, kind, name, namespace=NS):
        key = (kind, namespace, name)
        self.assertIn(key, self.by, "kubectl kustomize deploy/ renders no %s %s/%s" % (kind, namespace, name))
        return self.by[key]

    def canaryd_pod_labels(self):
        return self.obj("Deployment", "canaryd")["spec"]["template"]["metadata"]["labels"]

    def nginx_pod_labels(self):
        return [d["spec"]["template"]["metadata"]["labels"] for (kind, _, name), d in self.by.items()
                if kind == "Deployment" and name != "canaryd"]

    def test_kustomization_is_kustomize_v2(self):
        k = self.kustomization
        self.assertEqual((k.get("apiVersion"), k.get("kind")), ("kustomize.config.k8s.io/v1beta1", "Kustomization"))
        self.assertFalse(set(k) - KUSTOMIZE_V2_FIELDS, "fields kustomize v2 (kubectl 1.20) does not know")
        # v2 takes only files in `resources` (a directory needs `bases`): the manifests, all of them, by
        # name, at the top of deploy/
        self.assertEqual(k["resources"], [os.path.basename(p) for p in manifest_files()])
        for r in k["resources"]:
            self.assertTrue(os.path.isfile(os.path.join(DEPLOY, r)), r)
        # no commonLabels: kustomize writes them into selectors, and a Deployment's selector is immutable
        self.assertNotIn("commonLabels", k)

    def test_renders_exactly_the_manifests(self):
        """`apply -k` and the files agree: same objects, same content (the images entry only restates
        the tag the file pins)."""
        for k in self.kubectls:
            with self.subTest(kubectl=k):
                rendered = kustomize(k)
                files = [d for _, d in load_documents()]
                key = lambda d: (d["kind"], d["metadata"].get("namespace") or "", d["metadata"]["name"])
                self.assertEqual(sorted(map(key, rendered)), sorted(map(key, files)))
                by_key = {key(d): d for d in files}
                for d in rendered:
                    self.assertEqual(d, by_key[key(d)], "%s differs from its file once rendered" % (key(d),))
                self.assertEqual(rendered[0]["kind"], "Namespace")

    def test_every_object_has_the_recommended_labels(self):
        version = project_version()
        objects = list(self.rendered)
        with open(SERVICEMONITOR) as f:
            objects.append(yaml.safe_load(f))
        for d in objects:
            name = "%s/%s" % (d["kind"], d["metadata"]["name"])
            templates = [d["metadata"]]
            if d["kind"] == "Deployment":
                templates.append(d["spec"]["template"]["metadata"])
            for md in templates:
                labels = md.get("labels") or {}
                for l in RECOMMENDED_LABELS:
                    with self.subTest(object=name, label=l):
                        v = labels.get("app.kubernetes.io/" + l)
                        self.assertIsInstance(v, str)
                        self.assertRegex(v, r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
                self.assertEqual(labels["app.kubernetes.io/part-of"], "web", name)
                self.assertEqual(labels["app.kubernetes.io/managed-by"], "kustomize", name)
                if labels["app.kubernetes.io/name"] == "canaryd":
                    self.assertEqual(labels["app.kubernetes.io/version"], version, name)
        # the example workload's version label is its nginx release
        for d in (self.obj("Deployment", "nginx-v1"), self.obj("Deployment", "nginx-v2")):
            image = d["spec"]["template"]["spec"]["containers"][0]["image"]
            self.assertEqual(d["metadata"]["labels"]["app.kubernetes.io/version"], image.split(":")[1])

    def test_selectors_stay_as_existing_installs_have_them(self):
        """A Deployment's selector is immutable: the labels added by this release are on the objects and
        pods, never in a selector, so `kubectl apply -k` upgrades an install made from the earlier files."""
        self.assertEqual(self.obj("Deployment", "canaryd")["spec"]["selector"],
                         {"matchLabels": {"app.kubernetes.io/name": "canaryd"}})
        for v in ("v1", "v2"):
            self.assertEqual(self.obj("Deployment", "nginx-" + v)["spec"]["selector"],
                             {"matchLabels": {"name": "nginx", "version": v}})
        for svc in ("nginx-svc", "canaryd-control"):
            self.assertEqual(self.obj("Service", svc)["spec"]["selector"], {"app.kubernetes.io/name": "canaryd"})
        self.assertEqual(self.obj("NetworkPolicy", "canaryd")["spec"]["podSelector"],
                         {"matchLabels": {"app.kubernetes.io/name": "canaryd"}})

    def test_pod_disruption_budget(self):
        pdb = self.obj("PodDisruptionBudget", "canaryd")
        self.assertEqual(pdb["apiVersion"], "policy/v1")
        self.assertEqual(pdb["spec"]["minAvailable"], 1)
        self.assertNotIn("maxUnavailable", pdb["spec"])
        dep = self.obj("Deployment", "canaryd")
        self.assertGreater(dep["spec"]["replicas"], pdb["spec"]["minAvailable"], "a drain could never evict")
        self.assertEqual(pdb["spec"]["selector"], dep["spec"]["selector"])
        self.assertTrue(F.label_selector_matches(match_labels(pdb["spec"]["selector"]), self.canaryd_pod_labels()))
        for labels in self.nginx_pod_labels():
            self.assertFalse(F.label_selector_matches(match_labels(pdb["spec"]["selector"]), labels))

    def test_node_port_keeps_the_client_address(self):
        svc = self.obj("Service", "nginx-svc")
        self.assertEqual(svc["spec"]["type"], "NodePort")
        self.assertEqual(svc["spec"]["externalTrafficPolicy"], "Local")
        self.assertNotIn("externalTrafficPolicy", self.obj("Service", "canaryd-control")["spec"])

    def test_scrape_annotations(self):
        tmpl = self.obj("Deployment", "canaryd")["spec"]["template"]
        a = tmpl["metadata"]["annotations"]
        self.assertEqual(a["prometheus.io/scrape"], "true")
        self.assertEqual(a["prometheus.io/path"], "/metrics")
        [c] = [c for c in tmpl["spec"]["containers"] if c["name"] == "canaryd"]
        self.assertEqual(int(a["prometheus.io/port"]), container_port(c, "control"))
        # the port the config's control API listens on (where /metrics is served)
        cfg = yaml.safe_load(self.obj("ConfigMap", CONFIG_CM)["data"][CONFIG_KEY])
        self.assertEqual(int(a["prometheus.io/port"]), address_port(cfg["control"]["address"])[1])

    def test_image_tag_is_pinned_to_the_project_version(self):
        version = project_version()
        for d in self.rendered:
            if d["kind"] != "Deployment":
                continue
            for c in d["spec"]["template"]["spec"]["containers"]:
                with self.subTest(deployment=d["metadata"]["name"], container=c["name"]):
                    self.assertRegex(c["image"], r":[0-9A-Za-z._-]+$", "an image without a tag means latest")
                    self.assertFalse(c["image"].endswith(":latest"))
        [c] = self.obj("Deployment", "canaryd")["spec"]["template"]["spec"]["containers"]
        self.assertEqual(c["image"], "canaryd:" + version)
        self.assertEqual(self.kustomization["images"], [{"name": "canaryd", "newTag": version}])

    def test_service_monitor_is_outside_the_kustomization(self):
        self.assertNotIn("ServiceMonitor", {d["kind"] for d in self.rendered},
                         "a cluster without the Prometheus Operator could not apply -k deploy/")
        with open(SERVICEMONITOR) as f:
            [sm] = [d for d in yaml.safe_load_all(f) if d]
        self.assertEqual((sm["apiVersion"], sm["kind"]), ("monitoring.coreos.com/v1", "ServiceMonitor"))
        self.assertEqual(sm["metadata"]["namespace"], NS)
        self.assertEqual(sm["spec"]["namespaceSelector"], {"matchNames": [NS]})
        services = [d for d in self.rendered if d["kind"] == "Service"]
        selected = [s for s in services if F.label_selector_matches(match_labels(sm["spec"]["selector"]),
                                                                    s["metadata"].get("labels") or {})]
        self.assertEqual([s["metadata"]["name"] for s in selected], ["canaryd-control"])
        [endpoint] = sm["spec"]["endpoints"]
        self.assertEqual(endpoint["path"], "/metrics")
        [port] = [p for p in selected[0]["spec"]["ports"] if p.get("name") == endpoint["port"]]
        [c] = self.obj("Deployment", "canaryd")["spec"]["template"]["spec"]["containers"]
        self.assertEqual(container_port(c, port["targetPort"]), container_port(c, "control"))


class KubectlApply(unittest.TestCase):
    """kubectl (client-side apply) against the fake API server, which serves discovery for every
    kind in deploy/: kubectl maps and accepts every object, creates them, and a second apply after
    canaryd wrote its state leaves that state alone. (Offline validation is not possible: kubectl
    needs a server for the resource mapping, and the fake serves no OpenAPI, so --validate=false.)"""

    @classmethod
    def setUpClass(cls):
        cls.kubectls = _kubectls()
        if not cls.kubectls:
            if os.environ.get("CI"):
                raise AssertionError("no kubectl (set KUBECTL or install Debian's kubernetes-client)")
            raise unittest.SkipTest("no kubectl on PATH (install Debian's kubernetes-client, or set KUBECTL)")
        cls.pki = tempfile.mkdtemp(prefix="canaryd-kubectl-pki-")
        # HTTPS: kubectl sends no bearer token to a plain-HTTP server
        cls.certs = F.make_certs(cls.pki)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="canaryd-kubectl-apply-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start(self):
        api = F.FakeApiServer(tls=self.certs, tokens={"t"}, namespaces=("default",)).start()
        self.addCleanup(api.stop)
        kc = F.write_kubeconfig(os.path.join(self.dir, "kubeconfig-%d" % api.port), api.url, token="t",
                                ca_file=self.certs.ca_cert, namespace="default")
        return api, kc

    def kubectl(self, k, kc, *args, check=True):
        env = dict(os.environ, HOME=self.dir, KUBECONFIG=kc)
        cmd = [k, "--cache-dir", os.path.join(self.dir, "cache"), "--request-timeout", "20s"] + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        if check:
            self.assertEqual(r.returncode, 0, "%s\n%s\n%s" % (" ".join(cmd), r.stdout, r.stderr))
        return r

    def test_apply(self):
        """kubectl apply -k deploy/, on a cluster without the Prometheus Operator's CRDs (the fake serves
        none): the ServiceMonitor is not part of it."""
        want = sorted("%s/%s" % (d["kind"].lower(), d["metadata"]["name"]) for _, d in load_documents())
        for k in self.kubectls:
            with self.subTest(kubectl=k):
                api, kc = self.start()
                r = self.kubectl(k, kc, "apply", "--dry-run=client", "--validate=false", "-k", DEPLOY)
                self.assertEqual(len(r.stdout.strip().splitlines()), len(want), r.stdout)
                self.assertTrue(all(line.endswith("(dry run)") for line in r.stdout.strip().splitlines()))
                self.assertEqual(api.count(method="POST"), 0)
                r = self.kubectl(k, kc, "apply", "--validate=false", "-k", DEPLOY)
                self.assertEqual(sorted(l.split()[0].split(".")[0].split("/")[0] + "/" + l.split()[0].split("/")[1]
                                        for l in r.stdout.strip().splitlines()), want, r.stdout)
                self.assertTrue(all(l.endswith(" created") for l in r.stdout.strip().splitlines()), r.stdout)
                dep = api.get_object("deployments", "canaryd")
                self.assertEqual(dep["spec"]["template"]["spec"]["volumes"][1]["secret"]["defaultMode"], 0o440)
                # canaryd writes its state; applying the manifests again leaves it alone
                cm = api.configmap(STATE_CM)
                self.assertNotIn("data", cm)
                api.set_configmap(STATE_CM, {"state.json": '{"revision": 7}'})
                r = self.kubectl(k, kc, "apply", "--validate=false", "-k", DEPLOY)
                self.assertEqual(api.configmap(STATE_CM)["data"], {"state.json": '{"revision": 7}'})
                self.assertIn("configmap/%s unchanged" % STATE_CM, r.stdout)
                r = self.kubectl(k, kc, "get", "-k", DEPLOY, "-o", "name")
                self.assertEqual(len(r.stdout.split()), len(want))


def main():
    global BIN_DIR
    argv = sys.argv[1:]
    if "--bin-dir" in argv:
        i = argv.index("--bin-dir")
        BIN_DIR = os.path.abspath(argv[i + 1])
        del argv[i:i + 2]
    unittest.main(argv=[sys.argv[0]] + argv, verbosity=2)


if __name__ == "__main__":
    main()
