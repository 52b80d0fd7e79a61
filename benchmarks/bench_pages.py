"""How heavy and how slow is each page of the built book on a mid-range phone link?

Serves ``_build/html`` on 127.0.0.1 and opens every page of the table of contents in
Debian's Chromium (Playwright) under a throttled profile set through the Chrome
DevTools Protocol: 4x CPU slowdown, 6 Mbit/s down, 150 ms latency, an empty cache.
For each page it reports the bytes transferred (``Network.loadingFinished``, headers
included) until the network is idle, and the seconds from navigation until the page is
*ready*: every formula typeset, every explorer's controls live, web fonts loaded.
Targets: at most 2 MB and 5 s per page.

Usage: ``python -m benchmarks pages`` (build the book first: ``make book``), or
``python -m benchmarks.bench_pages [--pages book/01_convolution,...] [--no-throttle]``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

MAX_BYTES = 2_000_000
MAX_SECONDS = 5.0
#: The throttled profile: CPU slowdown, bits per second down and up, round-trip latency.
CPU_SLOWDOWN = 4
DOWN_BPS = 6_000_000
UP_BPS = 1_500_000
LATENCY_MS = 150

#: Runs in the page before its own scripts: records ``performance.now()`` at the first
#: moment everything a reader waits for is there.
READY_PROBE = """
(() => {
  const typeset = el => el.querySelector(".katex, mjx-container, svg, img") !== null;
  function ready() {
    if (document.readyState === "loading") return false;
    const maths = document.querySelectorAll(".math");
    for (const m of maths) if (!typeset(m)) return false;
    const explorers = document.querySelectorAll("[data-explorer]");
    for (const e of explorers) if (!e.hasAttribute("data-explorer-ready")) return false;
    if (document.fonts && document.fonts.status !== "loaded") return false;
    return true;
  }
  function poll() {
    if (ready()) {
      window.__cnnbookReadyAt = performance.now();
      window.__cnnbookCounts = {
        maths: document.querySelectorAll(".math").length,
        explorers: document.querySelectorAll("[data-explorer]").length,
      };
    } else {
      setTimeout(poll, 20);
    }
  }
  setTimeout(poll, 0);
})();
"""


@dataclass
class PageLoad:
    page: str
    bytes: int
    requests: int
    seconds: float | None
    maths: int
    explorers: int
    largest: list

    @property
    def ok(self) -> bool:
        return (self.bytes <= MAX_BYTES and self.seconds is not None
                and self.seconds <= MAX_SECONDS)


def toc_pages(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """Every document of the table of contents, root first, without a suffix."""
    toc = yaml.safe_load(toc_path.read_text())
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key))

    for key in ("parts", "chapters"):
        walk(toc.get(key))
    return [re.sub(r"\.(md|ipynb)$", "", n) for n in names]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


class Serve:
    """``with Serve(folder) as base:`` the folder over HTTP on 127.0.0.1 (a free port)."""

    def __init__(self, folder: Path):
        handler = functools.partial(_Quiet, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def load_page(context, url: str, *, throttle: bool = True, timeout_s: float = 60) -> dict:
    """Open ``url`` in a new tab of ``context`` with an empty cache; what it cost."""
    page = context.new_page()
    try:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if throttle:
            cdp.send("Network.emulateNetworkConditions", {
                "offline": False, "latency": LATENCY_MS,
                "downloadThroughput": DOWN_BPS / 8, "uploadThroughput": UP_BPS / 8})
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        sizes, urls = {}, {}
        cdp.on("Network.requestWillBeSent",
               lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on("Network.loadingFinished",
               lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
        page.add_init_script(READY_PROBE)
        page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        try:
            page.wait_for_function("() => window.__cnnbookReadyAt !== undefined",
                                   timeout=timeout_s * 1000, polling=100)
            ready_ms = page.evaluate("window.__cnnbookReadyAt")
            counts = page.evaluate("window.__cnnbookCounts")
        except Exception:  # noqa: BLE001 - never ready: reported as such
            ready_ms, counts = None, {"maths": -1, "explorers": -1}
        try:  # count what arrives after "ready" too (fonts, lazy images)
            page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
        except Exception:  # noqa: BLE001 - a busy machine: report the bytes that did arrive
            pass
        time.sleep(0.3)  # let the last loadingFinished events arrive
        largest = sorted(((n, urls.get(r, "?")) for r, n in sizes.items()), reverse=True)[:5]
        return {"bytes": int(sum(sizes.values())), "requests": len(sizes),
                "seconds": None if ready_ms is None else ready_ms / 1000, **counts,
                "largest": [(n, u.split("/")[-1].split("?")[0]) for n, u in largest]}
    finally:
        page.close()


def measure(pages: list[str], html: Path = HTML, *, throttle: bool = True) -> list[PageLoad]:
    """Load each page once in a fresh browser profile; one :class:`PageLoad` per page."""
    from playwright.sync_api import sync_playwright

    missing = [p for p in pages if not (html / f"{p}.html").exists()]
    if missing:
        raise FileNotFoundError(f"pages not built under {html}: {missing}; run `make book`")
    results = []
    with Serve(html) as base, sync_playwright() as pw:
        for name in pages:
            with tempfile.TemporaryDirectory() as profile:
                context = pw.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                    viewport={"width": 1280, "height": 900})
                # Nothing but the local server: a page that reaches out fails here.
                context.route("**/*", lambda route: route.continue_()
                              if route.request.url.startswith(("http://127.0.0.1", "data:",
                                                               "blob:")) else route.abort())
                try:
                    r = load_page(context, f"{base}/{name}.html", throttle=throttle)
                finally:
                    context.close()
            results.append(PageLoad(name, r["bytes"], r["requests"], r["seconds"],
                                    r["maths"], r["explorers"], r["largest"]))
    return results


def report(results: list[PageLoad]) -> str:
    lines = [f"{'page':<22}{'MB':>7}{'requests':>10}{'ready s':>9}{'maths':>7}"
             f"{'explorers':>11}  verdict",
             "-" * 78]
    for r in results:
        secs = "never" if r.seconds is None else f"{r.seconds:.2f}"
        lines.append(f"{r.page.split('/')[-1]:<22}{r.bytes / 1e6:>7.2f}{r.requests:>10}"
                     f"{secs:>9}{r.maths:>7}{r.explorers:>11}  "
                     f"{'ok' if r.ok else 'OVER'}")
    worst_b = max(results, key=lambda r: r.bytes)
    timed = [r for r in results if r.seconds is not None]
    worst_t = max(timed, key=lambda r: r.seconds) if timed else None
    lines.append("-" * 78)
    lines.append(f"heaviest: {worst_b.page} {worst_b.bytes / 1e6:.2f} MB "
                 f"(target {MAX_BYTES / 1e6:g} MB); largest files: "
                 + ", ".join(f"{u} {n / 1e3:.0f} kB" for n, u in worst_b.largest[:3]))
    if worst_t:
        lines.append(f"slowest: {worst_t.page} {worst_t.seconds:.2f} s "
                     f"(target {MAX_SECONDS:g} s)")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_pages",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default="", help="comma-separated docnames (default: the toc)")
    parser.add_argument("--no-throttle", action="store_true",
                        help="no CPU or network throttling (for comparison)")
    args = parser.parse_args([] if argv is None else argv)
    pages = [p for p in args.pages.split(",") if p] or toc_pages()
    profile = ("unthrottled" if args.no_throttle else
               f"{CPU_SLOWDOWN}x CPU slowdown, {DOWN_BPS / 1e6:g} Mbit/s, {LATENCY_MS} ms latency")
    print(f"Loading {len(pages)} pages of {HTML} in Chromium, {profile}, empty cache.")
    # The CPU slowdown multiplies whatever else the machine is doing: say how busy it was.
    before = os.getloadavg()[0]
    results = measure(pages, throttle=not args.no_throttle)
    print(report(results))
    print(f"load average (1 min) {before:.1f} before, {os.getloadavg()[0]:.1f} after, "
          f"on {os.cpu_count()} CPUs")
    over = [r.page for r in results if not r.ok]
    print("all pages within targets" if not over else f"over target: {', '.join(over)}")


if __name__ == "__main__":
    main(sys.argv[1:])
