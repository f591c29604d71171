"""What every answer carries and what every request leaves behind.

Every response gets a request id (the client's `X-Request-ID` when it is a sane token, else a
fresh one), the security headers a public API should send, and one JSON line in the access log.
"""

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
# Accepted from clients as is: enough for UUIDs, ULIDs and tracing ids, nothing that could forge
# a log line or a header.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# The request id of the request being served, for log lines and 500 problems.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

access_logger = logging.getLogger("pubapi.access")

# Sent on every answer. Pages that need more (the docs) set their own Content-Security-Policy.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def incoming_request_id(headers: Headers) -> str:
    given = headers.get(REQUEST_ID_HEADER)
    if given is not None and _SANE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Request id, security headers and the access log line; the outermost layer."""

    def __init__(self, app: ASGIApp, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Inner layers copy the scope (HEAD runs as GET): make `state` one shared dict first.
        scope.setdefault("state", {})
        ident = incoming_request_id(Headers(scope=scope))
        token = request_id.set(ident)
        started = time.perf_counter()
        status = 500
        sent_bytes = 0

        async def sending(message: Message) -> None:
            nonlocal status, sent_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = ident
                if "vary" in headers:
                    # Each layer adds what it varies on; name each once, in one order.
                    names = {part.strip().title() for part in headers["vary"].split(",")}
                    headers["Vary"] = ", ".join(sorted(names - {""}))
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            elif message["type"] == "http.response.body":
                sent_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if self.access_log:
                access_logger.info(
                    "request",
                    extra={
                        "fields": {
                            "method": scope["method"],
                            "path": scope["path"],
                            "query": scope.get("query_string", b"").decode("latin-1"),
                            "status": status,
                            "bytes": sent_bytes,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                        }
                    },
                )
            request_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


JsonFormatter.converter = time.gmtime


def log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's `log_config`: pubapi's and uvicorn's own logs as JSON lines on standard error.

    uvicorn's access log is off (`access_log=False`): RequestContextMiddleware writes a richer
    line, with the request id.
    """
    logger = {"handlers": ["stderr"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {"pubapi": logger, "uvicorn": logger, "uvicorn.error": logger},
    }
