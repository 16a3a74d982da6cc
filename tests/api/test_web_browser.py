"""The web view in a real browser (headless Chromium through Selenium) against a real ``crm serve``:
log in, open the pipeline, move a deal, open a customer's account, the overdue list and the period report."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.modules("funnel", "billing")
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    from selenium import webdriver

    assert Path(CHROMIUM).exists() and Path(DRIVER).exists(), \
        "Debian packages chromium and chromium-driver are needed (.ci/run installs them)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--window-size=1280,1024"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    yield driver
    driver.quit()


def test_a_salesperson_logs_in_moves_a_deal_and_reads_an_account_and_the_report(api_server, crm, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 30).until

    crm("user", "add", "alice", "Alice", "--role", "sales")
    crm("user", "password", "alice", "--password-stdin", input="secret-alice-1\n")
    customer = crm("partner", "add", "Dupont SA", "--json").json
    deal = crm("deal", "add", "Dupont: 40 chairs", "--customer", "Dupont SA", "--value", "4800",
               "--expected-close", "2026-12-31", "--owner", "alice", "--json").json
    base = f"http://127.0.0.1:{api_server.port}"

    browser.get(f"{base}/web/pipeline")
    assert "/web/login" in browser.current_url  # no session yet: sent to log in
    browser.find_element(By.ID, "login").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys("secret-alice-1")
    browser.find_element(By.ID, "submit").click()
    # not url_contains: the login page's own address carries ?next=/web/pipeline
    wait(until.title_contains("Pipeline"))
    assert browser.current_url.endswith("/web/pipeline") and browser.title.startswith("Pipeline")
    card = browser.find_element(By.ID, f"deal-{deal['id']}")
    column = card.find_element(By.XPATH, "ancestor::section").get_attribute("data-stage")
    assert column == deal["stage"]
    options = [o.text for o in Select(card.find_element(By.NAME, "stage")).options]
    target = next(name for name in options if name != deal["stage"])
    Select(card.find_element(By.NAME, "stage")).select_by_visible_text(target)
    card.find_element(By.TAG_NAME, "button").click()
    wait(until.staleness_of(card))  # the board again, after the move
    moved = browser.find_element(By.ID, f"deal-{deal['id']}")
    assert moved.find_element(By.XPATH, "ancestor::section").get_attribute("data-stage") == target
    shown = crm("deal", "show", str(deal["id"]), "--json").json
    assert shown["stage"] == target and shown["history"][-1]["user"] == "alice"

    browser.get(f"{base}/web/partners/{customer['id']}/account")
    assert browser.title.startswith("Account of Dupont SA")
    assert "Dupont: 40 chairs" in browser.find_element(By.TAG_NAME, "main").text

    browser.find_element(By.LINK_TEXT, "Overdue").click()
    wait(until.title_contains("Overdue"))
    assert browser.title.startswith("Overdue invoices")

    browser.find_element(By.LINK_TEXT, "Period report").click()
    wait(until.url_contains("/web/report"))
    sections = browser.execute_script(
        "return Array.from(document.querySelectorAll('section.section')).map(s => s.id)")
    assert {"funnel", "billing"} <= set(sections)

    browser.get(f"{base}/web/pipeline")
    browser.find_element(By.ID, "logout").click()
    wait(until.url_contains("/web/login"))
    browser.get(f"{base}/web/pipeline")
    assert "/web/login" in browser.current_url
