"""The web app in a real browser: Debian's headless Chromium driven by Selenium through the
system chromedriver (nothing is downloaded at test time). A buyer signs in, filters the
queue, opens an exception, sees the raw excerpt with the line highlighted, acknowledges and
resolves it, switches the page to Chinese; a buyer of another group finds it read-only; a
buyer rejects a quantity change and sees the reply, which IT finds in the outbox; IT releases
a quarantined message and watches it reconcile; an admin makes a new tolerance profile
version.

With GATEWAY_SCREENSHOTS=DIR the main pages are saved there as PNG (the README's pictures:
`GATEWAY_SCREENSHOTS=docs/screenshots pytest tests/e2e/test_browser.py`).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from gateway.bootstrap import make_engine, make_session_factory
from gateway.config import Settings
from gateway.persistence.models import Supplier, SupplierIdentity
from gateway.persistence.schema import upgrade
from gateway.services.ingest import Intake, archive, process
from gateway.web.app import create_app
from gateway.web.security import WebSettings
from tests.integration.conftest import edifact_interchange
from tests.integration.web_scenario import (
    ADMIN,
    ALBRECHT,
    ANNA,
    IT,
    MARKUS,
    NOW,
    PASSWORD,
    TODAY,
    Scenario,
    build,
)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _require_chromium() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if not missing:
        return
    reason = (f"{' and '.join(missing)} missing: install Debian's chromium and "
              "chromium-driver")
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Settings, Engine]]:
    settings = Settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    engine = make_engine(settings)
    upgrade(engine)
    yield settings, engine
    engine.dispose()


@pytest.fixture
def scenario(database: tuple[Settings, Engine], tmp_path: Path) -> Scenario:
    return build(database[1], tmp_path)


@pytest.fixture
def server(database: tuple[Settings, Engine], scenario: Scenario) -> Iterator[str]:
    import uvicorn

    app = create_app(database[0], web_settings=WebSettings("browser-test-secret-" * 3),
                     clock=lambda: NOW)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                            log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert thread.is_alive(), "the web server stopped while starting"
        assert time.monotonic() < deadline, "the web server did not start in 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    _require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def _shoot(driver: object, name: str) -> None:
    folder = os.environ.get("GATEWAY_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))  # type: ignore[attr-defined]


def _wait_for_text(driver: object, element_id: str, text: str) -> None:
    """After a click the old page may still be there: wait for the new one. While the page
    is being replaced, reading the element can fail in more ways than a stale reference:
    chromedriver also answers "unknown error: Node with given id does not belong to the
    document" when the node it found went with the old document. Any driver error is a "not
    yet" here; the assertion after the wait reads the settled page."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(  # type: ignore[arg-type]
        expected_conditions.text_to_be_present_in_element((By.ID, element_id), text))
    assert driver.find_element(By.ID, element_id).text == text  # type: ignore[attr-defined]


def _wait_for_url(driver: object, part: str) -> None:
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(  # type: ignore[arg-type]
        expected_conditions.url_contains(part))
    WebDriverWait(driver, 15).until(  # type: ignore[arg-type]
        lambda d: d.execute_script("return document.readyState") == "complete")


def _sign_in(driver: object, server: str, email: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{server}/exceptions")  # type: ignore[attr-defined]
    _shoot(driver, "login")
    driver.find_element(By.ID, "email").send_keys(email)  # type: ignore[attr-defined]
    driver.find_element(By.ID, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
    driver.find_element(By.ID, "sign-in").click()  # type: ignore[attr-defined]
    _wait_for_url(driver, "/exceptions")
    assert driver.find_element(By.ID, "whoami").text.startswith(  # type: ignore[attr-defined]
        email.split("@")[0].replace(".", " ").title())


def test_a_buyer_works_an_exception_in_the_browser(server: str, browser: object,
                                                   scenario: Scenario) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    _sign_in(driver, server, ANNA)
    _shoot(driver, "queue")
    Select(driver.find_element(By.ID, "f-supplier")).select_by_value(  # type: ignore[attr-defined]
        "ALBRECHT")
    driver.find_element(By.ID, "f-order").send_keys("4500099001")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "apply-filters").click()  # type: ignore[attr-defined]
    _wait_for_url(driver, "order=4500099001")
    assert "supplier=ALBRECHT" in driver.current_url  # type: ignore[attr-defined]
    assert "order=4500099001" in driver.current_url  # type: ignore[attr-defined]
    rows = driver.find_elements(By.CSS_SELECTOR, "#queue tbody tr")  # type: ignore[attr-defined]
    codes = [row.find_element(By.CSS_SELECTOR, "td.code").text for row in rows]
    assert "QTY_SHORT" in codes
    rows[codes.index("QTY_SHORT")].find_element(By.TAG_NAME, "a").click()
    _wait_for_url(driver, "/exceptions/")

    marked = driver.find_elements(By.CSS_SELECTOR, "#excerpt mark")  # type: ignore[attr-defined]
    assert marked[0].text.startswith("LIN+1+3+4099997100110")
    assert driver.find_element(By.ID, "expected").text == "100 PCE"  # type: ignore[attr-defined]
    assert driver.find_element(By.ID, "actual").text == "60 PCE"  # type: ignore[attr-defined]
    # The supplier's markup is text on the page, and ran nowhere.
    excerpt = driver.find_element(By.ID, "excerpt").text  # type: ignore[attr-defined]
    assert "<script>alert(?'edi?')</script>" in excerpt
    _shoot(driver, "exception")

    driver.find_element(By.ID, "do-acknowledge").click()  # type: ignore[attr-defined]
    _wait_for_text(driver, "state", "acknowledged")
    driver.find_element(By.ID, "do-resolve").click()  # type: ignore[attr-defined]
    _wait_for_text(driver, "state", "resolved")
    trail = driver.find_element(By.ID, "trail").text  # type: ignore[attr-defined]
    assert trail.count(ANNA) == 2

    Select(driver.find_element(By.ID, "locale")).select_by_value(  # type: ignore[attr-defined]
        "zh_Hans")
    driver.find_element(By.ID, "set-language").click()  # type: ignore[attr-defined]
    _wait_for_text(driver, "state", "已解决")
    driver.get(f"{server}/exceptions")  # type: ignore[attr-defined]
    assert "异常" in driver.find_element(By.TAG_NAME, "h1").text  # type: ignore[attr-defined]
    _shoot(driver, "queue-zh")


def test_a_buyer_of_another_group_cannot_act(server: str, browser: object,
                                             scenario: Scenario) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    _sign_in(driver, server, MARKUS)
    exception_id = scenario.exception_owned_by(ANNA)
    driver.get(f"{server}/exceptions/{exception_id}")  # type: ignore[attr-defined]
    assert driver.find_element(By.ID, "read-only").is_displayed()  # type: ignore[attr-defined]
    driver.implicitly_wait(0)  # type: ignore[attr-defined]
    assert driver.find_elements(By.ID, "do-acknowledge") == []  # type: ignore[attr-defined]
    assert driver.find_element(By.ID, "state").text == "open"  # type: ignore[attr-defined]


def test_a_buyer_reads_the_dashboard_and_a_suppliers_scorecard(server: str,
                                                              browser: object) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    _sign_in(driver, server, ANNA)
    driver.get(f"{server}/")  # type: ignore[attr-defined]
    _wait_for_url(driver, "/dashboard")
    _shoot(driver, "dashboard")
    assert driver.find_element(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, '#by-supplier tr[data-supplier="ALBRECHT"]').is_displayed()
    driver.find_element(By.LINK_TEXT, "Suppliers").click()  # type: ignore[attr-defined]
    _wait_for_url(driver, "/suppliers")
    driver.find_element(By.LINK_TEXT, "ALBRECHT").click()  # type: ignore[attr-defined]
    _wait_for_url(driver, "/suppliers/ALBRECHT")
    driver.get(f"{server}/suppliers/ALBRECHT?from=2026-11-01&to=2026-12-31")  # type: ignore[attr-defined]
    _wait_for_url(driver, "from=2026-11-01")
    _shoot(driver, "supplier")
    chart = driver.find_element(By.CSS_SELECTOR, "#chart-otif svg")  # type: ignore[attr-defined]
    assert chart.size["width"] > 100
    assert chart.size["height"] > 100
    assert driver.find_element(By.ID, "m-confirmation").text != ""  # type: ignore[attr-defined]


def test_a_buyer_rejects_a_quantity_change_and_it_finds_the_reply_in_the_outbox(
        server: str, browser: object, scenario: Scenario) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    _sign_in(driver, server, ANNA)
    exception_id = scenario.exceptions_of(scenario.hostile["edifact"])[0]
    driver.get(f"{server}/exceptions/{exception_id}")  # type: ignore[attr-defined]
    assert driver.find_element(By.ID, "actual").text == "60 PCE"  # type: ignore[attr-defined]
    driver.find_element(By.ID, "reject-reason").send_keys(  # type: ignore[attr-defined]
        "we need all 100 pieces")
    driver.find_element(By.ID, "do-reject").click()  # type: ignore[attr-defined]
    _wait_for_text(driver, "state", "change rejected")
    reply = driver.find_element(By.CSS_SELECTOR, "#reply-list tbody tr")  # type: ignore[attr-defined]
    assert ALBRECHT in reply.text
    assert reply.find_element(By.CSS_SELECTOR, "td[data-state]").text == "pending"
    _shoot(driver, "rejected")

    driver.find_element(By.ID, "logout").click()  # type: ignore[attr-defined]
    _wait_for_url(driver, "/login")
    _sign_in(driver, server, IT)
    driver.find_element(By.LINK_TEXT, "Outbox").click()  # type: ignore[attr-defined]
    _wait_for_url(driver, "/outbox")
    Select(driver.find_element(By.ID, "f-kind")).select_by_value(  # type: ignore[attr-defined]
        "rejection")
    driver.find_element(By.ID, "apply-filters").click()  # type: ignore[attr-defined]
    _wait_for_url(driver, "kind=rejection")
    _shoot(driver, "outbox")
    rows = driver.find_elements(By.CSS_SELECTOR, "#outbox tbody tr")  # type: ignore[attr-defined]
    assert len(rows) == 1
    assert ALBRECHT in rows[0].text
    rows[0].find_element(By.LINK_TEXT, f"exception #{exception_id}").click()
    _wait_for_url(driver, f"/exceptions/{exception_id}")
    assert driver.find_element(By.ID, "state").text == "change rejected"  # type: ignore[attr-defined]


UNKNOWN_GLN = "4000000000000"


def _quarantined_confirmation(engine: Engine) -> int:
    """An order response from a party id no partner entry lists yet: quarantined."""
    raw = edifact_interchange(
        "ORDRSP+'BGM+231+Q-2+4'DTM+137:20261125:102'RFF+ON:4500099001'"
        f"NAD+SU+{UNKNOWN_GLN}::9'LIN+1+3+4099997100110:EN'QTY+21:100:PCE'"
        "DTM+69:20261210:102'", "Q2", UNKNOWN_GLN)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        message_id = archive(session, Intake(raw, "cli", "edi@new-site.example", "q.edi"),
                             NOW).message_id
    with factory.begin() as session:
        process(session, message_id, TODAY, NOW)
    return message_id


def _add_party_id(engine: Engine) -> None:
    """The cause fixed: the supplier's new site is added to its partner entry."""
    with make_session_factory(engine).begin() as session:
        albrecht = session.scalars(select(Supplier).where(Supplier.code == "ALBRECHT")).one()
        session.add(SupplierIdentity(supplier_id=albrecht.id, kind="edi", value=UNKNOWN_GLN,
                                     qualifier="14"))


def test_it_releases_a_quarantined_message_and_watches_it_reconcile(
        server: str, browser: object, database: tuple[Settings, Engine]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    engine = database[1]
    message_id = _quarantined_confirmation(engine)
    driver = browser
    _sign_in(driver, server, IT)
    driver.find_element(By.LINK_TEXT, "Messages").click()  # type: ignore[attr-defined]
    _wait_for_url(driver, "/messages")
    Select(driver.find_element(By.ID, "f-state")).select_by_value(  # type: ignore[attr-defined]
        "quarantined")
    driver.find_element(By.ID, "apply-filters").click()  # type: ignore[attr-defined]
    _wait_for_url(driver, "state=quarantined")
    _shoot(driver, "messages")
    listed = driver.find_elements(By.CSS_SELECTOR, "#messages tbody tr")  # type: ignore[attr-defined]
    assert [row.get_attribute("data-id") for row in listed] == [str(message_id)]
    listed[0].find_element(By.LINK_TEXT, str(message_id)).click()
    _wait_for_url(driver, f"/messages/{message_id}")
    assert driver.find_element(By.ID, "message-state").text == "quarantined"  # type: ignore[attr-defined]
    assert UNKNOWN_GLN in driver.find_element(By.ID, "state-reason").text  # type: ignore[attr-defined]

    _add_party_id(engine)
    driver.find_element(By.ID, "do-release").click()  # type: ignore[attr-defined]
    _wait_for_text(driver, "message-state", "reconciled")
    assert driver.find_element(By.ID, "done").is_displayed()  # type: ignore[attr-defined]
    history = driver.find_element(By.ID, "history").text  # type: ignore[attr-defined]
    assert IT in history
    driver.get(f"{server}/messages?state=quarantined")  # type: ignore[attr-defined]
    driver.implicitly_wait(0)  # type: ignore[attr-defined]
    assert driver.find_elements(By.CSS_SELECTOR, "#messages tbody tr") == []  # type: ignore[attr-defined]


def test_an_admin_makes_a_new_tolerance_profile_version(server: str, browser: object) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    _sign_in(driver, server, ADMIN)
    driver.get(f"{server}/suppliers/ALBRECHT")  # type: ignore[attr-defined]
    driver.find_element(By.CSS_SELECTOR, "#edit-profile summary").click()  # type: ignore[attr-defined]
    price = driver.find_element(By.ID, "limit-price_pct")  # type: ignore[attr-defined]
    price.clear()
    price.send_keys("3.5")
    _shoot(driver, "supplier-admin")
    driver.find_element(By.ID, "save-profile").click()  # type: ignore[attr-defined]
    _wait_for_url(driver, "done=profile")
    assert driver.find_element(By.ID, "done-profile").is_displayed()  # type: ignore[attr-defined]
    versions = driver.find_elements(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, "#profiles tr[data-version]")
    assert [row.get_attribute("data-version") for row in versions] == ["2", "1"]
    assert "3.5" in versions[0].text
