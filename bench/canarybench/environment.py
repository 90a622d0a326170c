"""The machine the benchmark runs on: finding and installing nginx, HAProxy, wrk and h2load, raising
RLIMIT_NOFILE, describing the machine for the report, free ports and a one-shot HTTP GET."""

import collections
import datetime
import hashlib
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys

from . import common
from .common import LOOPBACK, log, parse_head_fields


def find_exe(name):
    path = shutil.which(name)
    if path:
        return path
    for d in ("/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


# Debian package -> the program the benchmark runs from it
TOOLS = collections.OrderedDict([("nginx", "nginx"), ("haproxy", "haproxy"), ("wrk", "wrk"), ("nghttp2-client", "h2load")])


def ensure_packages():
    """Installs nginx, haproxy, wrk and h2load (nghttp2-client) from Debian when one is missing."""
    missing = [pkg for pkg, exe in TOOLS.items() if not find_exe(exe)]
    if not missing:
        return
    prefix = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            sys.exit("bench: %s missing and not root (run as root, or apt-get install -y %s)"
                     % (", ".join(missing), " ".join(missing)))
        prefix = ["sudo", "-E"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log("bench: installing %s from Debian" % " ".join(missing))
    subprocess.run(prefix + ["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(prefix + ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing,
                   check=True, env=env)
    still = [pkg for pkg in missing if not find_exe(TOOLS[pkg])]
    if still:
        sys.exit("bench: still missing after apt-get: %s" % ", ".join(still))


def raise_nofile():
    """RLIMIT_NOFILE to NOFILE, or to the hard limit when that cannot be raised (no CAP_SYS_RESOURCE);
    returns the soft limit now in force."""
    wanted = common.NOFILE  # read now: run.py raises it for a large idle scenario
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard >= wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
        return wanted
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard


def first_line(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        out = p.stdout.decode(errors="replace").strip().splitlines()
        return out[0].strip() if out else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info(canaryd_bin):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return collections.OrderedDict([
        ("nproc", str(os.cpu_count())),
        ("cpu", cpu),
        ("memory", mem),
        ("kernel", platform.release()),
        ("os", first_line(["sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""])),
        ("canaryd", first_line([canaryd_bin, "--version"])),
        ("nginx", first_line([find_exe("nginx"), "-v"])),
        ("haproxy", first_line([find_exe("haproxy"), "-v"])),
        ("wrk", first_line([find_exe("wrk"), "--version"])),
        ("h2load", first_line([find_exe("h2load"), "--version"])),
        ("python", platform.python_version()),
    ])


def free_port(host=LOOPBACK):
    """A port free on `host` (WILDCARD: free on every address, as a wildcard listen needs)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=2.0):
    """One GET on a fresh connection; returns (status, headers dict lowercased, body)."""
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                   % (path, LOOPBACK, port)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, headers = parse_head_fields(head)
    return status, headers, body


def snapshot_binary(canaryd_bin, base, repo, name="canaryd"):
    """A copy of canaryd in `base` to measure, so that a rebuild during the benchmark does not change the
    binary half-way; returns (path to measure, its description for the report)."""
    build_info = "?"
    if os.path.exists(canaryd_bin):
        snap = os.path.join(base, name)
        shutil.copy2(canaryd_bin, snap)
        with open(snap, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        built = datetime.datetime.fromtimestamp(os.stat(snap).st_mtime, datetime.timezone.utc)
        build_info = "%s, built %s UTC, sha256 %s" % (os.path.relpath(canaryd_bin, repo),
                                                     built.strftime("%Y-%m-%d %H:%M"), digest)
        canaryd_bin = snap
    return canaryd_bin, build_info
