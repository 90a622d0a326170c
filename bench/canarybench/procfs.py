"""CPU and memory of processes read from /proc: a process's CPU seconds and RSS, the machine's busy
time, waiting for other processes to calm down, and CpuWatch (CPU used by processes outside a run)."""

import os
import resource
import time

from .common import CLK_TCK, log


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def proc_children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        pass
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return kids


def machine_busy_seconds():
    """CPU seconds all processes of the machine spent (user + nice + system, every core), /proc/stat."""
    with open("/proc/stat") as f:
        v = f.readline().split()
    return (int(v[1]) + int(v[2]) + int(v[3])) / CLK_TCK


def own_seconds():
    """CPU of the harness and of its reaped children (wrk)."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def top_processes(seconds=1.0, n=3):
    """[(cores, 'pid comm')] of the busiest processes over `seconds`."""
    def snap():
        out = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        head, tail = f.read().rsplit(")", 1)
                    fields = tail.split()
                    out[int(d)] = (head.split("(", 1)[1], int(fields[11]) + int(fields[12]))
                except (OSError, ValueError, IndexError):
                    pass
        return out
    a = snap()
    time.sleep(seconds)
    b = snap()
    busy = [((b[p][1] - a[p][1]) / CLK_TCK / seconds, "%d %s" % (p, b[p][0])) for p in b if p in a]
    return sorted(busy, reverse=True)[:n]


def wait_quiet(limit_cores, max_wait):
    """Waits (up to max_wait s) until processes other than the harness use less than limit_cores.
    Returns (seconds waited, busy cores at the end, busiest processes when it was not quiet)."""
    t0 = time.monotonic()
    logged = None
    while True:
        t1, b0, o0 = time.monotonic(), machine_busy_seconds(), own_seconds()
        top = top_processes(1.0)
        busy = (machine_busy_seconds() - b0 - (own_seconds() - o0)) / (time.monotonic() - t1)
        waited = time.monotonic() - t0
        if busy <= limit_cores or waited >= max_wait:
            return waited, busy, logged
        if logged is None:
            logged = ", ".join("%s %.2f" % (name, c) for c, name in top)
            log("bench:     machine busy (%.2f cores: %s); waiting up to %.0f s" % (busy, logged, max_wait))


class CpuWatch:
    """CPU used on the machine during a measurement by processes that are not part of it."""

    def __init__(self, servers):
        self.servers = servers
        self.t0 = time.monotonic()
        self.machine0 = machine_busy_seconds()
        self.own0 = own_seconds()
        self.srv0 = [self._cpu(s) for s in servers]

    @staticmethod
    def _cpu(s):
        try:
            return s.cpu()
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        wall = time.monotonic() - self.t0
        machine = machine_busy_seconds() - self.machine0
        ours = own_seconds() - self.own0
        for s, c0 in zip(self.servers, self.srv0):
            c1 = self._cpu(s)
            if c0 is not None and c1 is not None:
                ours += c1 - c0
        return {"machine_cores": machine / wall, "ours_cores": ours / wall,
                "foreign_cores": max(0.0, machine - ours) / wall}
