"""A database the web tests share: the demo's suppliers, orders and messages, users of each
role in two buyer groups, and messages with hostile supplier content (markup in an email body,
an HTML table with onerror, EDIFACT free text with markup, a file name with path parts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from gateway.bootstrap import make_session_factory
from gateway.domain.access import Role
from gateway.persistence.models import ExceptionRow
from gateway.services.accounts import create_user
from gateway.services.ingest import Intake, archive, process
from gateway.services.orders import import_lines, read_order_file
from gateway.services.partners import load_partners, read_partner_file
from tests.integration.conftest import edifact_interchange

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "samples" / "demo"
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PASSWORD = "correct-horse-battery"

ANNA = "anna.weber@brenner-antrieb.example"      # buyer, group north (owns ALBRECHT orders)
JONAS = "jonas.keller@brenner-antrieb.example"    # buyer, group north
MARKUS = "markus.brandt@brenner-antrieb.example"  # buyer, group south
ADMIN = "admin@brenner-antrieb.example"
IT = "it@brenner-antrieb.example"

ALBRECHT = "auftrag@schraubenwerk-albrecht.example"
ALBRECHT_GLN = "4099997100004"
HOSTILE_ORDERS = ("order_number,line_no,quantity,unit,price,currency,requested_date,gtin,"
                  "supplier_id,owner_email,order_date\n"
                  f"4500099001,10,100,PCE,1.00,EUR,2026-12-10,4099997100110,ALBRECHT,{ANNA},"
                  "2026-11-20\n"
                  f"4500099002,10,100,PCE,1.00,EUR,2026-12-10,4099997100127,ALBRECHT,{MARKUS},"
                  "2026-11-20\n")
SCRIPT_BODY = "<script>alert('body')</script>"
ONERROR = "<img src=x onerror=alert('table')>"
EDI_MARKUP = "<script>alert('edi')</script>"
PATH_FILENAME = "../../etc/<b>cron.d</b>/ordrsp.edi"


@dataclass(slots=True)
class Scenario:
    engine: Engine
    hostile: dict[str, int] = field(default_factory=dict)  # kind -> message id

    def exceptions_of(self, message_id: int) -> list[int]:
        with make_session_factory(self.engine).begin() as session:
            return list(session.scalars(select(ExceptionRow.id).where(
                ExceptionRow.message_id == message_id).order_by(ExceptionRow.id)))

    def exception_owned_by(self, owner: str) -> int:
        with make_session_factory(self.engine).begin() as session:
            found = session.scalars(select(ExceptionRow.id).where(
                ExceptionRow.owner == owner, ExceptionRow.message_id.is_not(None))
                .order_by(ExceptionRow.id)).first()
        assert found is not None, f"the scenario has no exception owned by {owner}"
        return found


def _edifact_with_markup() -> bytes:
    body = ("ORDRSP+'BGM+231+ALB-HOSTILE-1+4'DTM+137:20261125:102'"
            f"FTX+AAI+++{EDI_MARKUP.replace(chr(39), '?' + chr(39))}'"
            "RFF+ON:4500099001'NAD+SU+4099997100004::9'"
            "LIN+1+3+4099997100110:EN'IMD+F++:::<b onmouseover=alert(1)>bolt</b>'"
            "QTY+21:60:PCE'DTM+69:20261210:102'")
    return edifact_interchange(body, "HOST1", ALBRECHT_GLN)


def _email(content_type: str, body: str, subject: str) -> bytes:
    return (f"From: Albrecht <{ALBRECHT}>\r\nTo: buyer@brenner-antrieb.example\r\n"
            f"Subject: {subject}\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\n"
            f"Message-ID: <{abs(hash(body))}@albrecht.example>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: {content_type}; charset=utf-8\r\n\r\n{body}\r\n").encode()


def build(engine: Engine, tmp: Path) -> Scenario:
    factory = make_session_factory(engine)
    orders = tmp / "hostile-orders.csv"
    orders.write_text(HOSTILE_ORDERS)
    with factory.begin() as session:
        load_partners(session, read_partner_file(DEMO / "partners.toml"), NOW)
        for path in (DEMO / "orders.csv", orders):
            lines, errors = read_order_file(path)
            assert not errors
            import_lines(session, lines, path.name, NOW)
        for email, role, group in ((ANNA, Role.BUYER, "north"), (JONAS, Role.BUYER, "north"),
                                   (MARKUS, Role.BUYER, "south"), (ADMIN, Role.ADMIN, None),
                                   (IT, Role.IT, None)):
            create_user(session, email, email.split("@")[0].replace(".", " ").title(), role,
                        group, PASSWORD, "test", NOW)
    scenario = Scenario(engine)
    intakes = [(path.name, Intake(path.read_bytes(), "cli", "demo", path.name))
               for path in sorted((DEMO / "messages").glob("*.edi"))]
    intakes += [
        ("edifact", Intake(_edifact_with_markup(), "cli", "demo", PATH_FILENAME)),
        ("script", Intake(_email("text/plain", f"Order 4500099001 line 10: {SCRIPT_BODY} "
                                               "maybe 80 pcs next week?", "AW: 4500099001"),
                          "cli", ALBRECHT, "reply.eml")),
        ("table", Intake(_email("text/html", f"<table><tr><td>{ONERROR}Order 4500099001 "
                                             "line 10 perhaps 70</td></tr></table>",
                                "Re: 4500099001"), "cli", ALBRECHT, "table.eml")),
    ]
    for name, intake in intakes:
        with factory.begin() as session:
            archived = archive(session, intake, NOW)
        with factory.begin() as session:
            process(session, archived.message_id, TODAY, NOW)
        scenario.hostile[name] = archived.message_id
    return scenario
