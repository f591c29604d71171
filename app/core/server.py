"""The HTTP server's own refusals as problem documents.

uvicorn answers a request its parser cannot read (a request line over 64 KiB, a malformed
header, bytes that are not HTTP/1.1) with a plain-text 400 before the app sees it. pubapi's
protocol answers the same 400 as an RFC 9457 problem, so that every 4xx a client can meet has
one shape. `pubapi serve` runs uvicorn with it.
"""

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

BAD_REQUEST = json.dumps(
    {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "The request is not HTTP/1.1 the server can read: a request line over 64 KiB, "
        "or malformed.",
    },
    separators=(",", ":"),
).encode()


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        content = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/problem+json\r\n",
                b"content-length: " + str(len(BAD_REQUEST)).encode("ascii") + b"\r\n",
                b"cache-control: no-store\r\n",
                b"connection: close\r\n",
                b"\r\n",
                BAD_REQUEST,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
