#!/usr/bin/env python3
"""HTTP/1.1 framing on raw sockets: malformed requests get 400 (431, 408, 413, 505) and the connection
is closed (client_header counted from the connect for the first request); bodiless responses; Expect:
100-continue; chunked request bodies re-framed, and a malformed chunk after part of a body went upstream;
pipelining (contract section 3; RFC 9112)."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import IntegrationTest, parse_echo, serve_body_digest, status_of  # noqa: E402

GET_HEAD = b"GET / HTTP/1.1\r\nHost: test\r\n"


def post(headers, body=b""):
    return b"POST /upload HTTP/1.1\r\nHost: test\r\n" + headers + b"\r\n" + body


def trickle(c, pieces, interval):
    """Sends `pieces` one every `interval` seconds until canaryd answers; returns the answer (or b"")."""
    c.sock.settimeout(interval)
    for piece in pieces:
        try:
            c.sock.send(piece)
        except OSError:
            break
        try:
            reply = c.sock.recv(4096)
            if reply:
                return reply
        except socket.timeout:
            pass  # nothing yet; the recv timeout is the trickle interval
        except OSError:
            break
    return b""


class RejectTest(IntegrationTest):
    """Every rejection answers with its status and then closes the connection."""

    NGINX = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d = support.Canaryd(cls.work.path, "reject", [(p, "v1") for p in cls.v1] + [(p, "v2") for p in cls.v2],
                                limits={"max_header_bytes": 4096, "max_body_bytes": 1000},
                                timeouts={"client_header": "1s"})
        try:
            cls.d.start()
        except Exception:
            cls.d.stop(support.signal.SIGKILL)
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.stop(support.signal.SIGKILL, 5)
        super().tearDownClass()

    def assert_rejected(self, data, code, what):
        c = self.raw(self.d.listen)
        c.send(data)
        reply, closed = c.read_until_close(5)
        self.assertEqual(status_of(reply), code, "%s: got %r" % (what, reply[:120]))
        self.assertTrue(closed, "%s: the connection stayed open after %d" % (what, code))
        # the server is still fine
        self.assertEqual(self.d.get("/").status, 200)
        return reply

    def test_good_request_passes(self):
        c = self.raw(self.d.listen)
        c.send(GET_HEAD + b"\r\n")
        self.assertEqual(c.read_response().status, 200)

    def test_garbage_request_line(self):
        self.assert_rejected(b"GARBAGE\r\n\r\n", 400, "garbage")
        self.assert_rejected(b"GET /\r\nHost: test\r\n\r\n", 400, "request line without version")
        self.assert_rejected(b"GET / HTTP/1.1 extra\r\nHost: test\r\n\r\n", 400, "four-part request line")

    def test_content_length_with_transfer_encoding(self):
        self.assert_rejected(post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 400,
                             "CL + TE")
        self.assert_rejected(post(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"), 400,
                             "TE + CL")

    def test_transfer_encoding_other_than_chunked(self):
        for te in (b"gzip", b"chunked, chunked", b"xchunked", b"identity"):
            self.assert_rejected(post(b"Transfer-Encoding: " + te + b"\r\n", b"0\r\n\r\n"), 400, "TE: %r" % te)
        self.assert_rejected(post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
                             400, "two TE: chunked lines")

    def test_malformed_content_length(self):
        for cl in (b"+5", b"-1", b"0x10", b"", b"5, 5", b"abc", b"5 5", b"1e3"):
            self.assert_rejected(post(b"Content-Length: " + cl + b"\r\n", b"hello"), 400, "Content-Length: %r" % cl)

    def test_differing_duplicate_content_length(self):
        self.assert_rejected(post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"), 400, "CL 5 and 6")

    def test_obs_fold(self):
        self.assert_rejected(GET_HEAD + b"X-A: one\r\n two\r\n\r\n", 400, "obs-fold with space")
        self.assert_rejected(GET_HEAD + b"X-A: one\r\n\ttwo\r\n\r\n", 400, "obs-fold with tab")

    def test_control_characters_in_a_value(self):
        self.assert_rejected(GET_HEAD + b"X-A: a\rb\r\n\r\n", 400, "CR in a value")
        self.assert_rejected(GET_HEAD + b"X-A: a\nb: c\r\n\r\n", 400, "LF in a value")
        self.assert_rejected(GET_HEAD + b"X-A: a\x00b\r\n\r\n", 400, "NUL in a value")

    def test_bad_header_names(self):
        self.assert_rejected(GET_HEAD + b"X A: b\r\n\r\n", 400, "space in a name")
        self.assert_rejected(GET_HEAD + b"X-A : b\r\n\r\n", 400, "space before the colon")
        self.assert_rejected(GET_HEAD + b": b\r\n\r\n", 400, "empty name")

    def test_bare_lf_line_endings(self):
        self.assert_rejected(b"GET / HTTP/1.1\nHost: test\n\n", 400, "bare LF everywhere")
        self.assert_rejected(b"GET / HTTP/1.1\r\nHost: test\nX-A: b\r\n\r\n", 400, "one bare LF")

    def test_host_header(self):
        self.assert_rejected(b"GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host")
        self.assert_rejected(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Host fields")

    def test_http10_request_without_host_is_served(self):
        # HTTP/1.0 needs no Host; forwarded to nginx, the request must still be valid there (an
        # HTTP/1.1 request line without Host is a 400 at nginx).
        c = self.raw(self.d.listen)
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200, "HTTP/1.0 GET without Host through canaryd to nginx: %r" % r)
        self.assertTrue(c.closed_within(3), "HTTP/1.0 without keep-alive: the connection is closed after")

    def test_unsupported_http_version(self):
        self.assert_rejected(b"GET / HTTP/2.0\r\nHost: test\r\n\r\n", 505, "HTTP/2.0")
        self.assert_rejected(b"GET / HTTP/3.0\r\nHost: test\r\n\r\n", 505, "HTTP/3.0")

    def test_header_over_the_limit_is_431(self):
        self.assert_rejected(GET_HEAD + b"X-Big: " + b"a" * 5000 + b"\r\n\r\n", 431, "a 5000-byte header")
        many = b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 40) for i in range(200))
        self.assert_rejected(GET_HEAD + many + b"\r\n", 431, "200 fields of 50 bytes")
        # just under the limit passes
        c = self.raw(self.d.listen)
        c.send(GET_HEAD + b"X-Big: " + b"a" * 3000 + b"\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)

    def test_header_not_complete_within_client_header_is_408(self):
        c = self.raw(self.d.listen)
        t = time.monotonic()
        c.send(GET_HEAD)  # no empty line: the header section never ends
        reply, closed = c.read_until_close(5)
        took = time.monotonic() - t
        self.assertEqual(status_of(reply), 408, "a partial header got %r" % reply[:100])
        self.assertTrue(closed, "the connection stayed open after 408")
        self.assertTrue(0.8 <= took <= 3.0, "408 after %.2f s with client_header 1s" % took)

    def test_trickled_header_still_hits_the_deadline(self):
        # One field every 0.2 s: each read makes progress, but the whole section is late.
        c = self.raw(self.d.listen)
        t = time.monotonic()
        c.send(GET_HEAD)
        reply = trickle(c, [b"X-Slow-%d: 1\r\n" % i for i in range(20)], 0.2)
        took = time.monotonic() - t
        self.assertEqual(status_of(reply), 408, "a trickled header got %r after %.1f s" % (reply[:100], took))
        self.assertLess(took, 3.0)
        _, closed = c.read_until_close(3)
        self.assertTrue(closed)

    def test_first_header_counts_from_the_connection(self):
        # client_header is 1s. A client that opens the connection, waits 0.7 s, then sends half a header
        # and the rest 0.6 s later completes it 1.3 s after connecting: late. (Counted from the first
        # byte, as before, it was on time: 0.6 s.) The waits are the client behaviour under test.
        c = self.raw(self.d.listen)
        time.sleep(0.7)
        c.send(GET_HEAD[:10])
        time.sleep(0.6)
        try:
            c.send(GET_HEAD[10:] + b"\r\n")
        except OSError:
            pass  # canaryd may have answered and closed already
        reply, closed = c.read_until_close(5)
        self.assertEqual(status_of(reply), 408, "a first header completed 1.3 s after the connect got %r" % reply[:100])
        self.assertTrue(closed, "the connection stayed open after 408")

    def test_first_header_trickled_after_a_wait_gets_408_at_client_header_after_the_connect(self):
        # Silent for 0.8 s, then a byte every 0.1 s: the 408 is due at 1 s after the connect; counted from
        # the first byte it came at 1.8 s.
        c = self.raw(self.d.listen)
        connected = time.monotonic()
        time.sleep(0.8)
        reply = trickle(c, [GET_HEAD[i:i + 1] for i in range(len(GET_HEAD))], 0.1)
        took = time.monotonic() - connected
        self.assertEqual(status_of(reply), 408, "a trickled header got %r after %.1f s" % (reply[:100], took))
        self.assertLess(took, 1.6, "408 %.2f s after the connect with client_header 1s" % took)
        _, closed = c.read_until_close(3)
        self.assertTrue(closed)

    def test_keepalive_header_counts_from_its_first_byte(self):
        # After the first response, a later request's header is due within client_header of its own
        # first byte: 0.7 s idle, then a header spread over 0.6 s is on time.
        c = self.raw(self.d.listen)
        c.send(GET_HEAD + b"\r\n")
        self.assertEqual(c.read_response().status, 200)
        time.sleep(0.7)
        c.send(GET_HEAD[:10])
        time.sleep(0.6)
        c.send(GET_HEAD[10:] + b"\r\n")
        self.assertEqual(c.read_response().status, 200)

    def test_body_over_the_limit_is_413(self):
        self.assert_rejected(post(b"Content-Length: 1001\r\n", b"x" * 1001), 413, "CL 1001 over 1000")
        self.assert_rejected(post(b"Content-Length: 100000000\r\n"), 413, "CL 100 MB, no body sent")

    def test_body_at_the_limit_passes(self):
        c = self.raw(self.d.listen)
        c.send(post(b"Content-Length: 1000\r\n", b"x" * 1000))
        self.assertEqual(c.read_response().status, 200)

    def test_bad_chunk_size_is_400(self):
        self.assert_rejected(post(b"Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n0\r\n\r\n"), 400,
                             "chunk size zz")
        self.assert_rejected(post(b"Transfer-Encoding: chunked\r\n", b"-5\r\nhello\r\n0\r\n\r\n"), 400,
                             "chunk size -5")
        self.assert_rejected(post(b"Transfer-Encoding: chunked\r\n", b"5\r\nhelloXX0\r\n\r\n"), 400,
                             "chunk data without CRLF")

    def test_trailer_section_or_chunk_line_over_the_header_limit_is_431(self):
        # Beast would buffer either without bound; canaryd bounds both by limits.max_header_bytes.
        self.assert_rejected(post(b"Transfer-Encoding: chunked\r\n",
                                  b"3\r\nabc\r\n0\r\n" + b"X-Trailer: " + b"t" * 20000 + b"\r\n\r\n"), 431,
                             "a 20 kB trailer section")
        self.assert_rejected(post(b"Transfer-Encoding: chunked\r\n",
                                  b"3;ext=" + b"e" * 20000 + b"\r\nabc\r\n0\r\n\r\n"), 431,
                             "a 20 kB chunk extension")

    def test_trailer_section_within_the_limit_passes(self):
        c = self.raw(self.d.listen)
        c.send(post(b"Transfer-Encoding: chunked\r\n",
                    b"3\r\nabc\r\n0\r\n" + b"X-Trailer: " + b"t" * 2000 + b"\r\n\r\n"))
        self.assertEqual(c.read_response().status, 200)
        c.send(GET_HEAD + b"\r\n")
        self.assertEqual(c.read_response().status, 200, "the connection was not usable after the trailer")


class ChunkedLimitTest(IntegrationTest):
    def test_chunked_body_over_the_limit_is_413(self):
        # The upstream answers only after the whole body; canaryd must stop at the limit.
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, limits={"max_body_bytes": 1000})
        c = self.raw(d.listen)
        c.send(post(b"Transfer-Encoding: chunked\r\n", b"200\r\n" + b"x" * 512 + b"\r\n" + b"200\r\n" + b"y" * 512
                    + b"\r\n0\r\n\r\n"))
        reply, closed = c.read_until_close(5)
        self.assertEqual(status_of(reply), 413, "a 1024-byte chunked body over 1000 got %r" % reply[:100])
        self.assertTrue(closed)


def recording_upstream(log, lock, events):
    """A handler that never answers: it records every byte that arrives, and "eof" when canaryd closes."""
    def handler(conn, up):
        while True:
            data = conn.sock.recv(65536)
            with lock:
                if not data:
                    events.append("eof")
                    return
                log.append(data)
    return handler


class ChunkedMidStreamTest(IntegrationTest):
    def test_malformed_chunk_after_part_of_the_body_went_upstream(self):
        # The first chunk is relayed as soon as it arrives; a later one is malformed. No byte of a
        # response has gone out, so the client still gets a 400 and a close (the old relay forwarded
        # some of these as valid, and waited forever on a bare LF ending the last chunk), and the
        # upstream connection, which saw part of a request, is closed rather than pooled.
        log, lock, events = [], threading.Lock(), []
        up = self.raw_upstream(recording_upstream(log, lock, events))
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)

        def received():
            with lock:
                return b"".join(log)
        tails = ((b"5\nworld\r\n0\r\n\r\n", b"bare LF in chunk line"),
                 (b"5;x=\"\x7f\"\r\nworld\r\n0\r\n\r\n", b"control character in chunk extension"),
                 (b"5\r\nworld\r\n0\r\nX-T: a\r\n b\r\n\r\n", b"invalid trailer field"),
                 (b"5\r\nworld!!\r\n0\r\n\r\n", b"chunk data not followed by CRLF"))
        for i, (tail, why) in enumerate(tails):
            with self.subTest(tail=tail):
                first = b"first" + bytes([97 + i])  # no digit: a last chunk is looked for below
                c = self.raw(d.listen)
                c.send(post(b"Transfer-Encoding: chunked\r\n", b"%x\r\n%s\r\n" % (len(first), first)))
                support.wait_until(lambda: first + b"\r\n" in received(), message="the first chunk at the upstream")
                c.send(tail)
                reply, closed = c.read_until_close(5)
                self.assertEqual(status_of(reply), 400, "%r after a relayed chunk got %r" % (tail, reply[:100]))
                self.assertIn(why, reply)
                self.assertTrue(closed, "the connection stayed open after 400")
                support.wait_until(lambda: events.count("eof") == i + 1,
                                   message="canaryd to close the upstream connection")
        self.assertNotIn(b"0\r\n\r\n", received(), "the upstream saw a complete body")
        self.assertEqual(up.connections, len(tails), "an upstream connection was reused")


class BodilessResponseTest(IntegrationTest):
    NGINX = True

    def test_head_204_304_carry_no_body(self):
        d = self.canaryd()
        c = self.raw(d.listen)
        # Pipelined: if canaryd emitted any body bytes after a bodiless response, the next status
        # line would not follow right after it.
        c.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"
               b"GET /status/204 HTTP/1.1\r\nHost: t\r\n\r\n"
               b"GET /status/304 HTTP/1.1\r\nHost: t\r\n\r\n"
               b"GET /marker HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data, closed = c.read_until_close(5)
        self.assertTrue(closed, data)
        parts = data.split(b"\r\n\r\n")
        self.assertTrue(parts[0].startswith(b"HTTP/1.1 200 "), parts[0])
        self.assertIn(b"content-length: ", parts[0].lower(), "HEAD keeps the Content-Length of the GET")
        self.assertTrue(parts[1].startswith(b"HTTP/1.1 204 "), parts[1])
        self.assertNotIn(b"transfer-encoding", parts[1].lower())
        self.assertTrue(parts[2].startswith(b"HTTP/1.1 304 "), parts[2])
        self.assertNotIn(b"transfer-encoding", parts[2].lower())
        self.assertTrue(parts[3].startswith(b"HTTP/1.1 200 "), parts[3])
        self.assertEqual(parts[4], b"v1 %d\n" % int(dict(support.parse_head(parts[3] + b"\r\n\r\n")[1])
                                                     ["X-Endpoint"]))

    def test_head_to_an_upstream_announcing_a_big_body(self):
        def head_handler(conn, up_):
            while True:
                req = conn.read_request()
                if req is None:
                    return
                conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nX-Version: v1\r\n\r\n")
        up = self.raw_upstream(head_handler)
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = self.raw(d.listen)
        for _ in range(3):
            t = time.monotonic()
            c.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
            r = c.read_response("HEAD")
            self.assertEqual((r.status, r.header("Content-Length")), (200, "1000000"))
            self.assertLess(time.monotonic() - t, 2, "canaryd waited for a body after a HEAD response")
        c.sock.settimeout(0.5)
        try:
            extra = c.sock.recv(100)
        except OSError:
            extra = b""
        self.assertEqual(extra, b"", "bytes after a HEAD response: %r" % extra)


class ExpectContinueTest(IntegrationTest):
    def test_100_continue_then_final_response(self):
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = self.raw(d.listen)
        c.send(post(b"Content-Length: 11\r\nExpect: 100-continue\r\n"))
        head = c.read_head()  # raises if nothing within the timeout
        self.assertTrue(head.startswith(b"HTTP/1.1 100 Continue\r\n"), head)
        c.send(b"hello world")
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        doc = support.json.loads(r.body)
        self.assertEqual(doc["bytes"], 11)
        self.assertEqual(up.requests[-1].body, b"hello world")
        # the connection goes on
        c.send(post(b"Content-Length: 2\r\n", b"ok"))
        self.assertEqual(c.read_response().status, 200)

    def test_expect_with_body_over_the_limit_gets_413_not_100(self):
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None, limits={"max_body_bytes": 10})
        c = self.raw(d.listen)
        c.send(post(b"Content-Length: 11\r\nExpect: 100-continue\r\n"))
        reply, closed = c.read_until_close(5)
        self.assertEqual(status_of(reply), 413, reply[:100])
        self.assertTrue(closed)


class ChunkedReframingTest(IntegrationTest):
    def test_chunk_extensions_and_raw_chunks_are_not_forwarded(self):
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = self.raw(d.listen)
        body = (b"5;ext=secret-extension\r\nhello\r\n"
                b"00006\r\n world\r\n"
                b"A;a=1;b=\"q\"\r\n0123456789\r\n"
                b"0;last=1\r\nX-Trailer-Field: t\r\n\r\n")
        c.send(post(b"Transfer-Encoding: chunked\r\n", body))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        req = up.requests[-1]
        self.assertTrue(req.complete, "the upstream did not get a complete, well-framed body")
        self.assertEqual(req.body, b"hello world0123456789")
        self.assertNotIn(b"secret-extension", req.raw_body)
        self.assertNotIn(b"ext=", req.raw_body)
        self.assertNotIn(b"00006", req.raw_body, "raw chunk bytes were forwarded: %r" % req.raw_body)
        te = req.header("Transfer-Encoding")
        cl = req.header("Content-Length")
        self.assertTrue((te is not None and te.lower() == "chunked" and cl is None)
                        or (te is None and cl == "21"),
                        "re-framed body arrived with TE %r and CL %r" % (te, cl))
        # a second chunked request on the same connection
        c.send(post(b"Transfer-Encoding: chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n"))
        self.assertEqual(c.read_response().status, 200)
        self.assertEqual(up.requests[-1].body, b"abc")

    def test_empty_chunked_body(self):
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = self.raw(d.listen)
        c.send(post(b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n"))
        self.assertEqual(c.read_response().status, 200)
        self.assertEqual(up.requests[-1].body, b"")
        self.assertTrue(up.requests[-1].complete)


class PipelineTest(IntegrationTest):
    NGINX = True

    def test_pipelined_requests_answered_in_order(self):
        d = self.canaryd(canary_weight=50)
        c = self.raw(d.listen)
        paths = ["/headers?n=%d" % i for i in range(10)]
        data = b"".join(b"GET " + p.encode() + b" HTTP/1.1\r\nHost: t\r\n\r\n" for p in paths)
        c.send(data)
        got = [parse_echo(c.read_response().body)["uri"] for _ in paths]
        self.assertEqual(got, paths)

    def test_pipelined_requests_with_bodies(self):
        up = self.raw_upstream(serve_body_digest())
        d = self.canaryd(endpoints=[(up.port, "v1")], canary=None)
        c = self.raw(d.listen)
        c.send(post(b"Content-Length: 3\r\n", b"one") + post(b"Transfer-Encoding: chunked\r\n", b"3\r\ntwo\r\n0\r\n\r\n")
               + GET_HEAD + b"\r\n" + post(b"Content-Length: 5\r\n", b"three"))
        sizes = [support.json.loads(c.read_response().body)["bytes"] for _ in range(4)]
        self.assertEqual(sizes, [3, 3, 0, 5])
        self.assertEqual([r.body for r in up.requests], [b"one", b"two", b"", b"three"])


if __name__ == "__main__":
    support.main()
