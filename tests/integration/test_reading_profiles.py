"""A supplier's reading profile, from the partner file to the reconciled line, on SQLite and
PostgreSQL: unusual sheet headers, month-first and day-first dates, a decimal comma. Without the
profile the same emails are not guessed at (UNREADABLE_REPLY); with it their lines confirm."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, select, text

from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import Settings
from gateway.domain.messages import MessageState
from gateway.errors import ConfigurationError
from gateway.persistence.models import ExceptionRow, Supplier
from gateway.persistence.schema import alembic_config, current_revision, head_revision, upgrade
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import load_partners, read_partner_file
from gateway.services.replay import replay
from tests.integration.test_email_replies import TODAY, Transaction, line_states, take_in

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
# Their mail is taken without sender authentication (tested in test_mail_authentication.py).
PARTNER_FILE = """
[[suppliers]]
code = "NORDHOLM"
name = "Nordholm Components AB"
emails = ["orders@nordholm.example"]
buyer_contact = "anna.weber@brenner-antrieb.example"
mail_auth = "none"
{nordholm}
[[suppliers]]
code = "ALVES"
name = "Alves & Filhos Lda."
emails = ["encomendas@alves.example"]
buyer_contact = "jonas.keller@brenner-antrieb.example"
mail_auth = "none"
{alves}
"""
NORDHOLM_READING = """
[suppliers.reading]
date_order = "month_first"
[suppliers.reading.columns]
"Cust. PO ref" = "order_number"
"Your pos." = "order_line"
"Qty we ship" = "quantity"
"Ship on" = "delivery_date"
"""
ALVES_READING = """
[suppliers.reading]
date_order = "day_first"
number_style = "decimal_comma"
"""
ORDERS = """order_number,line_no,quantity,unit,requested_date,supplier_id,owner_email
4500030001,10,250,PCE,2026-12-05,NORDHOLM,owner.n@brenner-antrieb.example
4500030001,20,40,PCE,2026-12-05,NORDHOLM,owner.n@brenner-antrieb.example
4500030002,10,1000,PCE,2026-12-05,ALVES,owner.a@brenner-antrieb.example
"""
# Neither header is one the gateway knows, and 12/05/2026 is 5 December only month first.
SHEET = ("Cust. PO ref,Your pos.,Qty we ship,Ship on\r\n"
         "4500030001,10,250,12/05/2026\r\n"
         "4500030001,20,40,12/05/2026\r\n")
SHEET_EMAIL = f"""From: Nordholm Orders <orders@nordholm.example>
To: orders@brenner-antrieb.example
Subject: Order confirmation
Message-ID: <conf-30001@nordholm.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mix"

--mix
Content-Type: text/plain; charset=utf-8

Please find our confirmation attached.

--mix
Content-Type: text/csv; charset=utf-8; name="confirmation.csv"
Content-Disposition: attachment; filename="confirmation.csv"

{SHEET}
--mix--
""".replace("\n", "\r\n").encode()
BODY_EMAIL = """From: Alves Encomendas <encomendas@alves.example>
To: orders@brenner-antrieb.example
Subject: RE: Purchase order 4500030002
Message-ID: <re-30002@alves.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

PO 4500030002 line 10: 1.000 pcs confirmed, delivery 05/12/2026
""".replace("\n", "\r\n").encode()
# A buyer forwards the supplier's answer: only the forwarded message's From names the supplier,
# which the header of the outer email does not show.
FORWARDED_EMAIL = """From: Jonas Keller <jonas.keller@brenner-antrieb.example>
To: orders@brenner-antrieb.example
Subject: Fwd: RE: Purchase order 4500030002
Message-ID: <fw-30002@brenner-antrieb.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mix"

--mix
Content-Type: text/plain; charset=utf-8

For the gateway.

--mix
Content-Type: message/rfc822

{inner}
--mix--
""".replace("\n", "\r\n").replace("{inner}", BODY_EMAIL.decode()).encode()


def partners(tmp_path: Path, profiled: bool) -> dict[str, Any]:
    path = tmp_path / "partners.toml"
    path.write_text(PARTNER_FILE.format(nordholm=NORDHOLM_READING if profiled else "",
                                        alves=ALVES_READING if profiled else ""),
                    encoding="utf-8")
    return read_partner_file(path)


def world(engine: Engine, tmp_path: Path, profiled: bool) -> Transaction:
    factory = make_session_factory(engine)
    path = tmp_path / "open_orders.csv"
    path.write_text(ORDERS)
    lines, errors = read_order_file(path)
    assert not errors
    with factory.begin() as session:
        load_partners(session, partners(tmp_path, profiled), NOW)
        import_lines(session, lines, path.name, NOW)
    return factory.begin


def unreadable(transaction: Transaction) -> list[tuple[str | None, str | None]]:
    with transaction() as session:
        return [(e.order_number, e.actual) for e in session.scalars(
            select(ExceptionRow).where(ExceptionRow.code == "UNREADABLE_REPLY"))]


@pytest.mark.parametrize("profiled", [False, True], ids=["no profile", "profile"])
def test_an_unusual_sheet_is_read_only_with_its_profile(engine: Engine, tmp_path: Path,
                                                       profiled: bool) -> None:
    transaction = world(engine, tmp_path, profiled)
    report = take_in(transaction, SHEET_EMAIL)
    assert report.state is MessageState.RECONCILED
    with transaction() as session:
        states = line_states(session, "4500030001")
    if not profiled:
        assert (report.documents, len(unreadable(transaction))) == (0, 1)
        assert {state for state, _, _ in states.values()} == {"open"}
        return
    assert report.documents == 1
    assert unreadable(transaction) == []
    assert states == {"10": ("confirmed", Decimal(250), date(2026, 12, 5)),
                      "20": ("confirmed", Decimal(40), date(2026, 12, 5))}


@pytest.mark.parametrize("forwarded", [False, True], ids=["direct", "forwarded by the buyer"])
@pytest.mark.parametrize("profiled", [False, True], ids=["no profile", "profile"])
def test_a_day_first_suppliers_date_and_decimal_comma(engine: Engine, tmp_path: Path,
                                                      profiled: bool, forwarded: bool) -> None:
    transaction = world(engine, tmp_path, profiled)
    report = take_in(transaction, FORWARDED_EMAIL if forwarded else BODY_EMAIL)
    assert report.state is MessageState.RECONCILED
    with transaction() as session:
        state = line_states(session, "4500030002")["10"]
    if not profiled:
        [(order, _actual)] = unreadable(transaction)
        assert order == "4500030002"
        assert any(p.code == "AMBIGUOUS_VALUE" and "05/12/2026" in p.detail
                   for p in report.errors)
        assert state[0] == "open"
        return
    assert unreadable(transaction) == []
    # 05/12/2026 is 5 December, 1.000 is a thousand.
    assert state == ("confirmed", Decimal(1000), date(2026, 12, 5))


def test_loading_the_partner_file_again_replaces_the_profile(engine: Engine,
                                                              tmp_path: Path) -> None:
    transaction = world(engine, tmp_path, profiled=True)
    with transaction() as session:
        stored = session.scalars(select(Supplier.reading).where(Supplier.code == "ALVES")).one()
        assert stored == {"date_order": "day_first", "number_style": "decimal_comma"}
        load_partners(session, partners(tmp_path, profiled=False), NOW)
    with transaction() as session:
        assert session.scalars(select(Supplier.reading)).all() == [None, None]
    report = take_in(transaction, BODY_EMAIL)
    assert report.state is MessageState.RECONCILED
    assert len(unreadable(transaction)) == 1


def test_a_profile_added_later_reads_a_replayed_message(engine: Engine,
                                                       tmp_path: Path) -> None:
    transaction = world(engine, tmp_path, profiled=False)
    report = take_in(transaction, SHEET_EMAIL)
    assert len(unreadable(transaction)) == 1
    with transaction() as session:
        load_partners(session, partners(tmp_path, profiled=True), NOW)
    again = replay(transaction, report.message_id, TODAY, NOW)
    with transaction() as session:
        assert (again.state, again.documents) == (MessageState.RECONCILED, 1)
        assert line_states(session, "4500030001")["10"] == (
            "confirmed", Decimal(250), date(2026, 12, 5))
        assert session.scalars(select(ExceptionRow.state).where(
            ExceptionRow.code == "UNREADABLE_REPLY")).all() == ["resolved"]


def test_a_bad_reading_table_loads_nothing(engine: Engine, tmp_path: Path) -> None:
    transaction = world(engine, tmp_path, profiled=False)
    data = partners(tmp_path, profiled=True)
    data["suppliers"][1]["reading"]["date_order"] = "dd.mm.yyyy"
    bad_date_order = r"supplier ALVES: reading\.date_order = 'dd\.mm\.yyyy' is not one of"
    with pytest.raises(ConfigurationError, match=bad_date_order), transaction() as session:
        load_partners(session, data, NOW)
    data["suppliers"][1] = {**data["suppliers"][1], "readings": {}}
    del data["suppliers"][1]["reading"]
    with pytest.raises(ConfigurationError, match=r"supplier ALVES: unknown keys \['readings'\]"), \
            transaction() as session:
        load_partners(session, data, NOW)
    with transaction() as session:
        assert session.scalars(select(Supplier.reading)).all() == [None, None]


def test_a_database_at_0003_upgrades_and_keeps_its_suppliers(settings: Settings,
                                                              tmp_path: Path) -> None:
    engine = make_engine(settings)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.execute(text("INSERT INTO suppliers (code, name) VALUES ('ALVES', 'Alves')"))
    assert current_revision(engine) == "0003"
    # Through 0004 (the reading column) to whatever the head is now.
    assert upgrade(engine) == head_revision()
    factory = make_session_factory(engine)
    with factory.begin() as session:
        assert session.execute(select(Supplier.code, Supplier.reading)).all() == [
            ("ALVES", None)]
        load_partners(session, partners(tmp_path, profiled=True), NOW)
    with factory.begin() as session:
        assert session.scalars(select(Supplier.reading).where(Supplier.code == "ALVES")).one(
            ) == {"date_order": "day_first", "number_style": "decimal_comma"}
    engine.dispose()
