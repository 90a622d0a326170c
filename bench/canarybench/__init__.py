"""canaryd's benchmark harness, run by bench/run.py (the command line) and bench/callgrind.py.

By job: scenarios (what is measured), peers (the proxies, the upstream nginx and their configs),
load, idle and weight_changer (the measurements: wrk runs, idle connections, API calls during load),
procfs (CPU and RSS from /proc), runs (one run, its validity, the interleaved rounds), report (the
Markdown), environment (tools, limits, the machine) and common (what they all share)."""
