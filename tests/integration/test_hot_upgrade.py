#!/usr/bin/env python3
"""Restarts and upgrades (contract section 10): a port another process holds is a start-up error that
binds and writes nothing; SIGUSR2 hands the listening sockets to the binary at canaryd's own path and
the old process drains and exits 0, or keeps serving when the new binary cannot start; systemd socket
activation (LISTEN_FDS) and readiness notification (NOTIFY_SOCKET)."""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import LOOPBACK, IntegrationTest, http_request, wait_until  # noqa: E402

# Sets LISTEN_PID to its own pid (which canaryd keeps across exec) and moves the given descriptors to 3, 4,
# ... as systemd does, then becomes canaryd.
SYSTEMD_WRAPPER = r"""
import fcntl, os, sys
fds = [int(x) for x in sys.argv[1].split(",")]
high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds]   # out of the way of 3, 4, ...
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i, inheritable=True)
os.environ["LISTEN_FDS"] = str(len(fds))
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDNAMES"] = ":".join("s%d" % i for i in range(len(fds)))
os.execv(sys.argv[2], sys.argv[2:])
"""


def start(d, argv=None, env=None, pass_fds=()):
    """Starts canaryd `d` like support.Canaryd.start, with a command line (default: d.bin -c CONFIG),
    extra environment and descriptors of our choice."""
    stamp = time.time_ns()
    d.log_path = os.path.join(d.workdir, "%s-%d.stderr.log" % (d.name, stamp))
    d.out_path = os.path.join(d.workdir, "%s-%d.stdout.log" % (d.name, stamp))
    full_env = dict(os.environ)
    full_env.update(env or {})
    with open(d.log_path, "wb") as err, open(d.out_path, "wb") as out:
        d.proc = subprocess.Popen(argv or [d.bin, "-c", d.config], stdout=out, stderr=err, env=full_env,
                                  pass_fds=pass_fds)
    return d


def listening_socket(port=0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((LOOPBACK, port))
    s.listen(128)
    return s


class NotifySocket:
    """systemd's side of sd_notify: a unix datagram socket whose path goes to NOTIFY_SOCKET."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify-%d.sock" % time.time_ns())
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def receive(self, timeout=10.0):
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def close(self):
        self.sock.close()
        os.unlink(self.path)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is gone for our purposes.
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


class PortHeldTest(IntegrationTest):
    NGINX = True

    def assert_refused(self, d, field, port):
        code = d.wait_exit(10)
        lines = [line for line in d.log().splitlines() if line.strip()]
        self.assertEqual(code, 1, d.log())
        self.assertEqual(len(lines), 1, "expected one line on stderr, got %r" % lines)
        self.assertIn(d.config + ": " + field + ": ", lines[0])
        self.assertIn(":%d" % port, lines[0])
        self.assertIn("in use", lines[0])
        self.assertFalse(os.path.exists(d.state_file), "the refused canaryd wrote a state file")

    def assert_all_served_by(self, first):
        before = int(first.metrics().value("canaryd_requests_total"))
        for _ in range(40):
            self.assertEqual(first.get("/").status, 200)
        # A worker counts a request after its last byte is written, so the client can see the response
        # before the count does: wait for the count, then check that nothing more arrived.
        served = lambda: int(first.metrics().value("canaryd_requests_total")) - before
        wait_until(lambda: served() >= 40, timeout=5, message="40 requests counted by the first canaryd")
        self.assertEqual(served(), 40, "some requests went to another process")

    def test_second_canaryd_on_the_data_port(self):
        a = self.canaryd("a")
        b = self.canaryd("b", start=False, listen_port=a.listen)
        b.start(wait=False)
        self.assert_refused(b, "listen[0].address", a.listen)
        self.assert_all_served_by(a)

    def test_second_canaryd_on_the_control_port(self):
        a = self.canaryd("a2")
        b = self.canaryd("b2", start=False, control_port=a.control)
        b.start(wait=False)
        self.assert_refused(b, "control.address", a.control)
        self.assertFalse(support.port_open(b.listen), "the refused canaryd bound its data port")
        self.assert_all_served_by(a)

    def test_wildcard_holder(self):
        """Another process on 0.0.0.0:P holds 127.0.0.1:P too."""
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # SO_REUSEPORT does not let canaryd join
        s.bind(("0.0.0.0", 0))
        s.listen()
        self.addCleanup(s.close)
        port = s.getsockname()[1]
        b = self.canaryd("b3", start=False, listen_port=port)
        b.start(wait=False)
        self.assert_refused(b, "listen[0].address", port)


class HotUpgradeTest(IntegrationTest):
    NGINX = True

    def successor_pid(self, d, after=0):
        d.wait_log(r"hot upgrade: the new canaryd \(pid \d+\) serves", 20, after)
        pid = int(re.findall(r"hot upgrade: the new canaryd \(pid (\d+)\) serves", d.log()[after:])[0])
        self.addCleanup(lambda: alive(pid) and os.kill(pid, signal.SIGKILL))
        return pid

    def test_upgrade_keeps_ports_and_state(self):
        notify = NotifySocket(self.work.path)
        self.addCleanup(notify.close)
        d = self.canaryd("up", start=False, token="secret")
        start(d, env={"NOTIFY_SOCKET": notify.path})
        d.wait_ready()
        self.assertEqual(notify.receive(), "READY=1")
        s, _ = d.api("PUT", "/api/weight", {"canary_weight": 37.5, "cause": "before the upgrade"})
        self.assertEqual(s, 200)
        before = d.status()
        # A keep-alive client busy across the upgrade: every request is answered.
        errors, served, stop = [], [0], threading.Event()

        def busy():
            # http.client opens a new connection after a response with Connection: close.
            conn = http.client.HTTPConnection(LOOPBACK, d.listen, timeout=10)
            while not stop.is_set():
                try:
                    r = http_request(d.listen, "GET", "/", conn=conn)
                    if r.status != 200:
                        errors.append(r.status)
                    served[0] += 1
                except Exception as e:  # noqa: BLE001 - counted
                    errors.append(repr(e))
                    conn.close()
            conn.close()
        t = threading.Thread(target=busy, daemon=True)
        t.start()
        self.addCleanup(stop.set)

        d.send_signal(signal.SIGUSR2)
        pid = self.successor_pid(d)
        self.assertNotEqual(pid, d.pid)
        self.assertEqual(notify.receive(), "MAINPID=%d\nREADY=1" % pid)
        self.assertEqual(d.wait_exit(15), 0, d.log())
        self.assertTrue(alive(pid))
        stop.set()
        t.join(10)
        self.assertEqual(errors, [], "requests failed across the upgrade")
        self.assertGreater(served[0], 0)
        # The successor serves both ports, with the state and token of its predecessor.
        self.assertEqual(http_request(d.control, "GET", "/healthz").status, 200)
        self.assertEqual(d.get("/").status, 200)
        after = d.status()
        self.assertEqual((after["revision"], after["canary_weight"]), (before["revision"], before["canary_weight"]))
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 5}, token="wrong")[0], 401)
        s, _ = d.api("PUT", "/api/weight", {"canary_weight": 5, "cause": "after the upgrade"})
        self.assertEqual(s, 200)
        log = d.log()
        self.assertIn("serving on the listening sockets passed by the previous canaryd", log)

        # The successor upgrades in turn (nothing of the first handover is left in its environment).
        offset = len(d.log())
        os.kill(pid, signal.SIGUSR2)
        third = self.successor_pid(d, offset)   # the successor logs to the same stderr
        wait_until(lambda: not alive(pid), 15, message="the second process to exit")
        self.assertTrue(alive(third))
        self.assertEqual(d.status()["canary_weight"], 5)
        os.kill(third, signal.SIGTERM)
        wait_until(lambda: not alive(third), 15, message="the third process to stop")

    def test_upgrade_applies_a_new_listen_address(self):
        """Listen addresses take a restart; the upgrade is one: the new process binds the new address and
        closes the socket of the one the config no longer has."""
        d = self.canaryd("moved")
        old_port = d.listen
        d.listen = support.free_port()
        d.write_config()
        d.send_signal(signal.SIGUSR2)
        pid = self.successor_pid(d)
        self.assertEqual(d.wait_exit(15), 0, d.log())
        self.assertIn("closing the socket on 127.0.0.1:%d passed by the previous canaryd: no longer in %s"
                      % (old_port, d.config), d.log())
        self.assertEqual(d.get("/").status, 200)
        self.assertFalse(support.port_open(old_port))
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not alive(pid), 15, message="the successor to stop")

    def test_new_binary_killed_by_a_signal(self):
        d, exe = self.copied_binary("killed", "#!/bin/sh\nkill -9 $$\n")
        d.send_signal(signal.SIGUSR2)
        d.wait_log(r"hot upgrade failed: " + re.escape(exe) + r" \(pid \d+\): it was killed by signal 9 \(SIGKILL\); "
                   r"this canaryd keeps serving", 15)
        self.assertEqual(d.api("PUT", "/api/weight", {"canary_weight": 3, "cause": "after"})[0], 200)
        self.assertEqual(d.get("/").status, 200)
        self.assertEqual(d.stop(), 0)

    def test_pid_1_refuses(self):
        """As a container's init, canaryd's exit would end its successor too."""
        if subprocess.run(["unshare", "--pid", "--fork", "true"], capture_output=True).returncode != 0:
            self.skipTest("cannot create a PID namespace here")
        d = self.canaryd("pid1", start=False)
        start(d, argv=["unshare", "--pid", "--fork", "--kill-child", d.bin, "-c", d.config])
        d.wait_ready()
        wait_until(lambda: any(open("/proc/%d/task/%d/children" % (d.pid, d.pid)).read().split()), 5,
                   message="canaryd under unshare")
        inner = int(open("/proc/%d/task/%d/children" % (d.pid, d.pid)).read().split()[0])
        os.kill(inner, signal.SIGUSR2)
        d.wait_log(r"SIGUSR2 ignored: canaryd is PID 1")
        self.assertEqual(d.get("/").status, 200)
        os.kill(inner, signal.SIGTERM)
        self.assertEqual(d.wait_exit(15), 0)

    def copied_binary(self, name, replacement):
        """canaryd started from a copy of the binary, which is then replaced, as a package upgrade does,
        by a script with the text `replacement`."""
        bindir = os.path.join(self.work.path, "bin-%d" % time.time_ns())
        os.mkdir(bindir)
        exe = os.path.join(bindir, "canaryd")
        shutil.copy2(os.path.join(support.BIN_DIR, "canaryd"), exe)
        d = self.canaryd(name, start=False)
        d.bin = exe
        d.start()
        tmp = exe + ".new"
        with open(tmp, "w") as f:
            f.write(replacement)
        os.chmod(tmp, 0o755)
        os.replace(tmp, exe)
        return d, exe

    def test_new_binary_that_cannot_start(self):
        flag = os.path.join(self.work.path, "go-%d" % time.time_ns())
        # Fails once the test lets it go on.
        d, exe = self.copied_binary("broken", "#!/bin/sh\nwhile [ ! -e %s ]; do sleep 0.02; done\n"
                                              "echo 'broken build' >&2\nexit 3\n" % flag)

        d.send_signal(signal.SIGUSR2)
        d.wait_log(r"SIGUSR2: hot upgrade: pausing the control port and starting " + re.escape(exe))
        # While the new binary starts, the data port serves and a second SIGUSR2 is ignored; a control
        # call waits in the control socket's queue.
        offset = len(d.log())
        d.send_signal(signal.SIGUSR2)
        d.wait_log(r"SIGUSR2 ignored: a hot upgrade is in progress", 10, offset)
        self.assertEqual(d.get("/").status, 200)
        result = {}

        def call():
            result["put"] = d.api("PUT", "/api/weight", {"canary_weight": 20, "cause": "during the upgrade"})
        caller = threading.Thread(target=call, daemon=True)
        caller.start()
        caller.join(0.3)
        self.assertTrue(caller.is_alive(), "the control port answered while paused: %r" % result)

        open(flag, "w").close()
        d.wait_log(r"hot upgrade failed: " + re.escape(exe) + r" \(pid \d+\): it exited with status 3; "
                   r"this canaryd keeps serving", 15)
        caller.join(10)
        self.assertEqual(result.get("put", (None,))[0], 200, result)
        self.assertTrue(d.alive())
        self.assertIn("broken build", d.log())
        self.assertEqual(d.status()["canary_weight"], 20)
        for _ in range(20):
            self.assertEqual(d.get("/").status, 200)
        self.assertEqual(d.stop(), 0)


class SocketActivationTest(IntegrationTest):
    NGINX = True

    def activated(self, name, sockets, env=None):
        d = self.canaryd(name, start=False, listen_port=sockets[0].getsockname()[1],
                         control_port=sockets[1].getsockname()[1] if len(sockets) > 1 else None)
        fds = [s.fileno() for s in sockets]
        argv = [sys.executable, "-c", SYSTEMD_WRAPPER, ",".join(map(str, fds)), d.bin, "-c", d.config]
        return start(d, argv=argv, env=env, pass_fds=fds)

    def test_listen_fds_and_notify(self):
        data, control = listening_socket(), listening_socket()
        notify = NotifySocket(self.work.path)
        self.addCleanup(notify.close)
        d = self.activated("activated", [data, control], env={"NOTIFY_SOCKET": notify.path})
        # Ours closed: the sockets live on in canaryd only, and still accept.
        data.close()
        control.close()
        d.wait_ready()
        self.assertEqual(notify.receive(), "READY=1")
        for _ in range(10):
            self.assertEqual(d.get("/").status, 200)
        self.assertIn("serving on the listening sockets passed by systemd (LISTEN_FDS)", d.log())
        # The variables are not passed on: a hot upgrade's successor takes the sockets from canaryd.
        with open("/proc/%d/environ" % d.pid, "rb") as f:
            self.assertIn(b"LISTEN_FDS=", f.read())   # the initial environment, as exec gave it
        d.send_signal(signal.SIGUSR2)
        pid = HotUpgradeTest.successor_pid(self, d)
        with open("/proc/%d/environ" % pid, "rb") as f:
            self.assertNotIn(b"LISTEN_FDS=", f.read())
        self.assertEqual(d.wait_exit(15), 0)
        self.assertEqual(d.get("/").status, 200)
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not alive(pid), 15, message="the successor to stop")

    @unittest.skipUnless(shutil.which("systemd-socket-activate"), "needs systemd-socket-activate")
    def test_systemd_socket_activate(self):
        """systemd's own tool binds the addresses and passes them (and LISTEN_FDNAMES) as systemd does."""
        d = self.canaryd("sd-activate", start=False)
        argv = ["systemd-socket-activate", "-l", "%s:%d" % (LOOPBACK, d.listen), "-l", "%s:%d" % (LOOPBACK, d.control),
                "--fdname=http:control", d.bin, "-c", d.config]
        start(d, argv=argv)
        d.wait_ready()
        self.assertEqual(d.get("/").status, 200)
        self.assertIn("passed by systemd (LISTEN_FDS)", d.log())
        self.assertEqual(d.stop(), 0)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "needs systemd-analyze")
    def test_unit_files_verify(self):
        here = os.path.dirname(os.path.abspath(__file__))
        deploy = os.path.join(here, "..", "..", "deploy")
        unit_dir = os.path.join(self.work.path, "units-%d" % time.time_ns())
        os.mkdir(unit_dir)
        for name in ("canaryd.service", "canaryd.socket"):
            with open(os.path.join(deploy, name)) as f:
                text = f.read()
            with open(os.path.join(unit_dir, name), "w") as f:
                f.write(text.replace("/usr/local/bin/canaryd", os.path.join(support.BIN_DIR, "canaryd")))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", "canaryd.service", "canaryd.socket"],
                           cwd=unit_dir, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(deploy, "canaryd.service")) as f:
            unit = f.read()
        for line in ("Type=notify", "NotifyAccess=all", "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM"):
            self.assertIn("\n" + line + "\n", unit)
        # Above the default timeouts.drain (30 s): systemd must not kill a draining canaryd.
        self.assertGreater(int(re.search(r"\nTimeoutStopSec=(\d+)\n", unit).group(1)), 30)

    def test_unmatched_socket_is_an_error(self):
        data, control, stray = listening_socket(), listening_socket(), listening_socket()
        for s in (data, control, stray):
            self.addCleanup(s.close)
        d = self.activated("stray", [data, control, stray])
        self.assertEqual(d.wait_exit(10), 1, d.log())
        lines = [line for line in d.log().splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(d.config + ": listen: 127.0.0.1:%d: " % stray.getsockname()[1], lines[0])
        self.assertIn("systemd", lines[0])


if __name__ == "__main__":
    support.main()
