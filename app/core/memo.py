"""Results that only a seed load can change, computed once per data version.

Totals and facet counts over large sets cost a scan of an index; the data changes only when a
load bumps `dataset_state.version`, so each is computed once per version (and per filters) and
then read from memory. Entries are keyed by the version the request's own transaction sees, so a
request never mixes a memoized count of one version with rows of another.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlmodel import Session

T = TypeVar("T")
# Where a request's session keeps the data version its transaction sees, and the memo.
VERSION_INFO = "pubapi.data_version"
MEMO_INFO = "pubapi.memo"


class VersionMemo:
    """A bounded least-recently-used map from (data version, key) to a computed value.

    Entries of older versions go as soon as a newer version is seen; a request still reading an
    older snapshot computes its values without storing them.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._version = -1
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, version: int, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if version > self._version:
                self._version = version
                self._entries.clear()
            if version == self._version and key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            if version == self._version and self.max_entries > 0:
                self._entries[key] = value
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value

    def peek(self, key: Hashable) -> Any:
        """The value of `key` for the newest version seen, if computed (else None); without
        moving it up the order of use."""
        with self._lock:
            return self._entries.get(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def memoized(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, or its value from earlier requests on the same data version.

    Without a memo on the session (a command, an export) or a known version, just computes.
    """
    memo: VersionMemo | None = session.info.get(MEMO_INFO)
    version: int | None = session.info.get(VERSION_INFO)
    if memo is None or version is None:
        return compute()
    return memo.get_or_compute(version, key, compute)
