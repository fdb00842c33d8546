"""Browser tests: the real app on a free localhost port, driven by Debian's Chromium.

One browser per test session (Playwright, ``executable_path`` — no browser download);
each test gets a fresh embedded database, the repository's workflows, the demo users,
the in-process worker, and a new browser context. Every test leaves a screenshot in
``test-artifacts/``.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.settings import PROJECT_ROOT
from tests.live_server import live_settings, serving

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
TIMEOUT_MS = 15_000


def _unavailable(why: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"browser tests are required (REQUIRE_SERVICES=1) but {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (make install)")
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not (PROJECT_ROOT / "node_modules" / "bpmn-js" / "package.json").exists():
        _unavailable("the front-end libraries are not installed (npm ci; make install)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class LiveApp:
    url: str
    app: object

    @property
    def ctx(self):
        return self.app.extensions["engine_ctx"]

    def api(self, username: str):
        """A JSON client signed in as ``username`` with a bearer token."""
        return ApiClient(self.app.test_client(), username)


class ApiClient:
    def __init__(self, client, username: str, password: str = "demo"):
        self.client = client
        resp = client.post("/api/auth/token", json={"username": username, "password": password})
        assert resp.status_code == 200, resp.get_json()
        self.headers = {"Authorization": f"Bearer {resp.get_json()['access_token']}"}

    def get(self, path: str, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path: str, **kw):
        return self.client.post(path, headers=self.headers, **kw)


@pytest.fixture
def live_app(tmp_path):
    settings = live_settings(f"sqlite:///{tmp_path / 'browser.db'}", "browser-test-secret", tmp_path / "instance")
    with serving(settings, "browser-test-server") as (url, app):
        yield LiveApp(url, app)


@pytest.fixture
def page(browser, live_app, request):
    context = browser.new_context(base_url=live_app.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    tab.js_errors = errors
    yield tab
    shot(tab, request.node.name + "-end")
    context.close()
    assert not errors, f"JavaScript errors or blocked content on the page: {errors}"


def shot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, username: str, password: str = "demo") -> None:
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
