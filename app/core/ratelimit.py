"""Per-client rate limits on consent writes, counted by the `limits` library.

Counters live where `PUBAPI_RATE_LIMIT_STORAGE_URL` says: in the process (`memory://`) or in
Redis (`redis://...`) so that several server processes share one limit. The client is keyed by
a keyed hash of its address, kept only as long as the counter's window: nothing identifying
reaches the database.
"""

import hashlib
import hmac
import logging
import math
import time
from typing import Annotated

from fastapi import Depends, Request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.core.errors import ApiProblem

logger = logging.getLogger("pubapi")


class RateLimiter:
    def __init__(
        self, rates: str, storage_url: str, secret: str, namespace: str = "pubapi"
    ) -> None:
        self.items: list[RateLimitItem] = parse_many(rates)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self.namespace = namespace
        self._key = secret.encode()

    def client_key(self, address: str) -> str:
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()[:24]

    def hit(self, address: str, scope: str) -> None:
        """Count one request of `address`; a 429 problem when it is over a limit."""
        client = self.client_key(address)
        try:
            for item in self.items:
                if not self.limiter.hit(item, self.namespace, scope, client):
                    stats = self.limiter.get_window_stats(item, self.namespace, scope, client)
                    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                    raise ApiProblem(
                        429,
                        f"Too many consent writes from this client: at most {item}. "
                        f"Retry in {retry_after} s.",
                        headers={"Retry-After": str(retry_after)},
                    )
        except ApiProblem:
            raise
        except Exception:
            # A limiter that cannot reach its storage must not take consent down with it.
            logger.exception("rate limit storage unavailable; request allowed")


def consent_write_limit(request: Request) -> None:
    limiter: RateLimiter = request.app.state.consent_limiter
    address = request.client.host if request.client else "unknown"
    limiter.hit(address, "consent-write")


ConsentWriteLimit = Annotated[None, Depends(consent_write_limit)]
