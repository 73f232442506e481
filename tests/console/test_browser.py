"""The console in a real browser (issue 20 "Must show"): Debian's headless Chromium, driven by
selenium, against a live daphne — log in, watch the tiles change when a simulated charger
faults (no reload), open a session's chart, send a guided Remote stop and see the charger's
answer. Screenshots land in var/test-artifacts/console/."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from ocpp.v16 import call
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from chargepoints.models import Command
from chargepoints.services.charge_points import charge_point_create
from csms.alerts.models import Alert, AlertKind, AlertRule, AlertState
from csms.tenancy.models import Tenant
from tests.console.browser import (
    ChargerThread,
    boot_and_report,
    browser_available,
    chromium,
    console_daphne,
    http_url_of,
    iso,
    screenshot,
)
from tests.factories import IdTagFactory
from tests.live_fixtures import wait_for_disconnects
from tests.ocpp_clients import ocpp_url
from tests.servers import ServerProcess, no_crash_logged
from transactions.models import Transaction

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not browser_available(),
        reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
    ),
]
PASSWORD = "operator-password-for-tests"
# The tiles poll every 5 s; the live panel every 3 s; a command's outcome every 1 s.
WAIT = 20


@pytest.fixture(scope="module")
def live(django_db_setup: None, django_db_blocker: Any) -> Iterator[ServerProcess]:
    with console_daphne() as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def charger_for(live: ServerProcess) -> Iterator[Callable[[str], ChargerThread]]:
    """Simulated chargers of tenant ``acme``, closed after the test; the test fails if the
    server logged a crash meanwhile."""
    started: list[ChargerThread] = []

    def start(identity: str) -> ChargerThread:
        thread = ChargerThread(ocpp_url(live.ws_url, "acme", identity), identity)
        started.append(thread)
        thread.connect()
        return thread

    with no_crash_logged(live):
        yield start
        for thread in started:
            thread.close()
        wait_for_disconnects(within=10)


def log_in(browser: WebDriver, live: ServerProcess) -> None:
    User.objects.create_superuser("operator", "operator@example.com", PASSWORD)
    browser.delete_all_cookies()
    browser.get(f"{http_url_of(live)}{reverse('admin:login')}")
    browser.find_element(By.NAME, "username").send_keys("operator")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.ID, "fleet-at-a-glance"))


def tile(browser: WebDriver, tenant: Tenant, key: str) -> str:
    selector = f'section[data-tenant="{tenant.pk}"] li[data-tile="{key}"] .value'
    return browser.find_element(By.CSS_SELECTOR, selector).text


def test_tiles_change_when_a_simulated_charger_faults(
    browser: WebDriver,
    live: ServerProcess,
    tenant: Tenant,
    charger_for: Callable[[str], ChargerThread],
) -> None:
    charge_point_create(tenant=tenant, identity="CP-0001")
    AlertRule.objects.create(tenant=tenant, name="Faults", kind=AlertKind.CONNECTOR_FAULTED)
    log_in(browser, live)
    assert tile(browser, tenant, "faulted") == "0"
    assert tile(browser, tenant, "open_alerts") == "0"
    assert tile(browser, tenant, "online") == "0"
    screenshot(browser, "01-index-after-login")
    # A mark on this very page: a reload would lose it.
    browser.execute_script("window.consoleNotReloaded = true;")

    charger = charger_for("CP-0001")
    boot_and_report(charger, status="Faulted", error_code="GroundFailure", vendor_error_code="E-17")

    WebDriverWait(browser, WAIT).until(lambda d: tile(d, tenant, "faulted") == "1")
    assert tile(browser, tenant, "online") == "1"
    assert tile(browser, tenant, "connectors_Faulted") == "1"
    # The alert rule heard the fault through the event bus, in the server process.
    WebDriverWait(browser, WAIT).until(lambda d: tile(d, tenant, "open_alerts") == "1")
    alert = Alert.objects.get()
    assert (alert.identity, alert.state) == ("CP-0001", AlertState.OPEN)
    assert alert.detail.startswith("connector 1: GroundFailure (E-17)")
    assert browser.execute_script("return window.consoleNotReloaded === true;")
    screenshot(browser, "02-index-tiles-after-fault")

    # The tile is a link to the list of what it counts, which says what is wrong.
    browser.find_element(
        By.CSS_SELECTOR, f'section[data-tenant="{tenant.pk}"] li[data-tile="faulted"] a'
    ).click()
    WebDriverWait(browser, WAIT).until(lambda d: "problem=faulted" in d.current_url)
    page = browser.find_element(By.ID, "result_list").text
    assert "CP-0001" in page and "GroundFailure (E-17)" in page
    screenshot(browser, "03-faulted-charge-points")


def test_session_chart_and_guided_remote_stop(
    browser: WebDriver,
    live: ServerProcess,
    tenant: Tenant,
    charger_for: Callable[[str], ChargerThread],
) -> None:
    charge_point = charge_point_create(tenant=tenant, identity="CP-0002")
    IdTagFactory(tenant=tenant, id_tag="DRIVER-1")
    charger = charger_for("CP-0002")
    boot_and_report(charger, status="Charging")
    started = datetime.now(UTC) - timedelta(minutes=30)
    answer = charger.ask(
        call.StartTransaction(
            connector_id=1, id_tag="DRIVER-1", meter_start=10_000, timestamp=iso(started)
        )
    )
    transaction_id = answer.transaction_id
    for minute, (energy, power) in enumerate([(10_000, 0), (11_500, 9_000), (14_000, 11_000)]):
        at = started + timedelta(minutes=10 * minute)
        charger.ask(
            call.MeterValues(
                connector_id=1,
                transaction_id=transaction_id,
                meter_value=[
                    {
                        "timestamp": iso(at),
                        "sampled_value": [
                            {"value": str(energy), "unit": "Wh"},
                            {"value": str(power), "measurand": "Power.Active.Import", "unit": "W"},
                        ],
                    }
                ],
            )
        )
    log_in(browser, live)

    # The session page: summary and a chart of power and energy.
    session_page = reverse("admin:transactions_transaction_change", args=[transaction_id])
    browser.get(f"{http_url_of(live)}{session_page}")
    WebDriverWait(browser, WAIT).until(
        lambda d: (
            d.execute_script(
                "const c = document.getElementById('session-chart');"
                "return c && window.Chart && Chart.getChart(c) ? Number(c.dataset.points) : 0;"
            )
            == 6
        )
    )
    drawn = browser.execute_script(
        "const chart = Chart.getChart(document.getElementById('session-chart'));"
        "return chart.data.datasets.map(d => d.data.map(p => p.y));"
    )
    assert drawn == [[0.0, 9.0, 11.0], [0.0, 1.5, 4.0]]  # kW, kWh since meterStart
    summary = browser.find_element(By.ID, "session-summary").text
    browser.execute_script("document.getElementById('session-summary').scrollIntoView();")
    assert "4.000 kWh" in summary and "11000 W" in summary
    screenshot(browser, "04-session-chart")

    # The charge point's console: a guided Remote stop of the live session.
    console_page = reverse("admin:chargepoints_chargepoint_console", args=[charge_point.pk])
    browser.get(f"{http_url_of(live)}{console_page}")
    form = browser.find_element(By.ID, "action-remote-stop")
    assert {
        e.get_attribute("name") for e in form.find_elements(By.CSS_SELECTOR, "select, input")
    } == {
        "csrfmiddlewaretoken",
        "remote-stop-transaction_id",
        "send-remote-stop",
    }
    form.find_element(By.NAME, "send-remote-stop").click()
    WebDriverWait(browser, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#outcome-remote-stop .answer")
    )
    outcome = browser.find_element(By.ID, "outcome-remote-stop").text
    assert "completed" in outcome and "Accepted" in outcome
    assert charger.client is not None and charger.client.remote_stops == [transaction_id]
    command = Command.objects.get(action="RemoteStopTransaction")
    assert command.payload == {"transactionId": transaction_id}
    assert command.response == {"status": "Accepted"}
    assert browser.current_url.endswith("/console/")  # answered in place, no page load
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", form)
    screenshot(browser, "05-remote-stop-accepted")
    assert Transaction.objects.get(pk=transaction_id).active  # the charger stops it next
