"""Walk every publication of a pubapi server, following cursors; one JSON object per line.

    python examples/walk_publications.py [BASE_URL] [--param name=value ...]

For example `python examples/walk_publications.py --param year=2025 > 2025.jsonl`. Cursors
(`meta.next_cursor`) cost the server the same at any depth, where `offset` pages get slower
and stop at 10000. Needs only httpx (`pip install httpx`).
"""

import argparse
import json
import sys
import time

import httpx

PAGE_SIZE = 200  # The most the API gives per page.
ATTEMPTS = 5  # Per page, while the server answers 429 (too many requests) or 503 (not ready).
MAX_WAIT = 60.0  # Seconds; a longer Retry-After is cut down to this.


def main() -> None:
    parser = argparse.ArgumentParser(description="Print every publication as JSON Lines.")
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        type=name_value,
        metavar="NAME=VALUE",
        help="a filter of GET /publications, such as year=2025; repeat for several",
    )
    args = parser.parse_args()
    # A cursor only continues the query that issued it: send the same filters with it.
    params = httpx.QueryParams([("limit", PAGE_SIZE), *args.param])
    walked = pages = 0
    cursor = None
    with httpx.Client(base_url=args.base_url, timeout=30) as client:
        while pages == 0 or cursor is not None:
            page = get_page(client, params if cursor is None else params.add("cursor", cursor))
            for publication in page["results"]:
                print(json.dumps(publication))
            walked, pages = walked + len(page["results"]), pages + 1
            cursor = page["meta"]["next_cursor"]
    print(f"walked {walked} publications in {pages} pages", file=sys.stderr)


def name_value(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def get_page(client: httpx.Client, params: httpx.QueryParams) -> dict:
    """One page. A busy (429) or starting (503) server says when to come back: wait that long."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = client.get("/publications", params=params)
        except httpx.TransportError as exc:
            sys.exit(f"cannot reach {client.base_url}: {exc}")
        if response.status_code not in (429, 503) or attempt == ATTEMPTS:
            break
        retry_after = response.headers.get("Retry-After", "")
        time.sleep(min(float(retry_after), MAX_WAIT) if retry_after.isdigit() else 1.0)
    if response.is_error:  # Errors are RFC 9457 problems: `detail` says what went wrong.
        try:
            detail = response.json()["detail"]
        except (ValueError, KeyError, TypeError):
            detail = response.text
        sys.exit(f"HTTP {response.status_code}: {detail}")
    return response.json()


if __name__ == "__main__":
    main()
