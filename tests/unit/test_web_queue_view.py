"""The exception's version (its ETag) and the memo the API's queue pages read it through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from gateway.web.queue_view import VersionMemo, version_of

STAMP = datetime(2026, 12, 6, 9, 30, 15, 123456, tzinfo=UTC)


def test_a_remembered_version_is_the_computed_one() -> None:
    memo = VersionMemo()
    basis = (7, "open", "anna@example.com", 2, "12 PCE", STAMP)
    assert memo.version(*basis) == version_of(*basis)
    assert memo.version(*basis) == version_of(*basis)
    assert len(memo.known) == 1


def test_any_change_to_the_basis_gives_the_new_version() -> None:
    memo = VersionMemo()
    basis = (7, "open", "anna@example.com", 2, "12 PCE", STAMP)
    first = memo.version(*basis)
    changes = [(8, "open", "anna@example.com", 2, "12 PCE", STAMP),
               (7, "acknowledged", "anna@example.com", 2, "12 PCE", STAMP),
               (7, "open", None, 2, "12 PCE", STAMP),
               (7, "open", "anna@example.com", 3, "12 PCE", STAMP),
               (7, "open", "anna@example.com", 2, "13 PCE", STAMP),
               (7, "open", "anna@example.com", 2, "12 PCE", STAMP + timedelta(microseconds=1))]
    for changed in changes:
        assert memo.version(*changed) == version_of(*changed) != first, changed


def test_the_same_moment_in_another_zone_is_the_same_version() -> None:
    """The version reads the moment, not its zone: a row read back in another session time
    zone keeps its ETag."""
    memo = VersionMemo()
    elsewhere = STAMP.astimezone(timezone(timedelta(hours=8)))
    assert memo.version(7, "open", None, 1, None, elsewhere) == version_of(
        7, "open", None, 1, None, STAMP)


def test_the_memo_holds_at_most_its_limit() -> None:
    memo = VersionMemo(limit=10)
    for number in range(35):
        assert memo.version(number, "open", None, 1, None, STAMP) == version_of(
            number, "open", None, 1, None, STAMP)
        assert len(memo.known) <= 10
