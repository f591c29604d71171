"""Compressed answers: brotli or gzip, whichever the client prefers, for bodies over 1 KiB.

Starlette's GZipMiddleware takes any `Accept-Encoding` that merely contains "gzip" (even
`gzip;q=0`) and knows no brotli. Here the client's weights decide, brotli wins ties (smaller for
JSON, as fast at quality 4), and both encoders share Starlette's responder: small bodies,
already-encoded bodies and partial content pass through untouched, streams compress as they go.
"""

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipResponder, IdentityResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MINIMUM_SIZE = 1024
ENCODINGS = ("br", "gzip")  # in order of preference when the client weighs them equally


def negotiate_encoding(headers: Headers) -> str:
    """`br`, `gzip` or `identity`, by the weights of the request's `Accept-Encoding`."""
    weights: dict[str, float] = {}
    for part in headers.get("accept-encoding", "").split(","):
        coding, _, params = part.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[coding] = weight
    wildcard = weights.get("*", 0.0)
    best = max(ENCODINGS, key=lambda coding: weights.get(coding, wildcard))
    return best if weights.get(best, wildcard) > 0 else "identity"


class BrotliResponder(IdentityResponder):
    content_encoding = "br"

    def __init__(self, app: ASGIApp, minimum_size: int) -> None:
        super().__init__(app, minimum_size)
        self._compressor = brotli.Compressor(mode=brotli.MODE_TEXT, quality=4)

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        compressed: bytes = self._compressor.process(body)
        if more_body:
            return compressed + self._compressor.flush()
        return compressed + self._compressor.finish()


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encoding = negotiate_encoding(Headers(scope=scope))
        # Any answer could have been compressed for another client: caches must know.
        send = _varying_on_encoding(send)
        responder: ASGIApp
        if encoding == "br":
            responder = BrotliResponder(self.app, self.minimum_size)
        elif encoding == "gzip":
            responder = GZipResponder(self.app, self.minimum_size, compresslevel=6)
        else:
            # Starlette's IdentityResponder would only hold the start message back and add the
            # Vary header already added above.
            responder = self.app
        await responder(scope, receive, send)


def _varying_on_encoding(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).add_vary_header("Accept-Encoding")
        await send(message)

    return sending
