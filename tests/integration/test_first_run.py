"""A new user's first run: `canaryd --demo` prints commands that run as printed, `cmake --install` puts
both binaries in PREFIX/bin, the demo's build configures without the test tools, and `docker build .`
gets a build context without local build trees (.dockerignore).

The demo listens on its fixed ports 8080 and 9901, so this script runs itself in a network namespace of
its own (unshare -rn) where it can; elsewhere the demo tests need those ports free, and skip otherwise.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

import support

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_PORTS = (8080, 9901)
IN_NETNS_ENV = "CANARYD_FIRST_RUN_NETNS"


def run_in_private_network():
    """Re-runs this script under `unshare -rn` with loopback up, when that works here."""
    if os.environ.get(IN_NETNS_ENV) or not shutil.which("unshare") or not shutil.which("ip"):
        return
    probe = subprocess.run(["unshare", "-rn", "ip", "link", "set", "lo", "up"], capture_output=True)
    if probe.returncode != 0:
        return
    os.environ[IN_NETNS_ENV] = "1"
    sys.stdout.flush()
    os.execvp("unshare", ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
                          sys.executable, os.path.abspath(__file__)] + sys.argv[1:])


def path_without(directory):
    """$PATH without `directory`, so that the demo's hints name canaryctl by its path."""
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if p and os.path.realpath(p) != os.path.realpath(directory))


class Demo:
    """canaryd --demo started in `cwd`; its hints once it prints them."""

    def __init__(self, cwd, env):
        self.cwd, self.env = cwd, env
        self.lines = []
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([os.path.join(support.BIN_DIR, "canaryd"), "--demo"], cwd=cwd, env=env,
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def hints(self):
        support.wait_until(lambda: "stop with Ctrl-C" in self.lines or self.proc.poll() is not None,
                           timeout=20, message="the demo's hints")
        self.assert_running()
        return list(self.lines)

    def commands(self):
        """The lines to run: the ones indented by two spaces."""
        return [line[2:] for line in self.hints() if line.startswith("  ")]

    def run(self, command):
        return subprocess.run(["bash", "-c", "set -o pipefail; " + command], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=60)

    def assert_running(self):
        if self.proc.poll() is not None:
            raise AssertionError("canaryd --demo exited %s: %s" % (self.proc.returncode, self.stderr_text()))

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self.reader.join(timeout=5)
        report = support.sanitizer_report(self.stderr_text())
        if report:
            raise AssertionError("sanitizer report from canaryd --demo:\n" + report)
        return code


class DemoHintsTest(unittest.TestCase):
    def setUp(self):
        busy = [p for p in DEMO_PORTS if support.port_open(p)]
        if busy:
            self.skipTest("the demo's ports %s are in use (no private network namespace here)" % busy)
        self.env = dict(os.environ, PATH=path_without(support.BIN_DIR))

    def start(self, cwd):
        demo = Demo(cwd, self.env)
        self.addCleanup(lambda: demo.proc.poll() is None and demo.stop())
        return demo

    def run_every_hint(self, demo):
        commands = demo.commands()
        self.assertGreaterEqual(len(commands), 8, demo.lines)
        outputs = {}
        for command in commands:
            p = demo.run(command)
            self.assertEqual(p.returncode, 0, "%r failed (exit %d): %s%s" % (command, p.returncode, p.stdout, p.stderr))
            self.assertNotIn("not found", p.stderr, command)
            self.assertTrue(p.stdout.strip(), "%r printed nothing" % command)
            outputs[command] = p.stdout
        return outputs

    def test_hints_run_as_printed_from_the_checkout(self):
        # Like scripts/dev: started from the directory that holds the build tree, as ./BUILD/canaryd.
        cwd = os.path.dirname(support.BIN_DIR)
        demo = self.start(cwd)
        ctl = "./%s/canaryctl" % os.path.basename(support.BIN_DIR)
        commands = demo.commands()
        for verb in ("status", "weight 25", "history", "promote", "undo"):
            self.assertIn("%s %s" % (ctl, verb), commands)
        if os.path.exists(os.path.join(support.BIN_DIR, "CMakeCache.txt")):
            self.assertIn("cmake --install %s " % os.path.basename(support.BIN_DIR), "\n".join(demo.lines))
        outputs = self.run_every_hint(demo)
        self.assertIn("stable", outputs[commands[0]])
        self.assertIn("hello from v2", "".join(v for k, v in outputs.items() if "X-Canary: always" in k))
        self.assertIn("CANARY WEIGHT", outputs[ctl + " status"])
        self.assertIn("canaryd_requests_total", outputs[commands[-1]])
        self.assertEqual(demo.stop(), 0)

    def test_hints_from_elsewhere_name_canaryctl_by_its_absolute_path(self):
        cwd = tempfile.mkdtemp(prefix="canaryd-first-run-")
        self.addCleanup(shutil.rmtree, cwd, True)
        demo = self.start(cwd)
        ctl = shlex.quote(os.path.join(support.BIN_DIR, "canaryctl"))
        self.assertIn(ctl + " status", demo.commands())
        self.run_every_hint(demo)
        self.assertEqual(demo.stop(), 0)
        # The demo keeps its state in a temporary directory of its own: nothing lands where it ran.
        self.assertEqual(os.listdir(cwd), [])

    def test_hints_say_plain_canaryctl_when_path_finds_it(self):
        self.env["PATH"] = support.BIN_DIR + os.pathsep + self.env["PATH"]
        cwd = tempfile.mkdtemp(prefix="canaryd-first-run-")
        self.addCleanup(shutil.rmtree, cwd, True)
        demo = self.start(cwd)
        self.assertIn("canaryctl status", demo.commands())
        self.assertNotIn("cmake --install", "\n".join(demo.lines))
        self.run_every_hint(demo)
        self.assertEqual(demo.stop(), 0)


class InstallTest(unittest.TestCase):
    def test_cmake_install_puts_both_binaries_in_prefix_bin(self):
        if not os.path.exists(os.path.join(support.BIN_DIR, "CMakeCache.txt")):
            self.skipTest("%s is not a CMake build tree" % support.BIN_DIR)
        prefix = tempfile.mkdtemp(prefix="canaryd-install-")
        self.addCleanup(shutil.rmtree, prefix, True)
        p = subprocess.run(["cmake", "--install", support.BIN_DIR, "--prefix", prefix],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(sorted(os.listdir(prefix)), ["bin"])
        self.assertEqual(sorted(os.listdir(os.path.join(prefix, "bin"))), ["canaryctl", "canaryd"])
        for name in ("canaryd", "canaryctl"):
            v = support.checked_for_sanitizer_report(subprocess.run(
                [os.path.join(prefix, "bin", name), "--version"], capture_output=True, text=True, timeout=20))
            self.assertEqual(v.returncode, 0, v.stderr)
            self.assertTrue(v.stdout.startswith(name + " "), v.stdout)

    def test_the_default_prefix_is_usr_local(self):
        cache = os.path.join(support.BIN_DIR, "CMakeCache.txt")
        if not os.path.exists(cache):
            self.skipTest("%s is not a CMake build tree" % support.BIN_DIR)
        with open(os.path.join(support.BIN_DIR, "cmake_install.cmake")) as f:
            script = f.read()
        self.assertIn('set(CMAKE_INSTALL_PREFIX "/usr/local")', script)
        self.assertRegex(script, r'\$\{CMAKE_INSTALL_PREFIX\}/bin" TYPE EXECUTABLE FILES "[^"]*/canaryd"')


def shell_array(script, name):
    """The words of bash array NAME=(...) in `script`."""
    m = re.search(r"^%s=\(([^)]*)\)" % name, script, re.M)
    assert m, name
    return m.group(1).split()


class DemoBuildTest(unittest.TestCase):
    """What `scripts/dev demo` installs and builds: canaryd's needs only."""

    def setUp(self):
        with open(os.path.join(ROOT, "scripts", "dev")) as f:
            self.dev = f.read()

    def test_the_demo_installs_no_test_tool(self):
        demo = shell_array(self.dev, "DEMO_PACKAGES")
        for tool in ("clang-14", "llvm-14", "libclang-rt-14-dev", "wrk", "slowhttptest", "libgtest-dev",
                     "libbenchmark-dev", "nginx"):
            self.assertNotIn(tool, demo)
            self.assertIn(tool, shell_array(self.dev, "TEST_PACKAGES"))

    def test_the_image_builds_from_the_demo_packages(self):
        with open(os.path.join(ROOT, "Dockerfile")) as f:
            build_stage = f.read().split("\nFROM ")[1]   # [0]: the comment above the first FROM
        install = re.search(r"apt-get install -y --no-install-recommends\s*\\?\s*([^&]*)&&", build_stage)
        self.assertTrue(install, build_stage)
        image = install.group(1).replace("\\", " ").split()
        self.assertEqual(sorted(set(image) - set(shell_array(self.dev, "DEMO_PACKAGES"))), [])

    def test_the_image_compiles_as_every_other_build(self):
        # Release's -O3 makes GCC 12 report a -Wrestrict false positive, an error under -Werror.
        with open(os.path.join(ROOT, "Dockerfile")) as f:
            build_types = re.findall(r"-DCMAKE_BUILD_TYPE=(\w+)", f.read())
        self.assertEqual(build_types, ["RelWithDebInfo"])

    def test_configure_needs_no_googletest_benchmark_or_python_with_the_tests_off(self):
        build = tempfile.mkdtemp(prefix="canaryd-configure-")
        self.addCleanup(shutil.rmtree, build, True)
        args = ["cmake", "-S", ROOT, "-B", build, "-DCANARYD_TESTS=OFF", "-DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON",
                "-DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON", "-DCMAKE_DISABLE_FIND_PACKAGE_Python3=ON"]
        p = subprocess.run(args, capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            self.assertNotIn("GTest_DIR:", f.read())


def dockerignore_patterns():
    """The .dockerignore rules as (regex, excludes): Docker's syntax (Go filepath.Match per path element,
    ** across elements, ! re-includes, a leading / is the context root; the last matching rule wins)."""
    rules = []
    with open(os.path.join(ROOT, ".dockerignore")) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            excludes = not line.startswith("!")
            pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
            regex = ""
            i = 0
            while i < len(pattern):
                if pattern.startswith("**/", i):
                    regex, i = regex + "(.*/)?", i + 3
                elif pattern.startswith("**", i):
                    regex, i = regex + ".*", i + 2
                elif pattern[i] == "*":
                    regex, i = regex + "[^/]*", i + 1
                elif pattern[i] == "?":
                    regex, i = regex + "[^/]", i + 1
                else:
                    regex, i = regex + re.escape(pattern[i]), i + 1
            rules.append((re.compile("^" + regex + "$"), excludes))
    return rules


def in_context(path, rules):
    """Whether `path` (relative, with /) goes into the build context: a rule that matches the path or
    one of its parent directories decides."""
    parts = path.split("/")
    excluded = False
    for regex, excludes in rules:
        if any(regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            excluded = excludes
    return not excluded


class DockerContextTest(unittest.TestCase):
    def setUp(self):
        self.rules = dockerignore_patterns()

    def test_build_trees_and_git_stay_out(self):
        for path in ("build/CMakeCache.txt", "build/canaryd", "build-san/tests/proxy_tests", "build-tsan/x",
                     ".git", ".git/HEAD", "tests/integration/__pycache__/support.cpython-311.pyc",
                     "canaryd-state.json", "docs/canaryd-state.json.tmp.123.abc"):
            self.assertFalse(in_context(path, self.rules), path)

    def test_everything_the_image_build_reads_goes_in(self):
        tracked = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True, text=True)
        if tracked.returncode != 0:
            self.skipTest("not a git checkout: " + tracked.stderr)
        files = tracked.stdout.split()
        self.assertIn("CMakeLists.txt", files)
        left_out = [f for f in files if not in_context(f, self.rules)]
        self.assertEqual(left_out, [])
        with open(os.path.join(ROOT, "Dockerfile")) as f:
            copied = re.findall(r"^COPY (?!--from)(\S+)", f.read(), re.M)
        for src in copied:
            self.assertTrue(src == "." or in_context(src, self.rules), src)

    def test_docker_sends_the_same_context(self):
        """With a Docker daemon at hand: the context that `docker build` really gets (copied into an image
        FROM scratch, which needs no base image) is every tracked file and nothing from build trees."""
        if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
            self.skipTest("no Docker daemon")
        tag = "canaryd-context-test:%d" % os.getpid()
        p = subprocess.run(["docker", "build", "-q", "-t", tag, "-f", "-", ROOT], input="FROM scratch\nCOPY . /ctx/\n",
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.addCleanup(subprocess.run, ["docker", "rmi", "-f", tag], capture_output=True)
        container = subprocess.run(["docker", "create", tag, "/none"], capture_output=True, text=True, check=True)
        cid = container.stdout.strip()
        self.addCleanup(subprocess.run, ["docker", "rm", cid], capture_output=True)
        export = subprocess.run("docker export %s | tar -t" % cid, shell=True, capture_output=True, text=True, check=True)
        sent = {name[len("ctx/"):] for name in export.stdout.split() if name.startswith("ctx/") and not name.endswith("/")}
        self.assertFalse([f for f in sent if re.match(r"build[^/]*/|\.git(/|$)", f)])
        tracked = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True, text=True)
        if tracked.returncode == 0:
            self.assertEqual(sorted(set(tracked.stdout.split()) - sent), [])
        self.assertEqual(sorted(f for f in sent if not in_context(f, self.rules)), [])


if __name__ == "__main__":
    run_in_private_network()
    support.main()
