"""The demo's period report and an invoice, opened in a real browser (headless Chromium).

Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) are driven through
Selenium. The test checks what a person would see: every module's section is there, each chart is
drawn with bars of a real size, nothing overflows the page; and it saves screenshots (into the
test's folder, and into ``$CRM_SCREENSHOTS`` when that names a folder) to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.testing import CrmRunner, Workspace

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser") / "demo"
    crm = CrmRunner(Workspace(folder=folder, database_url="", backend="sqlite"), today=None)
    result = crm("demo", str(folder), "--days", "30", "--json")
    return folder, result.json


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver

    assert Path(CHROMIUM).exists() and Path(DRIVER).exists(), \
        "Debian packages chromium and chromium-driver are needed (.ci/run installs them)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # As root in a container, without a GPU, and with no network beyond this machine.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--window-size=1280,1024"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    yield driver
    driver.quit()


def _screenshot(driver, tmp_path: Path, name: str) -> Path:
    """The whole page as PNG: the window is made as tall as the page first."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height + 40, 600), 12000))
    target = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(target))
    keep = os.environ.get("CRM_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(target, Path(keep) / target.name)
    return target


def _drawn_bars(driver) -> list[dict]:
    """Per chart: its caption and the sizes the browser laid its bars out at."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('figure.chart')).map(f => ({
            title: f.dataset.chart,
            svg: !!f.querySelector('svg'),
            bars: Array.from(f.querySelectorAll('rect.bar')).map(r => {
                const box = r.getBoundingClientRect(); return [box.width, box.height]; })
        }));""")


def test_the_period_report_opens_with_every_section_and_its_charts(demo, browser, tmp_path):
    folder, summary = demo
    page = Path(summary["reports"]["period_html"])
    browser.get(page.as_uri())
    assert browser.title.startswith("Rapport de période")
    sections = browser.execute_script("return Array.from(document.querySelectorAll('section.section')).map(s => s.id)")
    assert set(sections) >= {"funnel", "billing", "procurement"}
    charts = _drawn_bars(browser)
    assert len(charts) >= 4
    assert all(chart["svg"] for chart in charts if chart["bars"])
    drawn = [chart for chart in charts if any(w > 0 and h > 0 for w, h in chart["bars"])]
    assert len(drawn) >= 3, charts  # thirty days of a company: the funnel, revenue and aging have bars
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    shot = _screenshot(browser, tmp_path, "period-report")
    assert shot.stat().st_size > 20_000


def test_an_invoice_opens_as_a_page_a_person_can_read(demo, browser, tmp_path):
    folder, _ = demo
    crm = CrmRunner(Workspace(folder=folder, database_url="", backend="sqlite"), today=None)
    [first, *_] = crm("invoice", "list", "--json").json
    target = tmp_path / "invoice.html"
    crm("invoice", "pdf", str(first["id"]), "--html", "--output", str(target))
    browser.get(target.as_uri())
    text = browser.find_element("tag name", "body").text
    assert first["number"] in text and "SIREN" in text and "40" in text  # the fixed recovery indemnity
    assert browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert _screenshot(browser, tmp_path, "invoice").stat().st_size > 10_000
