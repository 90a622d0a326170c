"""HTTP/2 clients for the integration tests, over cleartext with prior knowledge (a canaryd started with
support.Canaryd(http2=True)): frames built by hand (struct) where a well-behaved library refuses to make
them (floods, bombs, too many streams) with a frame reader and HPACK through Debian's python3-hpack, and
python3-h2 for the well-behaved client."""

import os
import select
import socket
import struct
import sys

try:
    import h2.config
    import h2.connection
    import h2.events
    import hpack
except ImportError:  # an interpreter other than Debian's (pyenv, venv): python3-h2 is pure Python
    sys.path.append("/usr/lib/python3/dist-packages")
    import h2.config  # noqa: E402
    import h2.connection  # noqa: E402
    import h2.events  # noqa: E402
    import hpack  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# frame types (RFC 9113 6)
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
# flags
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
# error codes (RFC 9113 7)
ERRORS = {0x0: "NO_ERROR", 0x1: "PROTOCOL_ERROR", 0x2: "INTERNAL_ERROR", 0x3: "FLOW_CONTROL_ERROR",
          0x4: "SETTINGS_TIMEOUT", 0x5: "STREAM_CLOSED", 0x6: "FRAME_SIZE_ERROR", 0x7: "REFUSED_STREAM",
          0x8: "CANCEL", 0x9: "COMPRESSION_ERROR", 0xa: "CONNECT_ERROR", 0xb: "ENHANCE_YOUR_CALM",
          0xc: "INADEQUATE_SECURITY", 0xd: "HTTP_1_1_REQUIRED"}
CODES = {name: code for code, name in ERRORS.items()}
# settings identifiers
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = \
    range(1, 7)


def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream_id) + payload


def settings_frame(pairs=(), ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def ping_frame(opaque=0, ack=False):
    return frame(PING, ACK if ack else 0, 0, struct.pack(">Q", opaque))


def rst_frame(stream_id, code=CODES["CANCEL"]):
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", code))


def recv_or_eof(sock, timeout):
    """What the socket holds (up to 1 MiB), b"" once the peer closed or reset it; socket.timeout when
    nothing arrives in time."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1 << 20)
    except (ConnectionResetError, BrokenPipeError):
        return b""


def request_fields(path="/", method="GET", authority="canaryd-test", extra=()):
    return [(":method", method), (":scheme", "http"), (":path", path), (":authority", authority)] + list(extra)


class Frame:
    def __init__(self, ftype, flags, stream_id, payload):
        self.type, self.flags, self.stream_id, self.payload = ftype, flags, stream_id, payload

    def goaway(self):
        """(last stream id, error code name, debug data) of a GOAWAY."""
        last, code = struct.unpack(">II", self.payload[:8])
        return last & 0x7fffffff, ERRORS.get(code, hex(code)), self.payload[8:]

    def error_name(self):
        """The error code of a RST_STREAM."""
        code = struct.unpack(">I", self.payload[:4])[0]
        return ERRORS.get(code, hex(code))

    def settings(self):
        return dict(struct.unpack(">HI", self.payload[i:i + 6]) for i in range(0, len(self.payload), 6))

    def __repr__(self):
        return "<Frame type=%d flags=%#x stream=%d len=%d>" % (self.type, self.flags, self.stream_id, len(self.payload))


class RawH2:
    """One cleartext HTTP/2 connection on raw frames. It answers nothing by itself unless asked
    (ack_settings): a flood test decides what the server sees."""

    def __init__(self, port, timeout=10.0, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connect: the window the client advertises stays small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((support.LOOPBACK, port))
        self.buf = bytearray()
        self.eof = False
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.decoder.max_allowed_table_size = 1 << 16
        self.server_settings = None
        self.goaway = None           # the first GOAWAY seen: Frame
        self.closed_by_peer = False  # EOF or reset seen

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def send_unless_closed(self, data):
        """send(), False instead of an error once the server has reset or closed the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (ConnectionResetError, BrokenPipeError):
            self.closed_by_peer = True
            return False

    def start(self, settings=((ENABLE_PUSH, 0),), ack_settings=True):
        """Preface and SETTINGS; waits for the server's SETTINGS (and ACKs it when ack_settings)."""
        self.send(PREFACE + settings_frame(settings))
        f = self.read_until(lambda f: f.type == SETTINGS and not f.flags & ACK)
        assert f is not None, "the server sent no SETTINGS after the preface"
        self.server_settings = f.settings()
        if ack_settings:
            self.send(settings_frame(ack=True))
        return self.server_settings

    def header_block(self, fields):
        return self.encoder.encode(fields)

    def headers_frame(self, stream_id, fields, end_stream=True, end_headers=True):
        flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
        return frame(HEADERS, flags, stream_id, self.header_block(fields))

    def _fill(self, timeout):
        if self.eof:
            return False
        data = recv_or_eof(self.sock, timeout)
        if not data:
            self.eof = True
            self.closed_by_peer = True
            return False
        self.buf += data
        return True

    def read_frame(self, timeout=10.0):
        """The next frame, None at EOF; socket.timeout when nothing complete arrives in time."""
        while True:
            if len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + length:
                    ftype, flags = self.buf[3], self.buf[4]
                    sid = struct.unpack(">I", self.buf[5:9])[0] & 0x7fffffff
                    f = Frame(ftype, flags, sid, bytes(self.buf[9:9 + length]))
                    del self.buf[:9 + length]
                    if ftype == GOAWAY and self.goaway is None:
                        self.goaway = f
                    return f
            if not self._fill(timeout):
                return None

    def read_until(self, predicate, timeout=10.0, on_frame=None):
        """Reads frames until predicate(frame) (that frame is returned) or EOF (None)."""
        while True:
            f = self.read_frame(timeout)
            if f is None:
                return None
            if on_frame:
                on_frame(f)
            if predicate(f):
                return f

    def read_to_end(self, timeout=10.0):
        """Reads every frame until the server closes: [frames]. socket.timeout if it stays open."""
        frames = []
        while True:
            f = self.read_frame(timeout)
            if f is None:
                return frames
            frames.append(f)

    def decode(self, f):
        return [(k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
                for k, v in self.decoder.decode(f.payload)]

    def readable_within(self, timeout):
        """True once the socket has something to read (or the peer closed), within timeout seconds."""
        if len(self.buf) >= 9:
            return True
        r, _, _ = select.select([self.sock], [], [], timeout)
        return bool(r)


class H2Response:
    def __init__(self):
        self.headers = []
        self.status = None
        self.body_length = 0
        self.body = bytearray()
        self.ended = False
        self.reset = None            # error code name of a RST_STREAM

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None


class H2Client:
    """A well-behaved client (python3-h2): flow control and ACKs as the library does them."""

    def __init__(self, port, timeout=10.0, keep_bodies=True):
        self.sock = socket.create_connection((support.LOOPBACK, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()
        self.keep_bodies = keep_bodies
        self.responses = {}
        self.goaway = None
        self.pings_acked = 0
        self.closed = False
        self.on_data = None          # on_data(stream_id, bytes) instead of keeping bodies

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def request(self, path="/", method="GET", extra=(), end_stream=True):
        sid = self.conn.get_next_available_stream_id()
        self.responses[sid] = H2Response()
        self.conn.send_headers(sid, request_fields(path, method, extra=extra), end_stream=end_stream)
        self.flush()
        return sid

    def pump(self, timeout=10.0):
        """Reads once and handles the events; False once the server closed the connection."""
        data = recv_or_eof(self.sock, timeout)
        if not data:
            self.closed = True
            return False
        for ev in self.conn.receive_data(data):
            self._event(ev)
        self.flush()
        return True

    def _event(self, ev):
        if isinstance(ev, h2.events.ResponseReceived):
            r = self.responses.setdefault(ev.stream_id, H2Response())
            r.headers = list(ev.headers)
            r.status = int(r.header(":status"))
        elif isinstance(ev, h2.events.DataReceived):
            r = self.responses.get(ev.stream_id)
            if r is not None:
                r.body_length += len(ev.data)
                if self.on_data:
                    self.on_data(ev.stream_id, ev.data)
                elif self.keep_bodies:
                    r.body += ev.data
            self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            self.responses.setdefault(ev.stream_id, H2Response()).ended = True
        elif isinstance(ev, h2.events.StreamReset):
            r = self.responses.get(ev.stream_id)
            if r is not None:
                r.reset = ERRORS.get(int(ev.error_code), str(ev.error_code))
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = (ev.last_stream_id, ERRORS.get(int(ev.error_code), str(ev.error_code)))
        elif isinstance(ev, h2.events.PingAckReceived):
            self.pings_acked += 1

    def wait(self, predicate, timeout=10.0):
        while not predicate():
            if not self.pump(timeout):
                return predicate()
        return True

    def done(self, sid):
        r = self.responses[sid]
        return r.ended or r.reset is not None

    def get(self, path="/", extra=(), timeout=10.0):
        sid = self.request(path, extra=extra)
        assert self.wait(lambda: self.done(sid), timeout), "connection closed before stream %d ended" % sid
        return self.responses.pop(sid)

