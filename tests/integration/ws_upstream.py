#!/usr/bin/env python3
"""A WebSocket echo server for the integration tests, on python3-websockets (Debian's package):

    ws_upstream.py PORT VERSION [CERT KEY]

It echoes every message. The path /hello first sends VERSION (so a test sees which set it reached);
/refuse/NNN answers the handshake with status NNN and a short body, an ordinary HTTP response.
Every handshake response carries `X-Version: VERSION`. With CERT and KEY it speaks TLS (wss).
Prints "ready" on stdout once it listens; runs until killed.
"""

import asyncio
import http
import ssl
import sys

try:
    import websockets
except ImportError:  # an interpreter of its own (pyenv, say) beside Debian's python3-websockets
    sys.path.append("/usr/lib/python3/dist-packages")
    import websockets


def main():
    port, version = int(sys.argv[1]), sys.argv[2]
    tls = None
    if len(sys.argv) > 4:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[3], sys.argv[4])

    async def handler(ws, path):
        if path.startswith("/hello"):
            await ws.send(version)
        try:
            async for message in ws:
                await ws.send(message)
        except websockets.ConnectionClosed:
            pass  # a client that went away without the closing handshake (a test of that, say)

    async def process_request(path, headers):
        if path.startswith("/refuse/"):
            status = http.HTTPStatus(int(path.split("/")[2]))
            body = ("refused by %s\n" % version).encode()
            return status, [("X-Version", version), ("Content-Length", str(len(body))),
                            ("Content-Type", "text/plain")], body
        return None

    async def serve():
        async with websockets.serve(handler, "127.0.0.1", port, ssl=tls, max_size=None, compression=None,
                                    ping_interval=None, process_request=process_request,
                                    read_limit=1 << 22, write_limit=1 << 22,
                                    extra_headers=[("X-Version", version)]):
            print("ready", flush=True)
            await asyncio.Future()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
