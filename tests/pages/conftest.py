"""The pages in headless Chromium (Playwright for Python driving Debian's chromium; nothing is
downloaded) against a real web process in the embedded mode, seeded with the demo business.

Without chromium or the playwright package the tests skip and say why; with CI=true they fail.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.pages import CHROMIUM_ARGS, PageErrors, Server, chromium_path, running_server
from tests.processes import Api
from tests.services import in_ci


@pytest.fixture(scope="session")
def pages_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("pages")) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = ("the playwright package is not installed, and the browser tests need it "
                  "(pip install -r requirements-dev.txt)")
        if in_ci():
            pytest.fail(reason + "; CI=true, so this fails instead of skipping")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def api(pages_server: Server) -> Api:
    return Api(pages_server.url)


@pytest.fixture
def new_page(browser, pages_server: Server) -> Iterator:
    """new_page(width=...) -> a page in a fresh browser context (its own storage: one user)."""
    contexts = []
    errors = PageErrors()

    def _new(width: int = 1200, height: int = 800):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      base_url=pages_server.url)
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield _new
    for context in contexts:
        context.close()
    assert list(errors) == []
