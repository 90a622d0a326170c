"""What every part of the benchmark shares: the loopback address, the descriptor limits, the
keep-alive timeout, the canary weight every proxy is given and its tolerance, log(), write() and the
parsing of a response head."""

import os
import sys


LOOPBACK = "127.0.0.1"
NOFILE = 131072                      # RLIMIT_NOFILE wanted for the harness and every process it starts
FD_LIMIT = NOFILE                    # what raise_nofile() obtained (the hard limit if it cannot be raised)
MAXCONN = 12000                      # HAProxy maxconn: the idle connections + 2000 (set in main)
CLK_TCK = os.sysconf("SC_CLK_TCK")
CANARY_WEIGHT = 10.0                 # percent, for every proxy
SPLIT_TOLERANCE = 1.0                # percentage points
KEEPALIVE = "300s"                   # idle keep-alive timeouts everywhere, well beyond a run
WILDCARD = "0.0.0.0"                 # upstreams of the endpoint-count scenarios: every 127.0.X.Y reaches them


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_head_fields(head):
    """A response head without its blank line: (status, fields), field names in lower case."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return status, fields


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path
