"""The dashboard in a real browser: Debian's chromium driven by Playwright, against a
``streamlit run`` server on a free loopback port and the output of a small ``twinrca demo``
run (or the store ``TWINRCA_TEST_DEMO_STORE`` names, or the seeded sample with
``TWINRCA_TEST_DASHBOARD_DATA=sample``). Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.dashboard_sample import seed_file

from twinrca.dashboards.launch import command, config_for, environment

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TWINRCA_TEST_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PAGES = [
    ("Predictions", "Predicted faults"),
    ("FMEA", "FMEA"),
    ("Twin lab", "Twin lab"),
    ("Silences", "Silences"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("the dashboard did not become healthy")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str | None]]:
    """(base URL, API key or None when the demo store is used without keys)."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium at {CHROMIUM} (deploy/browser.sh install)")
    root = tmp_path_factory.mktemp("browser")
    demo = os.environ.get("TWINRCA_TEST_DEMO_STORE")
    system = None
    if demo:
        path, key, auth = root / "demo.duckdb", None, "none"
        shutil.copy(demo, path)  # never write into the demo's own file
        tenant = os.environ.get("TWINRCA_TEST_DEMO_TENANT", "default")
    elif os.environ.get("TWINRCA_TEST_DASHBOARD_DATA") == "sample":
        path, tenant, auth = root / "sample.duckdb", "acme", "key"
        key = seed_file(path, tenant=tenant, cells=48, seed=3).api_key
    else:  # the demo's own output: a small `twinrca demo` run, signed in with its API key
        from twinrca.cli.demo_run import run_demo

        result = run_demo(root / "demo", cells=60, days=2.0, faults=6, seed=5, say=lambda *a: None)
        path, tenant, auth = result.store_path, "demo", "key"
        key, system = result.summary["api_key"], "demo"
    cfg = config_for(
        path,
        auth=auth,
        tenant=tenant,
        jobs_dir=root / "jobs",
        refresh_s=30,
        **({"system_tenant": system} if system else {}),
    )
    port = _free_port()
    log = (root / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        command(port), env=environment(cfg), stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, key
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser_page(server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1440, "height": 900},
        )  # fmt: skip
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()


def _settled(page) -> None:
    """Wait until Streamlit stopped running the script."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=20_000
    )
    page.wait_for_timeout(400)  # charts draw after the script finished


def _no_exception(page, where: str) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, f"{where}: {boxes.first.inner_text()}"


def _shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    # Streamlit scrolls inside the app, not the document: grow the window for the shot
    page.set_viewport_size({"width": 1440, "height": 2400})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1440, "height": 900})
    return path


def test_every_page_loads_and_an_incident_shows_its_ranked_causes(server, browser_page):
    url, key = server
    page = browser_page
    page.goto(url)
    if key is not None:
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Network overview").wait_for()
    _settled(page)
    _no_exception(page, "overview")
    page.get_by_role("heading", name="Ingest health (last hour)").wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').nth(3).wait_for()
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 4
    _shot(page, "overview")

    for link, heading in PAGES:
        page.get_by_role("link", name=link).first.click()
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        _settled(page)
        _no_exception(page, link)
        _shot(page, link.lower().replace(" ", "_"))

    # open incidents are listed most severe first; open the first diagnosed one
    for n in range(5):
        page.get_by_role("link", name="Overview").first.click()
        page.get_by_role("heading", name="Open incidents", exact=True).wait_for()
        _settled(page)
        links = page.locator('[data-testid="stPageLink"] a', has_text="inc-")
        if n >= links.count():
            break
        incident_id = links.nth(n).inner_text().strip().split()[-1]
        links.nth(n).click()
        page.get_by_role("heading", name="Incident", exact=True).wait_for()
        _settled(page)
        _no_exception(page, f"incident {incident_id}")
        assert incident_id in page.url
        if page.get_by_text("Not diagnosed yet").count() == 0:
            break
    else:
        pytest.fail("none of the first open incidents is diagnosed")
    page.get_by_role("tab", name="Ranked causes").wait_for()
    causes = page.locator('[data-testid="stExpander"]', has_text="evidence and FMEA entry")
    assert causes.count() >= 1 and "#1 " in causes.first.inner_text()
    page.locator('[data-testid="stGraphVizChart"] svg').first.wait_for()
    _shot(page, "incident")
    for tab in ("Alarms and KPIs", "Twin replay", "Remediation what-if"):
        page.get_by_role("tab", name=tab).click()
        panel = page.locator('[role="tabpanel"]:visible')
        panel.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
        _no_exception(page, tab)
        _shot(page, "incident_" + tab.split()[0].lower().replace("-", ""))
