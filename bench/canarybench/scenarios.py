"""What the benchmark measures: the scenarios (load, body size, connections), the canaryd-only ones
and the A/B pairs they form with their target ratio."""

import collections


SMALL_SIZE = 612
LARGE_SIZE = 64 * 1024
WARMUP_S = 3                         # uncounted wrk run first: 1,000 endpoints start with empty keep-alive pools
WEIGHT_RATE = 100                    # weight changes per second in the -weights scenario
WEIGHT_VALUES = (9.99, 10.01)        # alternated: each call is a real change, the split check (10 +- 1) holds
TARGET_RATIOS = {"endpoints": 0.95,  # canaryd-only pairs: req/s of B / req/s of A at least this
                 "weights": 0.98}     # (issue 15: 100 weight changes/s cost under 2 %)

# name -> (description, path, body size, wrk connections, Connection: close, idle)
SCENARIOS = collections.OrderedDict([
    ("612b-c64", ("612 B, 64 connections", "/612b", SMALL_SIZE, 64, False, False)),
    ("612b-c64-ep4", ("612 B, 64 connections, canaryd only: 4 endpoints per set (warm-up first)", "/612b",
                      SMALL_SIZE, 64, False, False)),
    ("612b-c64-ep1000", ("612 B, 64 connections, canaryd only: 1,000 endpoints per set (warm-up first)",
                         "/612b", SMALL_SIZE, 64, False, False)),
    ("612b-c64-steady", ("612 B, 64 connections, canaryd only: the weight stays at 10 (baseline of -weights)",
                         "/612b", SMALL_SIZE, 64, False, False)),
    ("612b-c64-weights", ("612 B, 64 connections, canaryd only: %d PUT /api/weight per second (%g / %g) "
                          "during the run" % ((WEIGHT_RATE,) + WEIGHT_VALUES), "/612b", SMALL_SIZE, 64, False,
                          False)),
    ("612b-c512", ("612 B, 512 connections", "/612b", SMALL_SIZE, 512, False, False)),
    ("64k-c64", ("64 KiB, 64 connections", "/64k", LARGE_SIZE, 64, False, False)),
    ("close-c64", ("612 B, new connection per request (Connection: close), 64 connections", "/612b",
                   SMALL_SIZE, 64, True, False)),
    ("h2-612b-c8m8", ("HTTP/2 from the client: 612 B, 8 connections x 8 streams (h2load -c8 -m8)", "/612b",
                      SMALL_SIZE, 8, False, False)),
    ("h2-64k-c8m8", ("HTTP/2 from the client: 64 KiB, 8 connections x 8 streams (h2load -c8 -m8)", "/64k",
                     LARGE_SIZE, 8, False, False)),
    ("idle-10k", ("idle keep-alive client connections", "/612b", SMALL_SIZE, 0, False, True)),
])

# HTTP/2 scenarios: h2load speaks cleartext HTTP/2 (prior knowledge) to the proxy, which speaks HTTP/1.1 to
# the upstreams; streams per connection (h2load -m). No `direct` row: the upstream nginx speak HTTP/1.1 only.
H2_SCENARIOS = collections.OrderedDict([
    ("h2-612b-c8m8", 8),
    ("h2-64k-c8m8", 8),
])

# Scenarios only canaryd runs: what they vary. endpoints: per set (1: the usual 127.0.0.1 pair);
# warmup_s: an uncounted wrk run before the measured one; weight_rate: PUT /api/weight per second.
CanarydOnly = collections.namedtuple("CanarydOnly", "group endpoints warmup_s weight_rate")
CANARYD_ONLY = collections.OrderedDict([
    ("612b-c64-ep4", CanarydOnly("endpoints", 4, WARMUP_S, 0)),
    ("612b-c64-ep1000", CanarydOnly("endpoints", 1000, WARMUP_S, 0)),
    ("612b-c64-steady", CanarydOnly("weights", 1, 0, 0)),
    ("612b-c64-weights", CanarydOnly("weights", 1, 0, WEIGHT_RATE)),
])
# group -> (A, B): the target is req/s of B / req/s of A >= TARGET_RATIOS[group]
PAIRS = collections.OrderedDict([
    ("endpoints", ("612b-c64-ep4", "612b-c64-ep1000")),
    ("weights", ("612b-c64-steady", "612b-c64-weights")),
])


def proxies_of(sn, proxies):
    """The proxies a scenario runs on: the canaryd-only ones run canaryd alone (nothing without it), the
    HTTP/2 ones every proxy but `direct`."""
    if sn in CANARYD_ONLY:
        return ["canaryd"] if "canaryd" in proxies else []
    if sn in H2_SCENARIOS:
        return [p for p in proxies if p != "direct"]
    return proxies
