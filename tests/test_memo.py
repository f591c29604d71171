"""The per-data-version memo: what it keeps, for how long, and what it never mixes."""

from collections.abc import Callable

from app.core.memo import VersionMemo


def counter() -> tuple[list[str], Callable[[str], Callable[[], str]]]:
    """The calls made so far, and a maker of computations that record their call."""
    calls: list[str] = []

    def compute(value: str) -> Callable[[], str]:
        def run() -> str:
            calls.append(value)
            return value

        return run

    return calls, compute


def test_a_value_is_computed_once_per_version_and_key() -> None:
    memo = VersionMemo()
    calls, compute = counter()
    assert memo.get_or_compute(1, "a", compute("a1")) == "a1"
    assert memo.get_or_compute(1, "a", compute("again")) == "a1"
    assert memo.get_or_compute(1, "b", compute("b1")) == "b1"
    assert calls == ["a1", "b1"]


def test_a_newer_version_drops_every_older_entry() -> None:
    memo = VersionMemo()
    calls, compute = counter()
    memo.get_or_compute(1, "a", compute("a1"))
    assert memo.get_or_compute(2, "a", compute("a2")) == "a2"
    assert memo.get_or_compute(2, "a", compute("again")) == "a2"
    assert calls == ["a1", "a2"]


def test_an_older_snapshot_computes_without_storing() -> None:
    memo = VersionMemo()
    calls, compute = counter()
    memo.get_or_compute(2, "a", compute("a2"))
    assert memo.get_or_compute(1, "a", compute("a1")) == "a1"
    assert memo.get_or_compute(1, "a", compute("a1 again")) == "a1 again"
    assert memo.get_or_compute(2, "a", compute("no")) == "a2"
    assert calls == ["a2", "a1", "a1 again"]


def test_the_least_recently_used_entry_goes_first() -> None:
    memo = VersionMemo(max_entries=2)
    calls, compute = counter()
    memo.get_or_compute(1, "a", compute("a"))
    memo.get_or_compute(1, "b", compute("b"))
    memo.get_or_compute(1, "a", compute("no"))  # a is now the recent one
    memo.get_or_compute(1, "c", compute("c"))  # b goes
    memo.get_or_compute(1, "a", compute("no"))
    memo.get_or_compute(1, "b", compute("b again"))
    assert calls == ["a", "b", "c", "b again"]
