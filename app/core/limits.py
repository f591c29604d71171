"""Every limit on what one request may carry, in one place (the README's "Reliability" lists
them). Past each, the answer is a 4xx problem naming what was too large; nothing is read
further and nothing is written.
"""

# The request target (path and query string), in bytes: 414 URI Too Long. Room for a `q` at
# its limit in any script (1,000 characters of 4 UTF-8 bytes, each percent-encoded).
MAX_URL_BYTES = 16 * 1024
# Header fields, in number and in bytes of names and values together: 431.
MAX_HEADERS = 100
MAX_HEADER_BYTES = 16 * 1024
# Parameters in one query string, repeats included: 422 naming `query`.
MAX_QUERY_PARAMS = 64
# Values of one repeatable parameter (`author=1&author=2...`): 422 naming it.
MAX_REPEATS = 50
# Characters of the search text `q`, and of a name search on authors or venues: 422 naming it.
MAX_Q_CHARS = 1000
MAX_NAME_SEARCH_CHARS = 200
# Characters of a cursor token, and of a comma-separated list of names (`fields`, `facets`):
# 422 naming it.
MAX_CURSOR_CHARS = 1000
MAX_NAMES_CHARS = 200
# Bytes of a request body (consent writes), chunked or not: 413 naming `body`.
MAX_BODY_BYTES = 16 * 1024
# Beyond these, the HTTP parser itself refuses the request (a request line over 64 KiB, a
# malformed header, bytes that are not HTTP/1.1): 400, still as a problem (`app.core.server`).
