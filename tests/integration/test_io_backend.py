#!/usr/bin/env python3
"""The event backend (docs/io_uring.md): canaryd_io_backend_info names the one this build was configured
with (CANARYD_IO_URING in the build tree's CMakeCache.txt), and a kernel that refuses io_uring (a seccomp
filter here, as a container's profile would) stops the io_uring build at start with one line saying what
to do, while the default (epoll) build does not need io_uring at all and serves."""

import ctypes
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest  # noqa: E402

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
NR_IO_URING_SETUP = 425         # the same on x86-64 and on the generic table (arm64)


def built_with_io_uring():
    with open(os.path.join(support.BIN_DIR, "CMakeCache.txt")) as f:
        return any(line.strip() == "CANARYD_IO_URING:BOOL=ON" for line in f)


def refuse_io_uring():
    """preexec_fn: a seccomp filter that fails io_uring_setup with EPERM and allows everything else."""
    code = [(0x20, 0, 0, 0),                        # A = seccomp_data.nr
            (0x15, 0, 1, NR_IO_URING_SETUP),        # A == io_uring_setup ?
            (0x06, 0, 0, 0x00050000 | 1),           # return SECCOMP_RET_ERRNO | EPERM
            (0x06, 0, 0, 0x7fff0000)]               # return SECCOMP_RET_ALLOW
    program = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *c) for c in code))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    fprog = SockFprog(len(code), ctypes.addressof(program))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter")


class IoBackendTest(IntegrationTest):
    NGINX = True

    def setUp(self):
        super().setUp()
        if not os.path.exists(os.path.join(support.BIN_DIR, "CMakeCache.txt")):
            self.skipTest("%s is not a CMake build tree" % support.BIN_DIR)
        self.io_uring = built_with_io_uring()

    def test_the_metric_names_the_backend_of_the_build(self):
        d = self.canaryd()
        self.assertEqual(d.get("/").status, 200)
        m = d.metrics()
        self.assertEqual(m.types.get("canaryd_io_backend_info"), "gauge")
        self.assertEqual(m.find("canaryd_io_backend_info"),
                         [({"backend": "io_uring" if self.io_uring else "epoll"}, 1)])

    def test_a_kernel_that_refuses_io_uring(self):
        d = self.canaryd(start=False)
        if not self.io_uring:
            # The default build never asks for io_uring: it starts and serves under the same filter.
            d.start(preexec_fn=refuse_io_uring)
            self.assertEqual(d.get("/").status, 200)
            return
        d.start(wait=False, preexec_fn=refuse_io_uring)
        self.assertEqual(d.proc.wait(10), 1, d.log())
        lines = [line for line in d.log().splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("canaryd: "), lines[0])
        for words in ("io_uring", "Operation not permitted", "seccomp", "default (epoll) build"):
            self.assertIn(words, lines[0])
        self.assertFalse(support.port_open(d.listen))


if __name__ == "__main__":
    support.main()
