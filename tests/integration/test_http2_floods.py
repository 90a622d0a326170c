#!/usr/bin/env python3
"""HTTP/2 floods are cut off (contract section 9): rapid reset (CVE-2023-44487), CONTINUATION flood (2024),
HPACK bombs, SETTINGS and PING floods, and more streams than limits.h2_max_concurrent_streams. Each is
ended with GOAWAY (or, where the flooder never reads, with the connection closed) after a bounded amount
of its frames; canaryd stays up, serves the next client at once, and its RSS stays bounded. A client that
resets a few streams, pings at a normal rate and sends many streams within the limit is NOT cut off.

The flooders write frames by hand (h2client.RawH2); the well-behaved client is python3-h2. One canaryd
(cleartext HTTP/2 listener, h2_max_concurrent_streams 8) serves the whole file; each test measures its
own RSS growth."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from h2client import (CODES, CONTINUATION, DATA, ENABLE_PUSH, END_HEADERS, END_STREAM, GOAWAY, HEADERS,  # noqa: E402
                      MAX_CONCURRENT_STREAMS, RST_STREAM, H2Client, RawH2, frame,
                      ping_frame, request_fields, rst_frame, settings_frame)

MAX_STREAMS = 8                      # limits.h2_max_concurrent_streams of the canaryd under test
MAX_HEADER_BYTES = 16384             # limits.max_header_bytes (the default, written out)
RSS_GROWTH_MIB = 32                  # VmRSS growth allowed over one flood (release build)
RSS_GROWTH_SAN_MIB = 160             # the same under ASan: its quarantine keeps freed memory (256 MiB at most)


class FloodSender(threading.Thread):
    """Sends `chunks` (an iterable of bytes) until it ends, the server closes or resets the connection,
    or a send stays blocked for `stall` seconds (the server stopped reading). Counts what it sent."""

    def __init__(self, conn, chunks, stall=2.0):
        super().__init__(daemon=True)
        self.conn, self.chunks, self.stall = conn, chunks, stall
        self.sent_chunks = 0
        self.outcome = None          # "finished", "closed" (reset, broken pipe) or "stalled"

    def run(self):
        self.conn.sock.settimeout(self.stall)
        try:
            for chunk in self.chunks:
                self.conn.sock.sendall(chunk)
                self.sent_chunks += 1
            self.outcome = "finished"
        except (ConnectionResetError, BrokenPipeError):
            self.outcome = "closed"
        except (TimeoutError, OSError):
            self.outcome = "stalled"


class Http2FloodTest(support.IntegrationTest):
    NGINX = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.d = support.Canaryd(cls.work.path, "floods", [(p, "v1") for p in cls.v1] + [(p, "v2") for p in cls.v2],
                                    limits={"h2_max_concurrent_streams": MAX_STREAMS,
                                            "max_header_bytes": MAX_HEADER_BYTES},
                                    timeouts={"drain": "1s"}, http2=True)
            cls.d.start()
        except Exception:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self._canaryds.append(self.d)         # its log tail is printed when a test fails
        self.assertTrue(self.d.alive(), "canaryd is not running:\n" + self.d.log()[-3000:])
        self.rss_before = self.d.proc_status("VmRSS")

    def raw(self, **kw):
        c = RawH2(self.d.listen, **kw)
        self.addCleanup(c.close)
        return c

    # ------------------------------------------------------------ what every flood test checks after it

    def assert_serves_others_and_rss_bounded(self, what):
        self.assertTrue(self.d.alive(), "canaryd died during the %s:\n%s" % (what, self.d.log()[-3000:]))
        t = time.monotonic()
        r = support.http_request(self.d.listen, "GET", "/", timeout=3)
        self.assertEqual(r.status, 200, "HTTP/1.1 client after the %s: %r" % (what, r))
        c = H2Client(self.d.listen, timeout=3)
        try:
            h = c.get("/")
        finally:
            c.close()
        self.assertEqual(h.status, 200, "HTTP/2 client after the %s: %r" % (what, h.headers))
        took = time.monotonic() - t
        grown = (self.d.proc_status("VmRSS") - self.rss_before) / 1024.0
        limit = RSS_GROWTH_SAN_MIB if support.sanitizers() else RSS_GROWTH_MIB
        print("\n    %s: RSS grew %.1f MiB; next HTTP/1.1 and HTTP/2 clients served in %.2f s" % (what, grown, took),
              flush=True)
        self.assertLess(grown, limit, "%s: canaryd's RSS grew %.1f MiB (limit %d MiB)" % (what, grown, limit))

    def assert_goaway(self, c, codes, what):
        self.assertIsNotNone(c.goaway, "%s: no GOAWAY (connection %s)" % (
            what, "closed without one" if c.closed_by_peer else "still open"))
        last, code, debug = c.goaway.goaway()
        self.assertIn(code, codes, "%s: GOAWAY with %s (%r), expected one of %s" % (what, code, debug, codes))
        return last

    def read_until_goaway_or_close(self, c, timeout=10.0):
        """Frames until GOAWAY, then on to the close (a GOAWAY may let streams finish first)."""
        frames = []
        try:
            while True:
                f = c.read_frame(timeout)
                if f is None:
                    return frames
                frames.append(f)
                if f.type == GOAWAY:
                    timeout = 5.0      # the close is due now
        except TimeoutError:
            return frames

    # ------------------------------------------------------------ the floods

    def test_rapid_reset_is_cut_off_with_goaway(self):
        # CVE-2023-44487: HEADERS then RST_STREAM at once, thousands, never more than one stream open.
        total = 10000
        c = self.raw()
        c.start()
        block = plain_block(request_fields("/"))
        pairs = (frame(HEADERS, END_STREAM | END_HEADERS, 2 * i + 1, block) + rst_frame(2 * i + 1)
                 for i in range(total))
        batches = (b"".join(p for _, p in zip(range(100), pairs)) for _ in range(total // 100))
        sender = FloodSender(c, batches)
        sender.start()
        self.read_until_goaway_or_close(c)
        sender.join(10)
        # libnghttp2's own reset limit answers INTERNAL_ERROR; ENHANCE_YOUR_CALM says it better
        last = self.assert_goaway(c, ("ENHANCE_YOUR_CALM", "INTERNAL_ERROR"), "rapid reset")
        print("\n    rapid reset: GOAWAY %s after stream %d of %d (%d pairs sent)" % (
            c.goaway.goaway()[1], last, 2 * total - 1, sender.sent_chunks * 100))
        self.assertLess(last, 2 * 2500, "the reset streams were not cut off within 2,500 streams")
        self.assert_serves_others_and_rss_bounded("rapid reset")

    def test_continuation_flood_is_cut_off_with_goaway(self):
        # 2024: HEADERS without END_HEADERS, then CONTINUATION frames that never end the block; each
        # carries one small header, so a server that only counts bytes or only frames is caught either way.
        # The flooder would go on forever; it gives up after 2,000 frames, in batches of 16, each followed by
        # a look (50 ms at most) for what the server answered: the cut-off must come before that.
        give_up = 2000
        c = self.raw()
        c.start()
        c.send(frame(HEADERS, END_STREAM, 1, plain_block(request_fields("/"))))
        batch = frame(CONTINUATION, 0, 1, b"\x00\x01x\x011") * 16    # literal, not indexed: "x: 1"
        sent = 0
        while sent < give_up and c.goaway is None and not c.closed_by_peer:
            if not c.send_unless_closed(batch):
                break                      # reset or closed by the server
            sent += 16
            while c.goaway is None and c.readable_within(0.05):
                if c.read_frame(1.0) is None:
                    break                  # closed
        self.read_until_goaway_or_close(c)
        self.assert_goaway(c, ("ENHANCE_YOUR_CALM", "PROTOCOL_ERROR", "COMPRESSION_ERROR"), "CONTINUATION flood")
        print("\n    CONTINUATION flood: GOAWAY %s after at most %d CONTINUATION frames" % (c.goaway.goaway()[1], sent))
        self.assertLess(sent, give_up, "the CONTINUATION frames were not cut off within %d" % give_up)
        self.assert_serves_others_and_rss_bounded("CONTINUATION flood")

    def test_hpack_bomb_is_cut_off_with_goaway(self):
        # One 4,000-byte header into the dynamic table, then referenced with one byte each: 11,000
        # references decode to 44 MB per HEADERS frame of 15 KB; 20 such streams would be 880 MB.
        c = self.raw()
        c.start()
        value = "a" * 4000
        fields = request_fields("/")
        first = plain_block(fields) + b"\x40" + hpack_string(b"x-bomb") + hpack_string(value.encode())
        refs = b"\xbe" * 11000             # indexed field 62: the newest dynamic table entry
        frames = [frame(HEADERS, END_STREAM | END_HEADERS, 1, first + refs)]
        for i in range(1, 20):
            frames.append(frame(HEADERS, END_STREAM | END_HEADERS, 2 * i + 1, plain_block(fields) + refs))
        sender = FloodSender(c, iter(frames))
        sender.start()
        got = self.read_until_goaway_or_close(c)
        sender.join(10)
        statuses = [f for f in got if f.type == HEADERS]
        self.assert_goaway(c, ("ENHANCE_YOUR_CALM", "COMPRESSION_ERROR", "PROTOCOL_ERROR"), "HPACK bomb")
        for f in statuses:   # a response to a bomb stream may only refuse it
            status = dict(c.decode(f)).get(":status")
            self.assertIn(status, ("431", "400"), "a bomb stream got a %s response" % status)
        self.assert_serves_others_and_rss_bounded("HPACK bomb")

    def test_decoded_header_list_over_max_header_bytes_is_refused(self):
        # A 1,000-byte header in the dynamic table referenced 20 times: 1.1 KB on the wire, 21 KB decoded,
        # over limits.max_header_bytes (16 KiB). Refused (431 as over HTTP/1.1, or the stream or connection
        # reset), never forwarded; the next request is served.
        c = self.raw()
        c.start()
        fields = request_fields("/headers")
        block = (plain_block(fields) + b"\x40" + hpack_string(b"x-big") + hpack_string(b"b" * 1000)
                 + b"\xbe" * 20)
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, block))
        f = c.read_until(lambda f: f.stream_id in (0, 1) and f.type in (HEADERS, RST_STREAM, GOAWAY))
        self.assertIsNotNone(f, "the connection closed without an answer to the oversized header list")
        if f.type == HEADERS:
            self.assertEqual(dict(c.decode(f)).get(":status"), "431", "the oversized header list was not refused")
        elif f.type == RST_STREAM:
            self.assertIn(f.error_name(), ("PROTOCOL_ERROR", "REFUSED_STREAM", "ENHANCE_YOUR_CALM", "INTERNAL_ERROR"))
        else:
            self.assertIn(f.goaway()[1], ("ENHANCE_YOUR_CALM", "COMPRESSION_ERROR", "PROTOCOL_ERROR"))
        print("\n    21 KB decoded header list: %s" % (
            "status 431" if f.type == HEADERS else "RST_STREAM %s" % f.error_name() if f.type == RST_STREAM
            else "GOAWAY %s" % f.goaway()[1]))
        self.assert_serves_others_and_rss_bounded("oversized header list")

    def test_settings_with_too_many_entries_is_cut_off_with_goaway(self):
        c = self.raw()
        c.start()
        c.send(settings_frame([(ENABLE_PUSH, 0)] * 1000))
        self.read_until_goaway_or_close(c)
        self.assert_goaway(c, ("ENHANCE_YOUR_CALM",), "SETTINGS with 1,000 entries")
        self.assert_serves_others_and_rss_bounded("SETTINGS with 1,000 entries")

    def flood_never_reading(self, one, what, total=400000):
        """Sends `one` (a frame the server must ACK) `total` times in batches while never reading the
        ACKs, from a client with a 4 KiB receive buffer: the ACKs pile up at the server until it cuts the
        connection off. Then reads what the server sent before it closed."""
        c = self.raw(rcvbuf=4096)
        c.start()
        sender = FloodSender(c, iter([one * 1000] * (total // 1000)))
        sender.start()
        sender.join(60)
        self.assertFalse(sender.is_alive(), "%s: the sender did not end" % what)
        # the ACKs sent before the cut, perhaps a GOAWAY, then the close
        try:
            frames = c.read_to_end(timeout=10.0)
        except TimeoutError:
            frames = None
        print("\n    %s: sender %s after %d frames; the server %s" % (
            what, sender.outcome, sender.sent_chunks * 1000,
            "kept the connection open" if frames is None else "closed the connection"))
        self.assertIsNotNone(frames, "%s: the server never closed the flooding connection (sender %s after %d "
                                     "frames)" % (what, sender.outcome, sender.sent_chunks * 1000))
        self.assertNotEqual(sender.outcome, "finished",
                            "%s: all %d frames were taken without a cut-off" % (what, total))
        if c.goaway is not None:
            self.assert_goaway(c, ("ENHANCE_YOUR_CALM",), what)
        self.assert_serves_others_and_rss_bounded(what)

    def test_settings_flood_is_cut_off(self):
        self.flood_never_reading(settings_frame([(ENABLE_PUSH, 0)]), "SETTINGS flood")

    def test_ping_flood_is_cut_off(self):
        self.flood_never_reading(ping_frame(7), "PING flood")

    def test_more_streams_than_the_limit_are_refused(self):
        # RFC 9113 5.1.2: a HEADERS past the advertised SETTINGS_MAX_CONCURRENT_STREAMS is a stream error
        # (REFUSED_STREAM) or a connection error (PROTOCOL_ERROR).
        c = self.raw()
        settings = c.start()
        self.assertEqual(settings.get(MAX_CONCURRENT_STREAMS), MAX_STREAMS,
                         "SETTINGS_MAX_CONCURRENT_STREAMS advertised: %s" % settings)
        post = request_fields("/", "POST", extra=[("content-length", "1")])
        for i in range(MAX_STREAMS):       # open: the body never comes (no END_STREAM)
            c.send(c.headers_frame(2 * i + 1, post, end_stream=False))
        extra = 2 * MAX_STREAMS + 1
        c.send(c.headers_frame(extra, request_fields("/"), end_stream=True))
        f = c.read_until(lambda f: (f.type == RST_STREAM and f.stream_id == extra) or f.type == GOAWAY)
        self.assertIsNotNone(f, "the connection closed without refusing stream %d" % extra)
        if f.type == RST_STREAM:
            self.assertIn(f.error_name(), ("REFUSED_STREAM", "PROTOCOL_ERROR"))
            # the streams within the limit still work: their bodies end them
            for i in range(MAX_STREAMS):
                c.send(frame(DATA, END_STREAM, 2 * i + 1, b"x"))
            done = set()
            while len(done) < MAX_STREAMS:
                g = c.read_until(lambda g: g.type == HEADERS and g.stream_id < extra)
                self.assertIsNotNone(g, "the connection closed with streams %s unanswered" % (
                    sorted(set(range(1, extra, 2)) - done)))
                self.assertEqual(dict(c.decode(g)).get(":status"), "200")
                done.add(g.stream_id)
            outcome = "RST_STREAM %s; the %d streams within the limit answered 200" % (f.error_name(), MAX_STREAMS)
        else:
            last, code, _ = f.goaway()
            self.assertEqual(code, "PROTOCOL_ERROR")
            self.assertLess(last, extra, "GOAWAY's last stream id %d admits the stream past the limit" % last)
            outcome = "GOAWAY PROTOCOL_ERROR, last stream %d" % last
        print("\n    stream %d past the limit of %d: %s" % (extra, MAX_STREAMS, outcome))
        self.assert_serves_others_and_rss_bounded("stream limit")

    # ------------------------------------------------------------ the negative

    def test_well_behaved_client_is_not_cut_off(self):
        # 400 streams (8 at a time, the limit), a RST_STREAM now and then (6), a PING per batch (50) and a
        # few SETTINGS changes: all normal; no GOAWAY, every stream answered, the connection stays open.
        c = H2Client(self.d.listen)
        self.addCleanup(c.close)
        self.assertTrue(c.wait(lambda: c.conn.remote_settings.max_concurrent_streams == MAX_STREAMS))
        answered = resets = 0
        for batch in range(50):
            sids = [c.request("/") for _ in range(MAX_STREAMS)]
            if batch % 8 == 3:
                c.conn.reset_stream(sids[-1], error_code=CODES["CANCEL"])
                c.flush()
                sids.pop()
                resets += 1
            c.conn.ping(b"%08d" % batch)
            if batch % 20 == 10:
                c.conn.update_settings({ENABLE_PUSH: 0})
            c.flush()
            self.assertTrue(c.wait(lambda: all(c.done(s) for s in sids) and c.pings_acked == batch + 1),
                            "the connection closed in batch %d (GOAWAY %s)" % (batch, c.goaway))
            for s in sids:
                r = c.responses.pop(s)
                self.assertEqual((r.status, r.reset), (200, None), "stream %d: %r" % (s, r.headers))
                answered += 1
            for s in [s for s in c.responses if c.done(s)]:
                c.responses.pop(s)          # the cancelled ones (the server may answer before the reset)
        self.assertIsNone(c.goaway, "the well-behaved client got a GOAWAY")
        self.assertEqual(c.get("/").status, 200)
        print("\n    well-behaved: %d streams answered, %d reset, %d pings acknowledged, no GOAWAY" % (
            answered + 1, resets, c.pings_acked))
        self.assert_serves_others_and_rss_bounded("well-behaved client")


def plain_block(fields):
    """A header block of literals without indexing (RFC 7541 6.2.2): it leaves the server's dynamic
    table as it was, so a hand-made entry keeps its index."""
    return b"".join(b"\x00" + hpack_string(k.encode()) + hpack_string(v.encode()) for k, v in fields)


def hpack_string(raw):
    """An HPACK string literal without Huffman coding (RFC 7541 5.2)."""
    return hpack_int(len(raw), 7, 0) + raw


def hpack_int(value, prefix_bits, first):
    """An HPACK integer (RFC 7541 5.1) with `first` holding the bits above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


if __name__ == "__main__":
    support.main()
