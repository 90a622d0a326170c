"""Where the processes of a run may execute (--threads, --pin): the proxy on its own cores and wrk/h2load,
the upstream nginx and the harness on the others, when the machine has a core to spare beyond the
proxy's; otherwise nothing is pinned. The decision is made once and written in the report."""

import os


class Placement:
    """proxy_cores / other_cores: CPU sets for sched_setaffinity, or None (inherit: nothing pinned)."""

    def __init__(self, threads=1, pin=False, cores=None):
        self.threads = threads
        self.cores = sorted(cores if cores is not None else os.sched_getaffinity(0))
        self.asked = pin
        self.proxy_cores = self.other_cores = None
        # The proxy's N threads get N cores only when at least one is left for the load generator and the
        # upstreams; sharing a core between the proxy and them would measure the scheduler, not the proxy.
        if pin and len(self.cores) > threads:
            self.proxy_cores = set(self.cores[:threads])
            self.other_cores = set(self.cores[threads:])

    @property
    def pinned(self):
        return self.proxy_cores is not None

    def cores_of(self, role):
        """role "proxy" (the proxy under test, with its children) or "other" (wrk, h2load, upstreams)."""
        if not self.pinned:
            return None
        return self.proxy_cores if role == "proxy" else self.other_cores

    def apply(self, role):
        """In a child before exec (preexec_fn), or in the harness itself: bind to the role's cores."""
        cores = self.cores_of(role)
        if cores:
            os.sched_setaffinity(0, cores)

    def text(self):
        """The report's sentence on pinning (unchanged from before --pin existed when it is not given)."""
        n = len(self.cores)
        if not self.asked:
            return "Nothing is pinned: the %d cores are shared by wrk, the proxy and the two upstream nginx." % n
        if not self.pinned:
            return ("`--pin` was given, but with %d thread(s) for the proxy on %d core(s) no core is left for wrk "
                    "and the upstreams: nothing is pinned, and the %d cores are shared by wrk, the proxy and the "
                    "two upstream nginx." % (self.threads, n, n))
        return ("Pinned with sched_setaffinity (as `taskset -c`): the proxy under test (every thread and process "
                "of it) on core(s) %s; wrk/h2load, the two upstream nginx and the harness on core(s) %s. In "
                "`direct` the v1 nginx is the measured process and stays on %s."
                % (cpu_list(self.proxy_cores), cpu_list(self.other_cores), cpu_list(self.other_cores)))


def cpu_list(cores):
    return ",".join(str(c) for c in sorted(cores))


# The run's placement, set once by bench/run.py; the default pins nothing (other scripts reuse the peers).
CURRENT = Placement()
