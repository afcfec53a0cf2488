"""The verification station end to end, in a real browser (Debian's chromium through
chromium-driver and Selenium): ``hotocr run`` reads a dropped, stained page and flags it;
``hotocr verify`` serves it; a person logs in, opens it from the queue, fixes one word with
the mouse and one with the keyboard, saves, and marks the document verified. Then every
output, ``index.csv`` and the ``verified`` hook event must show it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import degrade, render_page

LINES = (
    "Payment is due within thirty days.",
    "Please quote the order number on every letter.",
)
TOKEN = "browser-test-token"
DOCS = Path(__file__).resolve().parent.parent / "docs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def browser():  # type: ignore[no-untyped-def]
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("chromium or chromium-driver not installed")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for drivers online
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(driver))


def test_a_person_fixes_two_words_and_every_output_follows(daemon_factory, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.common.keys import Keys  # noqa: PLC0415
    from selenium.webdriver.support import expected_conditions as ec  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    events = tmp_path / "events.jsonl"
    daemon = daemon_factory(
        watch_extra=(
            'verify = "flagged"\n'
            "[watch.ocr]\nlow_confidence = 99\n"
            'outputs = ["txt", "json", "pdf", "hocr", "alto"]\n'
            '[[watch.hook]]\nname = "dms"\n'
            f'command = ["sh", "-c", "cat >> {events}; echo >> {events}"]\n'
        )
    )
    page = degrade(render_page(LINES, height=900, size=40), seed=5)
    page.save(daemon.inbox / "stained.png", dpi=(300, 300))
    (done,) = daemon.wait_done(1, timeout=120)
    assert done["flagged_pages"] == [1]
    port = free_port()
    station = subprocess.Popen(
        [sys.executable, "-m", "hotocr", "verify", "--config", str(daemon.root / "config.toml"),
         "--listen", f"127.0.0.1:{port}"],
        env={**os.environ, "HOTOCR_VERIFY_TOKEN": TOKEN},
        cwd=daemon.root,
    )  # fmt: skip
    driver = browser()
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "hotocr verify did not start"
                time.sleep(0.2)
        wait = WebDriverWait(driver, 30)
        driver.get(base + "/")
        wait.until(ec.presence_of_element_located((By.ID, "token")))
        driver.find_element(By.ID, "user").send_keys("Anna Verifier")
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        driver.find_element(By.ID, "login").click()
        link = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "a.document")))
        assert link.text == "stained.png"
        link.click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".word.low")))
        wait.until(lambda d: d.execute_script("return document.getElementById('page').complete"))
        # The mouse: a low-confidence word's box, its text replaced.
        boxes = driver.find_elements(By.CSS_SELECTOR, ".word.low")
        first = int(boxes[0].get_attribute("data-index"))
        boxes[0].click()
        field = driver.find_element(By.ID, "word")
        field.clear()
        field.send_keys("MOUSEFIX", Keys.ENTER)  # applies, and goes on to the next low word
        # The keyboard: Enter moved to the next low word; type over it, apply, save.
        field = driver.find_element(By.ID, "word")
        second = int(driver.execute_script("return current"))
        assert second != first
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys("KEYFIX", Keys.ENTER)
        field.send_keys(Keys.CONTROL, "s")
        wait.until(ec.text_to_be_present_in_element((By.ID, "message"), "Saved"))
        driver.find_element(By.ID, "fit").click()
        driver.save_screenshot(str(tmp_path / "station.png"))
        driver.find_element(By.ID, "verified").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "message"), "verified"))
    finally:
        driver.quit()
        station.terminate()
        station.wait(timeout=30)
    if os.environ.get("HOTOCR_SCREENSHOT"):  # refreshes the picture in docs/
        shutil.copy(tmp_path / "station.png", DOCS / "verify.png")
    out = daemon.outbox
    text = (out / "stained.txt").read_text()
    assert "MOUSEFIX" in text and "KEYFIX" in text
    data = json.loads((out / "stained.json").read_text())
    edits = data["pages"][0]["edits"]
    assert sorted(e["after"] for e in edits) == ["KEYFIX", "MOUSEFIX"]
    assert {e["who"] for e in edits} == {"Anna Verifier"}
    assert {e["word"] for e in edits} == {first, second}
    assert data["verification"]["state"] == "verified"
    for word in (first, second):  # the recognizer's reading is kept
        assert data["pages"][0]["words"][word]["text"] not in ("MOUSEFIX", "KEYFIX")
    for name in ("stained.hocr", "stained.alto.xml"):
        shown = (out / name).read_text()
        assert "MOUSEFIX" in shown and "KEYFIX" in shown, name
    pdf = subprocess.run(
        ["pdftotext", str(out / "stained.ocr.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "MOUSEFIX" in pdf and "KEYFIX" in pdf
    assert ",verified," in (out / "index.csv").read_text()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        told = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
        if any(e["event"] == "verified" for e in told):
            break
        time.sleep(0.5)
    verified = [e for e in told if e["event"] == "verified"]
    assert len(verified) == 1 and verified[0]["verified_by"] == "Anna Verifier"
