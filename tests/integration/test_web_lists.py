"""The lists of orders and messages against a real database: newest first, filters kept in
the URL (supplier, state, channel, dates), keyset pages that neither skip nor repeat a row,
links to the order and message pages, hostile text escaped, signed-in users only, and a
fixed number of SQL statements per page whatever the page holds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from gateway.bootstrap import make_session_factory
from gateway.config import Settings
from gateway.persistence.models import InboundMessage, PurchaseOrder
from gateway.services.ingest import Intake, archive
from tests.integration.web_client import page_selects, sign_in, web_client
from tests.integration.web_scenario import (
    ADMIN,
    ANNA,
    IT,
    MARKUS,
    NOW,
    PATH_FILENAME,
    Scenario,
    build,
)


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path) -> Scenario:
    return build(engine, tmp_path)


@pytest.fixture
def client(scenario: Scenario, settings: Settings) -> Iterator[TestClient]:
    with web_client(settings) as found:
        yield found


def _orders(html: str) -> list[str]:
    return re.findall(r'<tr data-order="([^"]+)">', html)


def _messages(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-id="(\d+)">', html)]


def _next(html: str) -> str | None:
    found = re.search(r'href="([^"]+)" id="next-page"', html)
    return unescape(found.group(1)) if found else None


def _walk(client: TestClient, path: str) -> list[str]:
    """Every page from `path` on, following "Next page": the html of each."""
    pages = []
    link: str | None = path
    while link is not None:
        answer = client.get(link)
        assert answer.status_code == 200, answer.text
        pages.append(answer.text)
        link = _next(answer.text)
    return pages


def _selects(client: TestClient, path: str) -> int:
    return page_selects(client, path)[0]


def _more_messages(engine: Engine, count: int) -> None:
    with make_session_factory(engine).begin() as session:
        for index in range(count):
            archive(session, Intake(f"UNA:+.? 'UNB+bulk{index}'".encode(), "imap",
                                    "bulk@example.com", f"bulk{index}.edi"), NOW)


def _more_orders(engine: Engine, count: int) -> None:
    with make_session_factory(engine).begin() as session:
        for index in range(count):
            session.add(PurchaseOrder(number=f"47000{index:05d}", supplier_code="ALBRECHT",
                                      source="test", updated_at=NOW,
                                      order_date=date(2026, 10, 1) + timedelta(days=index % 20)))


def test_lists_need_a_signed_in_user_of_any_role(client: TestClient) -> None:
    for path in ("/orders", "/messages"):
        answer = client.get(path + "?supplier=ALBRECHT")
        assert answer.status_code == 303
        assert "/login" in answer.headers["location"]
    for who in (ANNA, MARKUS, IT, ADMIN):
        client.cookies.clear()
        sign_in(client, who)
        assert client.get("/orders").status_code == 200
        assert client.get("/messages").status_code == 200


def test_the_orders_list_links_each_order_and_filters_by_supplier_state_and_date(
        client: TestClient, engine: Engine) -> None:
    sign_in(client, ANNA)
    page = client.get("/orders").text
    with make_session_factory(engine).begin() as session:
        numbers = list(session.scalars(select(PurchaseOrder.number)
                                       .order_by(PurchaseOrder.id.desc())))
    assert _orders(page) == numbers
    assert f'href="/orders/{numbers[0]}"' in page
    albrecht = client.get("/orders?supplier=ALBRECHT").text
    with make_session_factory(engine).begin() as session:
        expected = list(session.scalars(select(PurchaseOrder.number).where(
            PurchaseOrder.supplier_code == "ALBRECHT").order_by(PurchaseOrder.id.desc())))
    assert _orders(albrecht) == expected
    assert 'value="ALBRECHT" selected' in albrecht
    states = dict(re.findall(r'<tr data-order="([^"]+)">.*?data-state="([a-z_]+)"', page, re.S))
    for state in set(states.values()):
        filtered = client.get(f"/orders?state={state}").text
        assert sorted(_orders(filtered)) == sorted(n for n, s in states.items() if s == state)
    dated = client.get("/orders?from=2026-11-20&to=2026-11-20").text
    with make_session_factory(engine).begin() as session:
        on_day = set(session.scalars(select(PurchaseOrder.number).where(
            PurchaseOrder.order_date == date(2026, 11, 20))))
    assert set(_orders(dated)) == on_day
    assert on_day  # the hostile orders of the scenario were ordered that day
    assert client.get("/orders?state=lost").status_code == 400
    assert client.get("/orders?from=yesterday").status_code == 400
    assert client.get("/orders?cursor=abc").status_code == 400


def test_order_pages_follow_by_keyset_without_skipping_or_repeating(
        client: TestClient, engine: Engine) -> None:
    _more_orders(engine, 120)
    sign_in(client, ANNA)
    pages = _walk(client, "/orders?supplier=ALBRECHT")
    assert len(pages) == 3
    seen = [number for html in pages for number in _orders(html)]
    assert len(seen) == len(set(seen))
    with make_session_factory(engine).begin() as session:
        assert seen == list(session.scalars(select(PurchaseOrder.number).where(
            PurchaseOrder.supplier_code == "ALBRECHT").order_by(PurchaseOrder.id.desc())))
    assert "supplier=ALBRECHT" in (_next(pages[0]) or "")
    state_pages = _walk(client, "/orders?state=sent")
    sent = [number for html in state_pages for number in _orders(html)]
    assert len(sent) == len(set(sent)) >= 120


def test_an_orders_page_costs_the_same_statements_whatever_it_holds(
        client: TestClient, engine: Engine) -> None:
    sign_in(client, ANNA)
    few = _selects(client, "/orders")
    filtered = _selects(client, "/orders?state=overdue&supplier=ALBRECHT")
    _more_orders(engine, 120)
    # session and user (1), the orders (1), their lines (1), the supplier choices (1)
    assert few == filtered == _selects(client, "/orders") == _selects(
        client, "/orders?state=sent") == 4


def test_the_messages_list_filters_by_state_channel_supplier_and_day(
        client: TestClient, engine: Engine, scenario: Scenario) -> None:
    sign_in(client, IT)
    page = client.get("/messages").text
    with make_session_factory(engine).begin() as session:
        ids = list(session.scalars(select(InboundMessage.id).order_by(InboundMessage.id.desc())))
        session.execute(update(InboundMessage).where(
            InboundMessage.id == scenario.hostile["script"]).values(state="quarantined"))
    assert _messages(page) == ids
    assert f'href="/messages/{ids[0]}"' in page
    quarantined = client.get("/messages?state=quarantined").text
    assert scenario.hostile["script"] in _messages(quarantined)
    assert all(s == "quarantined" for s in re.findall(r'data-state="([a-z]+)"', quarantined))
    _more_messages(engine, 3)
    imap = _messages(client.get("/messages?channel=imap").text)
    assert len(imap) == 3
    assert not set(imap) & set(ids)
    albrecht = _messages(client.get("/messages?supplier=ALBRECHT").text)
    with make_session_factory(engine).begin() as session:
        assert albrecht == list(session.scalars(select(InboundMessage.id).where(
            InboundMessage.supplier_code == "ALBRECHT").order_by(InboundMessage.id.desc())))
    assert albrecht
    day = NOW.date().isoformat()
    assert len(_messages(client.get(f"/messages?from={day}&to={day}").text)) == len(ids) + 3
    before = (NOW.date() - timedelta(days=1)).isoformat()
    assert _messages(client.get(f"/messages?to={before}").text) == []
    assert client.get("/messages?state=lost").status_code == 400


def test_the_calendars_last_day_bounds_nothing_and_a_cursor_no_page_made_is_refused(
        client: TestClient, scenario: Scenario) -> None:
    sign_in(client, IT)
    everything = _messages(client.get("/messages").text)
    last_day = client.get("/messages?to=9999-12-31")
    assert last_day.status_code == 200
    assert _messages(last_day.text) == everything
    # A superscript digit is a digit to str.isdigit but not to int(); twelve leading digits
    # in bounds followed by more make an id past the database's INTEGER.
    for cursor in ("%C2%B2", "000000000001999999999999", "2147483648"):
        for path in ("/messages", "/orders"):
            assert client.get(f"{path}?cursor={cursor}").status_code == 400, (path, cursor)


def test_message_pages_follow_by_keyset_in_a_fixed_number_of_statements(
        client: TestClient, engine: Engine) -> None:
    sign_in(client, ANNA)
    few = _selects(client, "/messages")
    _more_messages(engine, 110)
    pages = _walk(client, "/messages?channel=imap")
    seen = [found for html in pages for found in _messages(html)]
    assert len(pages) == 3
    assert len(seen) == len(set(seen)) == 110
    # session and user (1), the messages (1), the supplier choices (1)
    assert few == _selects(client, "/messages") == _selects(
        client, "/messages?channel=imap&state=received") == 3


def test_supplier_text_in_the_lists_is_escaped(client: TestClient) -> None:
    sign_in(client, ANNA)
    page = client.get("/messages").text
    assert "<b>cron.d</b>" not in page
    assert "&lt;b&gt;cron.d&lt;/b&gt;" in page
    assert PATH_FILENAME.split("<")[0] in page
    assert "<script" not in page


def test_the_lists_and_the_users_page_follow_the_language(client: TestClient) -> None:
    sign_in(client, ADMIN)
    for language, words in (("de", ("Bestellungen, neueste zuerst", "Empfangene Nachrichten",
                                     "Benutzer anlegen")),
                            ("zh-CN", ("最新的在前", "已接收的消息", "创建用户"))):
        headers = {"Accept-Language": language}
        assert words[0] in client.get("/orders", headers=headers).text
        assert words[1] in client.get("/messages", headers=headers).text
        assert words[2] in client.get("/users", headers=headers).text
