"""The web process's memory of valid API tokens (`gateway.web.api_tokens`) and the front door's
reading of the queue's query string (`gateway.web.api_queue.plain_query`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gateway.domain.access import Scope
from gateway.errors import ConfigurationError
from gateway.services.accounts import create_api_token, revoke_api_token
from gateway.web import api_tokens
from gateway.web.api_queue import plain_query
from gateway.web.api_tokens import TokenCache, bearer_token, cache_seconds

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as found:
        yield found


def _token(session: Session, name: str = "erp") -> str:
    made = create_api_token(session, name, [Scope.EXCEPTIONS_READ], "test", NOW).token
    session.commit()
    return made


def _revoke_all(session: Session) -> None:
    from sqlalchemy import select

    from gateway.persistence.accounts import ApiTokenRow

    for token_id in session.scalars(select(ApiTokenRow.id)):
        revoke_api_token(session, token_id, "test", NOW)
    session.commit()


def test_only_a_bearer_header_with_a_token_is_read() -> None:
    assert bearer_token("Bearer gw_abc") == "gw_abc"
    assert bearer_token("bearer   gw_abc  ") == "gw_abc"
    assert bearer_token("Basic dXNlcjpwYXNz") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token("gw_abc") is None
    assert bearer_token(None) is None


def test_a_valid_token_is_remembered_for_its_seconds_and_a_revocation_then_counts(
        session: Session) -> None:
    token = _token(session)
    cache = TokenCache(2.0)
    found = cache.actor(session, token, NOW)
    assert found is not None
    assert found.name == "erp"
    _revoke_all(session)
    assert cache.actor(session, token, NOW + timedelta(seconds=1.9)) == found
    assert cache.actor(session, token, NOW + timedelta(seconds=2)) is None
    # refused once, it is forgotten: earlier moments do not bring it back
    assert cache.remembered(token, NOW + timedelta(seconds=1)) is None


def test_without_seconds_every_use_is_looked_up(session: Session) -> None:
    token = _token(session)
    cache = TokenCache(0)
    assert cache.actor(session, token, NOW) is not None
    assert cache.remembered(token, NOW) is None
    _revoke_all(session)
    assert cache.actor(session, token, NOW) is None


def test_a_clock_set_back_does_not_stretch_the_memory(session: Session) -> None:
    token = _token(session)
    cache = TokenCache(2.0)
    assert cache.actor(session, token, NOW) is not None
    assert cache.remembered(token, NOW - timedelta(seconds=1)) is None


def test_unknown_tokens_are_never_remembered_and_the_memory_is_bounded(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TokenCache(2.0)
    for number in range(5):
        assert cache.actor(session, f"gw_made_up_{number}", NOW) is None
    assert not any(cache.remembered(f"gw_made_up_{n}", NOW) for n in range(5))
    monkeypatch.setattr(api_tokens, "MAX_ENTRIES", 2)
    tokens = [_token(session, f"erp{n}") for n in range(3)]
    for token in tokens:
        assert cache.actor(session, token, NOW) is not None
    remembered = [token for token in tokens if cache.remembered(token, NOW)]
    assert len(remembered) <= 2
    assert tokens[-1] in remembered


def test_the_memory_setting_is_bounded() -> None:
    assert cache_seconds(None) == cache_seconds(" ") == 2.0
    assert cache_seconds("0") == 0
    assert cache_seconds("5.5") == 5.5
    for wrong in ("-1", "61", "soon", "nan"):
        with pytest.raises(ConfigurationError):
            cache_seconds(wrong)


@pytest.mark.parametrize(("query", "expected"), [
    (b"", {}),
    (b"limit=20&supplier=ALBRECHT", {"limit": "20", "supplier": "ALBRECHT"}),
    (b"state=any&age=0&cursor=QEj-_", {"state": "any", "age": "0", "cursor": "QEj-_"}),
    (b"supplier=M%C3%BCller&owner=", {"supplier": "Müller", "owner": ""}),
])
def test_a_plainly_valid_query_is_read(query: bytes, expected: dict[str, str]) -> None:
    assert plain_query(query) == expected


@pytest.mark.parametrize("query", [
    b"limit=0", b"limit=201", b"limit=+5", b"limit=%EF%BC%95", b"limit=", b"limit=5.0",
    b"age=36501", b"age=-1", b"limit=5&limit=6", b"supplier=A%00B", b"sort=risk",
])
def test_anything_else_goes_to_the_route_that_validates_it(query: bytes) -> None:
    assert plain_query(query) is None
