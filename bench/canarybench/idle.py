"""The idle scenario: opens N keep-alive client connections (one request each, then held open) and
reports the proxy's RSS growth per connection."""

import collections
import select
import selectors
import socket
import time

from .common import LOOPBACK


def parse_head(buf):
    """(status, content_length, version) once the header is complete, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    cl, version = 0, None
    for line in lines[1:]:
        k, _, v = line.partition(":")
        k = k.strip().lower()
        if k == "content-length":
            cl = int(v.strip())
        elif k == "x-version":
            version = v.strip()
    return status, end + 4, cl, version


# Connections per client source address: below the ~28,000 ephemeral ports of Linux's default
# net.ipv4.ip_local_port_range (32768-60999) towards one server address and port.
PER_SOURCE = 25000
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def source_address(i, n):
    """The address the i-th of n client sockets binds to, or None (the kernel's choice, 127.0.0.1):
    more connections than one source address has ports take 127.0.0.2, 127.0.0.3, ... in turn (all of
    127.0.0.0/8 is loopback on Linux)."""
    if n <= PER_SOURCE:
        return None
    return "127.0.0.%d" % (2 + i // PER_SOURCE)


def open_idle(port, n, path, size, concurrency=256, timeout=None):
    """Opens n keep-alive connections, each sends one GET and reads the whole response, then stays
    open. Returns (open sockets, version counter, error counter, seconds)."""
    if timeout is None:
        timeout = max(120.0, n / 500.0)
    request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: canaryd-bench\r\n\r\n"
               % (path, LOOPBACK, port)).encode()
    sel = selectors.DefaultSelector()
    done, versions, errors = [], collections.Counter(), collections.Counter()
    started, active = 0, 0
    t0 = time.monotonic()
    deadline = t0 + timeout

    def fail(s, kind):
        nonlocal active
        errors[kind] += 1
        sel.unregister(s)
        s.close()
        active -= 1

    while started < n or active:
        while started < n and active < concurrency:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            src = source_address(started, n)
            if src is not None:
                # The port is chosen at connect, for the whole 4-tuple, not reserved by bind.
                s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                s.bind((src, 0))
            rc = s.connect_ex((LOOPBACK, port))
            started += 1
            if rc not in (0, 115):          # EINPROGRESS
                errors["connect"] += 1
                s.close()
                continue
            sel.register(s, selectors.EVENT_WRITE, {"stage": "connect", "buf": b""})
            active += 1
        if time.monotonic() > deadline:
            for key in list(sel.get_map().values()):
                fail(key.fileobj, "timeout")
            break
        for key, _ in sel.select(1.0):
            s, st = key.fileobj, key.data
            if st["stage"] == "connect":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(s, "connect")
                    continue
                try:
                    s.send(request)         # small: goes out whole on a fresh socket
                except OSError:
                    fail(s, "write")
                    continue
                st["stage"] = "read"
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            try:
                chunk = s.recv(131072)
            except OSError:
                fail(s, "read")
                continue
            if not chunk:
                fail(s, "closed")
                continue
            st["buf"] += chunk
            head = parse_head(st["buf"])
            if head is None:
                continue
            status, body_at, cl, version = head
            if len(st["buf"]) < body_at + cl:
                continue
            sel.unregister(s)
            active -= 1
            if status != 200:
                errors["non2xx"] += 1
            if cl != size or len(st["buf"]) != body_at + cl:
                errors["badlen"] += 1
            if version in ("v1", "v2"):
                versions[version] += 1
            else:
                errors["nover"] += 1
            done.append(s)
    sel.close()
    return done, versions, errors, time.monotonic() - t0


def closed_count(socks):
    """Connections the server closed (or that became readable) while they should be idle."""
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLIN | select.POLLRDHUP | select.POLLERR | select.POLLHUP)
    return len(p.poll(0))


def measure_idle(srv, workdir, sc, n, hold):
    _, path, size, _, _, _ = sc
    r = collections.OrderedDict()
    r["problems"] = []
    time.sleep(0.3)
    rss0 = srv.rss_kib()
    socks, versions, errors, secs = open_idle(srv.port, n, path, size)
    try:
        time.sleep(hold)
        alive = srv.alive()
        rss1 = srv.rss_kib() if alive else None
        hwm = srv.hwm_kib() if alive else None
        closed = closed_count(socks)
    finally:
        for s in socks:
            s.close()
    r["connections"] = len(socks)
    r["open_s"] = secs
    r["rss_before_kib"] = rss0
    r["rss_after_kib"] = rss1
    r["rss_per_conn_kib"] = (rss1 - rss0) / n if rss1 is not None else None
    r["peak_rss_kib"] = hwm
    r["v1"], r["v2"] = versions["v1"], versions["v2"]
    r["v2_share"] = 100.0 * versions["v2"] / (versions["v1"] + versions["v2"]) if socks else None
    r["errors"] = collections.OrderedDict((k, v) for k, v in errors.items() if v)
    if closed:
        r["errors"]["closed_while_idle"] = closed
    if not alive:
        r["errors"]["proxy_died"] = 1
        r["problems"].append("%s died during the run (exit %s); log tail:\n%s"
                             % (srv.name, srv.proc.poll(), srv.log_tail()))
    return r
