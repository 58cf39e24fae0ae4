"""Browser check: headless Chromium opens built pages and looks at what a reader would see.

For the preface, chapter 1 and chapter 1's notebook it asserts that MathJax typeset the math
(MathJax output elements present, no MathJax error, no raw ``$$`` left in the text), that the
page's figures are there and every image loaded (``naturalWidth > 0``), that no error output block (traceback) is
shown, and that the page asked for nothing outside the loopback server. A screenshot of each page is saved
under ``_build/screenshots/``. Chromium is Debian's (``/usr/bin/chromium``, or ``$GAN_BOOK_CHROMIUM``);
Playwright only drives it and never downloads a browser of its own.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]

PAGES = [
    # (path in the build, minimum number of typeset formulas, minimum number of images); a chapter
    # page's images are the key figures glued from its notebook
    ("book/preface.html", 1, 0),
    ("book/ch01_explicit_implicit_density.html", 10, 0),
    ("notebooks/ch01_explicit_implicit_density.html", 3, 5),  # its figures, rendered at build time
    ("book/ch02_minimax_game.html", 40, 1),
    ("notebooks/ch02_minimax_game.html", 15, 3),
    ("book/ch03_optimal_discriminator.html", 100, 0),
    ("notebooks/ch03_optimal_discriminator.html", 40, 4),
    ("book/ch04_global_optimum_jsd.html", 100, 5),
    ("notebooks/ch04_global_optimum_jsd.html", 40, 5),
    ("book/ch05_saturation_nonsaturating.html", 40, 5),
    ("notebooks/ch05_saturation_nonsaturating.html", 10, 7),
    ("book/ch06_mode_collapse.html", 100, 6),
    ("notebooks/ch06_mode_collapse.html", 30, 4),
    ("notebooks/ch06_mode_collapse_mnist.html", 8, 4),
    ("book/ch07_dcgan.html", 150, 5),
    ("notebooks/ch07_dcgan.html", 40, 6),
    ("book/ch08_latent_space.html", 120, 9),
    ("notebooks/ch08_latent_space.html", 40, 10),
    ("book/ch09_gan_inversion.html", 150, 8),
    ("notebooks/ch09_gan_inversion.html", 40, 8),
    ("book/ch10_gan_dissection.html", 8, 5),
    ("notebooks/ch10_gan_dissection.html", 5, 5),
    ("book/notation.html", 20, 0),
    ("book/errata.html", 20, 0),
    ("notebooks/errata.html", 10, 2),
    ("book/faq.html", 5, 0),
]
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]
SCREENSHOTS = ROOT / "_build" / "screenshots"

# Evaluated in the page once it has loaded: wait for MathJax's first typeset, then report.
INSPECT_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const article = document.querySelector('article') || document.body;
  const images = [...article.querySelectorAll('img')];
  await Promise.all(images.map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
  const text = article.innerText;
  return {
    mathjax: Boolean(window.MathJax && MathJax.version),
    typeset: document.querySelectorAll('mjx-container').length,
    mathErrors: document.querySelectorAll('mjx-merror, .MathJax_Error').length,
    rawDisplayMath: (text.match(/\\$\\$/g) || []).length,
    images: images.length,
    brokenImages: images.filter(img => !(img.naturalWidth > 0)).map(img => img.getAttribute('src')),
    errorBlocks: article.querySelectorAll('.output.traceback, .output.error, div.cell_output .traceback').length,
    tracebackText: /Traceback \\(most recent call last\\)/.test(text),
  };
}
"""


def chromium_path(missing) -> str:
    path = os.environ.get("GAN_BOOK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        missing("Chromium not found: install Debian's `chromium` (apt-get install chromium) "
                "or set GAN_BOOK_CHROMIUM to a Chromium/Chrome binary")
    return path


@pytest.fixture(scope="module")
def browser(missing):
    executable = chromium_path(missing)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("path, min_formulas, min_images", PAGES)
def test_page_renders(browser, book_server: str, html_dir: Path, path: str, min_formulas: int, min_images: int):
    assert (html_dir / path).is_file(), f"{path} is not in the build"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    foreign, failed, console_errors = [], [], []

    def route(r):
        if urlsplit(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:  # the book must work offline: record and refuse anything else
            foreign.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda req: failed.append(req.url))
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{book_server}/{path}", wait_until="load")
    report = page.evaluate(INSPECT_JS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / (path.replace("/", "__").replace(".html", ".png"))), full_page=True)
    context.close()

    assert not foreign, f"{path} requested other hosts: {foreign}"
    assert not [u for u in failed if u not in foreign], f"{path}: failed requests {failed}"
    assert report["mathjax"], f"{path}: MathJax did not load"
    assert report["typeset"] >= min_formulas, f"{path}: only {report['typeset']} formulas typeset"
    assert report["mathErrors"] == 0, f"{path}: {report['mathErrors']} MathJax errors"
    assert report["rawDisplayMath"] == 0, f"{path}: raw $$ left in the text"
    assert report["images"] >= min_images, f"{path}: {report['images']} images, expected >= {min_images}"
    assert not report["brokenImages"], f"{path}: images not loaded: {report['brokenImages']}"
    assert report["errorBlocks"] == 0 and not report["tracebackText"], f"{path}: an error output is shown"
    assert not console_errors, f"{path}: console errors {console_errors}"
