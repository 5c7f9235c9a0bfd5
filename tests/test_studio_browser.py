"""``popgen studio`` in a real browser: headless Chromium (Debian's) driven by selenium.

The studio runs as ``popgen studio`` in a subprocess on a free local port.
The test opens the page and goes through it as a person would: a typed folder
that is not a run and a chord that does not parse give messages; then, in two
windows at once, it chooses ``pop909-songs``, sets chords and generates, waits
for each audio player to have a source and the MIDI download to exist, and
reads the downloaded MIDI back; it generates again (the warm round trip),
keeps a candidate and continues it, uploads a primer that is not MIDI (a
message) and one that is (a continuation). It checks that the page loaded
nothing from another host, that every file the studio wrote is in its
temporary folder, and that the folder is gone after SIGTERM.

Skipped when gradio, selenium, ``/usr/bin/chromium`` or ``/usr/bin/chromedriver``
is missing, unless ``POPGEN_REQUIRE_BROWSER=1`` (CI), which makes that a failure.
The screenshot (after the first generation) goes to ``docs/img/studio.png``
with ``POPGEN_STUDIO_SCREENSHOT=1`` (another value: that path), else to the
test's temporary folder. ``-s`` shows the round trips it measures.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from popgen import read_midi

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[1]
#: Seconds a page may take to load, and one generation to come back (2 cores, cold compile).
LOAD_S, GENERATE_S = 180, 300


def _missing() -> list[str]:
    missing = [m for m in ("gradio", "selenium") if importlib.util.find_spec(m) is None]
    return missing + [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]


if _missing():
    if os.environ.get("POPGEN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"POPGEN_REQUIRE_BROWSER=1 but missing: {', '.join(_missing())}")
    pytest.skip(f"the browser test needs {', '.join(_missing())}", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``popgen studio`` on a free port, its temporary files under a folder of the test's."""
    tmp = tmp_path_factory.mktemp("studio-tmp")
    log = tmp_path_factory.mktemp("studio-log") / "server.log"
    port = _free_port()
    env = {**os.environ, "TMPDIR": str(tmp)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "popgen", "studio", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + LOAD_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"popgen studio did not serve {url}:\n{log.read_text()}")
        time.sleep(0.5)
    info = {"url": url, "tmp": tmp, "log": log, "proc": proc}
    yield info
    proc.send_signal(signal.SIGTERM)  # the studio removes its folder on the way out
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,2200", "--mute-audio", "--no-first-run"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def _open(driver: Any, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, LOAD_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#generate") and
        "encoding" in d.find_element(By.ID, "about").text
    )  # fmt: skip


def _choose_model(driver: Any, name: str) -> None:
    box = driver.find_element(By.CSS_SELECTOR, "#model input")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(name)
    selector = f"[role=option][aria-label='{name}']"
    option = WebDriverWait(driver, 30).until(
        lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, selector)), None)
    )
    option.click()


def _set_text(driver: Any, selector: str, text: str) -> None:
    field = driver.find_element(By.CSS_SELECTOR, selector)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(text)


def _status(driver: Any) -> str:
    return str(driver.find_element(By.ID, "status").text)


def _wait_status(driver: Any, text: str, timeout: float) -> None:
    """Wait until the status line says ``text``; fail with what it says instead."""
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: text in _status(d))
    except TimeoutException:
        pytest.fail(f"waited {timeout} s for {text!r} in the status; it says {_status(driver)!r}")


def _ready(driver: Any) -> dict[str, str] | None:
    """The first candidate's audio source and MIDI link, once both are on the page."""
    found = driver.execute_script(
        "const a = document.querySelector('#audio-0 audio');"
        "const m = document.querySelector('#files-0 a[download$=\".mid\"]');"
        "return {audio: a ? (a.currentSrc || a.src || '') : '', midi: m ? m.href : ''};"
    )
    return found if found["audio"] and found["midi"] else None


def _uploaded(driver: Any, name: str) -> bool:
    """Whether the primer field shows the file ``name``."""
    return bool(driver.find_elements(By.CSS_SELECTOR, f"#primer [aria-label='{name}']"))


def _screenshot(driver: Any, tmp_path: Path) -> None:
    """Save the page: to docs/img/studio.png with POPGEN_STUDIO_SCREENSHOT=1, else to tmp."""
    shot = os.environ.get("POPGEN_STUDIO_SCREENSHOT")
    target = ROOT / "docs/img/studio.png" if shot == "1" else Path(shot or tmp_path / "studio.png")
    driver.execute_script("window.scrollTo(0, 0)")
    assert driver.save_screenshot(str(target))
    assert target.read_bytes()[1:4] == b"PNG"


def test_studio_in_a_browser(server: dict[str, Any], browser: Any, tmp_path: Path) -> None:
    url = server["url"]
    _open(browser, url)

    # bad input: a folder that is not a run, then chords that do not parse
    _choose_model(browser, "pop909-melody")
    box = browser.find_element(By.CSS_SELECTOR, "#model input")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(tmp_path) + Keys.ENTER)
    WebDriverWait(browser, 60).until(
        lambda d: "not a model popgen can load" in d.find_element(By.ID, "about").text
    )
    _choose_model(browser, "pop909-songs")
    WebDriverWait(browser, 60).until(
        lambda d: "follows chords" in d.find_element(By.ID, "about").text
    )
    _set_text(browser, "#chords textarea", "C Xq7 Am F")
    browser.find_element(By.ID, "generate").click()
    _wait_status(browser, "bar 2", GENERATE_S)

    # the same page, then a second window, both generating at once
    first = browser.current_window_handle
    _set_text(browser, "#chords textarea", "C G Am F")
    browser.switch_to.new_window("window")
    second = browser.current_window_handle
    _open(browser, url)
    _choose_model(browser, "pop909-songs")
    WebDriverWait(browser, 60).until(
        lambda d: "follows chords" in d.find_element(By.ID, "about").text
    )
    _set_text(browser, "#chords textarea", "Am F C G")
    browser.find_element(By.ID, "generate").click()
    browser.switch_to.window(first)
    start = time.perf_counter()
    browser.find_element(By.ID, "generate").click()
    found = WebDriverWait(browser, GENERATE_S, poll_frequency=0.1).until(_ready)
    seconds = time.perf_counter() - start
    print(f"\nround trip (click to audio and MIDI ready, 2 windows at once): {seconds:.2f} s")
    assert "2 candidate(s) ready in" in _status(browser)
    print(f"status: {_status(browser)}")
    _screenshot(browser, tmp_path)

    midi = tmp_path / "downloaded.mid"
    with urllib.request.urlopen(found["midi"], timeout=30) as response:
        midi.write_bytes(response.read())
    song = read_midi(midi)
    assert song.num_notes > 0
    with urllib.request.urlopen(found["audio"], timeout=30) as response:
        assert response.read(4) == b"RIFF"  # a WAV file

    browser.switch_to.window(second)
    other = WebDriverWait(browser, GENERATE_S, poll_frequency=0.1).until(_ready)
    assert other["midi"] != found["midi"]
    with urllib.request.urlopen(other["midi"], timeout=30) as response:
        (tmp_path / "other.mid").write_bytes(response.read())
    assert read_midi(tmp_path / "other.mid").num_notes > 0
    browser.close()
    browser.switch_to.window(first)

    # one more round trip, warm and alone: another seed, wait for new files
    _set_text(browser, "#seed input", "1")
    start = time.perf_counter()
    browser.find_element(By.ID, "generate").click()
    again = WebDriverWait(browser, GENERATE_S, poll_frequency=0.1).until(
        # both links: the page may show the new MIDI file a moment before the new audio
        lambda d: (
            (r := _ready(d)) is not None
            and r["midi"] != found["midi"]
            and r["audio"] != found["audio"]
            and r
        )
    )
    print(f"round trip (warm, one window): {time.perf_counter() - start:.2f} s")
    print(f"status: {_status(browser)}")
    assert again["audio"] != found["audio"]

    # keep the first candidate, then continue it
    browser.find_element(By.CSS_SELECTOR, "#keep label").click()
    _wait_status(browser, "kept popgen sample 0", 60)
    _set_text(browser, "#tokens input", "96")
    browser.find_element(By.ID, "continue").click()
    _wait_status(browser, "continued popgen sample 0", GENERATE_S)
    longer = _ready(browser)
    assert longer is not None and longer["midi"] != again["midi"]
    for name, link in (("kept.mid", again["midi"]), ("longer.mid", longer["midi"])):
        with urllib.request.urlopen(link, timeout=30) as response:
            (tmp_path / name).write_bytes(response.read())
    kept_song, longer_song = read_midi(tmp_path / "kept.mid"), read_midi(tmp_path / "longer.mid")
    assert longer_song.num_notes > kept_song.num_notes  # the kept song, then more

    # a primer upload: first a file that is not MIDI, then a real one
    bad = tmp_path / "bad.mid"
    bad.write_text("not MIDI at all")
    _set_text(browser, "#chords textarea", "")  # a primer goes without chords
    browser.find_element(By.CSS_SELECTOR, "#primer input[type=file]").send_keys(str(bad))
    WebDriverWait(browser, 60).until(lambda d: _uploaded(d, "bad.mid"))
    browser.find_element(By.ID, "generate").click()
    _wait_status(browser, "the primer is not a MIDI file popgen can read: bad.mid", GENERATE_S)
    browser.find_element(
        By.CSS_SELECTOR,
        "#primer button[aria-label='Clear'], #primer button[aria-label='Remove this file']",
    ).click()
    WebDriverWait(browser, 30).until(lambda d: not _uploaded(d, "bad.mid"))
    browser.find_element(By.CSS_SELECTOR, "#primer input[type=file]").send_keys(str(midi))
    WebDriverWait(browser, 60).until(lambda d: _uploaded(d, "downloaded.mid"))
    browser.find_element(By.ID, "generate").click()
    primed = WebDriverWait(browser, GENERATE_S, poll_frequency=0.1).until(
        lambda d: (r := _ready(d)) is not None and r["midi"] != longer["midi"] and r
    )
    with urllib.request.urlopen(primed["midi"], timeout=30) as response:
        (tmp_path / "primed.mid").write_bytes(response.read())
    assert read_midi(tmp_path / "primed.mid").num_notes > song.num_notes  # the primer, then more
    assert "2 candidate(s) ready" in _status(browser)

    # nothing from another host: no fonts, no scripts, no analytics
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded and all(name.startswith(url) for name in loaded), [
        n for n in loaded if not n.startswith(url)
    ]
    # every file the studio wrote is in its own folder, under TMPDIR
    assert [p.name.startswith("popgen-studio-") for p in server["tmp"].iterdir()] == [True]


def test_studio_removes_its_folder_on_exit(server: dict[str, Any], browser: Any) -> None:
    browser.get("about:blank")  # leave the page: no connection left open
    proc = server["proc"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert list(server["tmp"].iterdir()) == []
