"""The smoke run's HTML report in a real browser: headless Chromium (Debian packages chromium and
chromium-driver, installed with apt-get when missing) driven by Selenium.

Snakemake's report is a single-page app: its figures are data URIs in the page's `results`
object, shown when a user opens a category. The test lets the app render, then has the browser
decode every figure the report holds (an <img> per entry, waiting for load or error) and saves a
screenshot of the landing page and of one opened figure (set MSGNN_SCREENSHOTS=DIR to keep them)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import debian_packages

pytestmark = pytest.mark.slow

# every figure of the report: decoded by the browser, its size or the reason it failed
DECODE_ALL = """
const done = arguments[arguments.length - 1];
const entries = Object.values(window.results || {}).filter(r => (r.mime_type || "").startsWith("image/"));
Promise.all(entries.map(r => new Promise(resolve => {
  const img = new Image();
  img.onload = () => resolve({name: r.name, width: img.naturalWidth, height: img.naturalHeight});
  img.onerror = () => resolve({name: r.name, width: 0, height: 0, error: "did not decode"});
  img.src = r.data_uri;
}))).then(done);
"""


@pytest.fixture(scope="module")
def browser():
    try:
        debian_packages.install(["chromium", "chromium-driver"], ["chromium", "chromedriver"])
    except debian_packages.Unavailable as e:
        pytest.skip(str(e))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    driver.set_script_timeout(120)
    yield driver
    driver.quit()


def test_report_renders_and_every_figure_loads(browser, smoke_report, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    shots = Path(os.environ.get("MSGNN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    browser.get(smoke_report.as_uri())
    body = lambda d: d.find_element(By.TAG_NAME, "body").text
    # the app has rendered once its navigation lists the result categories
    WebDriverWait(browser, 60).until(lambda d: all(c in body(d) for c in ("MD", "Microscopy", "Reactor", "Model accuracy")))
    assert browser.save_screenshot(str(shots / "report.png"))

    figures = browser.execute_async_script(DECODE_ALL)
    assert len(figures) >= 10, f"only {len(figures)} figures in the report"
    broken = [f for f in figures if f.get("error") or f["width"] < 50 or f["height"] < 50]
    assert not broken, f"figures that do not load in Chromium: {broken}"

    # a user's clicks: MD -> Al -> the eye of its first figure -> the figure shows
    browser.find_element(By.XPATH, "//*[normalize-space(text())='MD']").click()
    subcategory = browser.find_elements(By.XPATH, "//*[normalize-space(text())='Al']")   # per material
    if subcategory:
        subcategory[0].click()
    browser.find_element(By.XPATH, "(//a[@iconname='eye'])[1]").click()
    shown = lambda d: [i for i in d.find_elements(By.TAG_NAME, "img")
                       if (i.get_attribute("src") or "").startswith("data:image/png")
                       and int(i.get_attribute("naturalWidth") or 0) > 50]
    WebDriverWait(browser, 30).until(shown)
    assert browser.save_screenshot(str(shots / "report_figure.png"))

    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"JavaScript errors in the report: {errors}"
