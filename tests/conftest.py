"""Shared fixtures: the built book, a local web server for it, and a real browser.

``built_book``       builds the book once per session (``jupyter-book build . -W --keep-going``)
                     and fails with the build log and the cell reports if the build fails.
                     Set ``CNNBOOK_SKIP_BOOK_BUILD=1`` to test an existing ``_build/html``.
``book_server``      serves ``_build/html`` on 127.0.0.1 from a thread; its ``url(page)``.
``browser_context``  Debian's Chromium through Playwright, headless, with a fresh profile;
                     requests to any host but 127.0.0.1 are aborted and recorded.

Every test that needs the built book (that requests ``built_book``, directly or through
another fixture) is marked ``book``, so ``pytest -m "not slow and not browser and not
book"`` runs without building it.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
VENDOR_STAMP = ROOT / "book" / "_vendor" / ".stamp"
CHROMIUM = Path("/usr/bin/chromium")
# Headless flags that work on these machines (see STACK.md); Playwright adds --headless
# and takes the profile directory as an argument of its own.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
BUILD_TIMEOUT_S = 30 * 60


def pytest_collection_modifyitems(config, items):
    """Mark ``book`` every test that uses the built book."""
    for item in items:
        if "built_book" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.book)


# ---------------------------------------------------------------------------
# The built book
# ---------------------------------------------------------------------------

@dataclass
class BuiltBook:
    """Where a successful build left its output."""

    root: Path
    html: Path
    log: str = field(repr=False)
    seconds: float
    reports: list = field(default_factory=list)

    @property
    def executed(self) -> Path:
        """Folder of the executed notebooks (``_build/jupyter_execute``)."""
        return self.root / "_build" / "jupyter_execute"

    def page(self, docname: str) -> Path:
        """The HTML file of a document, e.g. ``page("book/intro")``."""
        return self.html / f"{docname}.html"


def _venv_env() -> dict:
    """The environment with this interpreter's bin/ first, so kernels and tools match it."""
    env = os.environ.copy()
    env.pop("MPLBACKEND", None)  # a non-inline backend would silently drop the figures
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _ensure_vendored_assets() -> None:
    """Run scripts/vendor-web-assets.sh when book/_vendor is missing or older than its inputs."""
    inputs = [ROOT / "package.json", ROOT / "package-lock.json",
              ROOT / "scripts" / "vendor-web-assets.sh"]
    if VENDOR_STAMP.exists() and all(
        VENDOR_STAMP.stat().st_mtime >= p.stat().st_mtime for p in inputs if p.exists()
    ):
        return
    if shutil.which("npm") is None:
        pytest.fail("book/_vendor is missing or stale and npm is not installed: "
                    "run `make setup` (or apt-get install -y npm, then "
                    "`bash scripts/vendor-web-assets.sh`)", pytrace=False)
    proc = subprocess.run(["bash", "scripts/vendor-web-assets.sh"], cwd=ROOT, env=_venv_env(),
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(f"scripts/vendor-web-assets.sh failed ({proc.returncode}):\n"
                    f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}", pytrace=False)


def _reports(html: Path) -> list[Path]:
    """Tracebacks myst-nb wrote for notebooks whose cells failed."""
    folder = html / "reports"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def _failure_message(returncode, log: str, reports: list[Path]) -> str:
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    parts = [f"jupyter-book build . -W --keep-going failed (exit code {returncode})."]
    if warnings:
        parts.append("Warnings and errors:\n" + "\n".join(warnings[:60]))
    for report in reports:
        tail = report.read_text(errors="replace")[-6000:]
        parts.append(f"--- {report.relative_to(ROOT)} ---\n{tail}")
    parts.append("--- end of the build log ---\n" + "\n".join(log.splitlines()[-80:]))
    return "\n\n".join(parts)


@contextlib.contextmanager
def _build_lock():
    """One build at a time in this tree (pytest-xdist workers, parallel sessions)."""
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / ".book-build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_book() -> BuiltBook:
    """Build the book into _build/html (incremental: cached cells are not re-run)."""
    if os.environ.get("CNNBOOK_SKIP_BOOK_BUILD") == "1":
        if not (HTML / "index.html").exists():
            pytest.fail("CNNBOOK_SKIP_BOOK_BUILD=1 but _build/html has no book: build it first",
                        pytrace=False)
        return BuiltBook(ROOT, HTML, log="(existing build)", seconds=0.0, reports=_reports(HTML))
    _ensure_vendored_assets()
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book",
           "build", ".", "-W", "--keep-going"]
    # pytest-xdist workers of one run share this id: the first builds, the others reuse
    # that build instead of rewriting _build/html under tests that are reading it.
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    built_for = BUILD / ".built-for-run"
    with _build_lock():
        if run_id and built_for.exists() and built_for.read_text() == run_id:
            log = (BUILD / "book-build.log").read_text()
            return BuiltBook(ROOT, HTML, log, seconds=0.0, reports=_reports(HTML))
        built_for.unlink(missing_ok=True)
        # myst-nb never deletes a report: clear them so only this build's failures count
        # (a failing notebook is not cached, so it runs again and reports again).
        shutil.rmtree(HTML / "reports", ignore_errors=True)
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=_venv_env(), capture_output=True,
                                  text=True, timeout=BUILD_TIMEOUT_S)
        except subprocess.TimeoutExpired as err:
            pytest.fail(f"the book build took more than {BUILD_TIMEOUT_S} s:\n"
                        f"{(err.stdout or '')[-4000:]}", pytrace=False)
        seconds = time.perf_counter() - start
        log = proc.stdout + proc.stderr
        (BUILD / "book-build.log").write_text(log)
        ok = proc.returncode == 0 and "build succeeded" in log
        if ok and run_id:
            built_for.write_text(run_id)
    reports = _reports(HTML)
    if not ok:
        pytest.fail(_failure_message(proc.returncode, log, reports), pytrace=False)
    return BuiltBook(ROOT, HTML, log, seconds, reports)


@pytest.fixture(scope="session")
def built_book() -> BuiltBook:
    """The book, built once per session with -W; the session fails if the build does."""
    return build_book()


# ---------------------------------------------------------------------------
# Serving the book and driving a browser
# ---------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@dataclass
class BookServer:
    base: str

    def url(self, page: str) -> str:
        """URL of a page path relative to _build/html, e.g. ``url("book/intro.html")``."""
        return f"{self.base}/{page.lstrip('/')}"


@pytest.fixture(scope="session")
def book_server(built_book):
    """``_build/html`` over HTTP on 127.0.0.1 (a free port), for the whole session."""
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield BookServer(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class BrowserContext:
    """A Playwright browser context plus every request it was stopped from making."""

    context: object
    blocked: list = field(default_factory=list)

    def new_page(self):
        return self.context.new_page()


@pytest.fixture(scope="session")
def browser_context():
    """Headless Debian Chromium with a fresh profile; only 127.0.0.1 is reachable."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run `make system` (apt-get install -y chromium)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        wrapped = BrowserContext(context)

        def guard(route):
            url = route.request.url
            if url.startswith(("http://127.0.0.1", "data:", "blob:")):
                route.continue_()
            else:
                wrapped.blocked.append(url)
                route.abort()

        context.route("**/*", guard)
        try:
            yield wrapped
        finally:
            context.close()

