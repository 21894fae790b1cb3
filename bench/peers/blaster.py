"""A deliberately minimal broadcaster that exists only to measure the load generator.

picows server, same seed JSON protocol as the other peers, but each chat frame is encoded and
compressed once (it answers the deflate offer with no context takeover on both sides) and the
same bytes are written to every socket. It sends faster than any real server here, so what it
shows is how many deliveries per second the generator itself can take in.

    python -m bench.peers.blaster --port 8001
"""

from __future__ import annotations

import argparse
import json
import zlib

import picows
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest

WELCOME = json.dumps({"type": "connection_established", "message": "You are now connected!"}).encode()
ANSWER = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
TAIL = b"\x00\x00\xff\xff"

members: dict[WSTransport, bool] = {}  # transport -> deflate negotiated


def compress(data: bytes) -> bytes:
    encoder = zlib.compressobj(wbits=-15)
    return (encoder.compress(data) + encoder.flush(zlib.Z_SYNC_FLUSH))[:-4]


class Peer(WSListener):
    def __init__(self, deflate: bool) -> None:
        self.deflate = deflate

    def on_ws_connected(self, transport: WSTransport) -> None:
        members[transport] = self.deflate
        if self.deflate:
            transport.send(WSMsgType.TEXT, compress(WELCOME), rsv1=True)
        else:
            transport.send(WSMsgType.TEXT, WELCOME)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        members.pop(transport, None)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type != WSMsgType.TEXT:
            return
        data = frame.get_payload_as_bytes()
        if frame.rsv1:
            data = zlib.decompressobj(wbits=-15).decompress(data + TAIL)
        try:
            text = json.loads(data)["message"]
        except (ValueError, KeyError, TypeError):
            return
        plain = json.dumps({"type": "chat", "message": text}).encode()
        packed = compress(plain)
        for peer, deflate in tuple(members.items()):
            if deflate:
                peer.send(WSMsgType.TEXT, packed, rsv1=True)
            else:
                peer.send(WSMsgType.TEXT, plain)


def listener(request: WSUpgradeRequest) -> picows.WSUpgradeResponseWithListener:
    if "permessage-deflate" not in request.headers.get("Sec-WebSocket-Extensions", ""):
        return picows.WSUpgradeResponseWithListener(picows.WSUpgradeResponse.create_101_response(), Peer(False))
    response = picows.WSUpgradeResponse.create_101_response(extra_headers={"Sec-WebSocket-Extensions": ANSWER})
    return picows.WSUpgradeResponseWithListener(response, Peer(True))


async def serve(host: str, port: int) -> None:
    server = await picows.ws_create_server(listener, host, port, backlog=4096)
    await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
