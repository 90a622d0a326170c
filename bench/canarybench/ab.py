"""What the A/B cost scripts share (affinity_cost.py, access_log_cost.py): canaryd's path from --bin-dir,
a work directory with the bodies, the two nginx upstreams, and the line comparing the medians of two
configs' req/s measured in interleaved rounds."""

import os
import statistics
import tempfile

from canarybench import common
from canarybench.environment import free_port, raise_nofile
from canarybench.peers import start_upstream, write_bodies

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def prepare(bin_dir, prefix):
    """(canaryd binary, work directory, html directory), with the descriptor limit raised."""
    bin_dir = bin_dir if os.path.isabs(bin_dir) else os.path.join(REPO, bin_dir)
    canaryd_bin = os.path.abspath(os.path.join(bin_dir, "canaryd"))
    common.FD_LIMIT = raise_nofile()
    base = tempfile.mkdtemp(prefix=prefix)
    os.chmod(base, 0o755)
    html = os.path.join(base, "html")
    write_bodies(html)
    return canaryd_bin, base, html


def start_upstreams(base, html, path="/612b"):
    """The v1 and v2 nginx upstreams, ready: ((port1, port2), servers to stop)."""
    ports, ups = (free_port(), free_port()), []
    try:
        for v, p in zip(("v1", "v2"), ports):
            ups.append(start_upstream(v, base, p, html))
            ups[-1].wait_ready(path)
    except BaseException:
        for u in ups:
            u.stop()
        raise
    return ports, ups


def compare(results, a, b, target):
    """The medians of `a` and `b` (lists of req/s per round), b / a per round and against `target`."""
    ma, mb = statistics.median(results[a]), statistics.median(results[b])
    per_round = ", ".join("%.3f" % (y / x) for x, y in zip(results[a], results[b]))
    return ("median req/s: %s %.0f, %s %.0f; %s / %s = %.3f (per round: %s); target >= %.2f: %s"
            % (a, ma, b, mb, b, a, mb / ma, per_round, target, "met" if mb / ma >= target else "not met"))
