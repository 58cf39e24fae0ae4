"""Offline HTML: no built page loads a script, stylesheet, font or image from another host.

Scans every ``.html`` file of the built book for ``<script src>``, ``<link href>`` (stylesheets,
preloads, icons, fonts), ``<img src>``, ``<iframe src>`` and inline ``@import`` / ``url(...)``, and
every ``.css`` file for ``@import`` / ``url(...)``. Links a reader clicks (``<a href>``, e.g. the
Colab launch button) are navigation, not loads, and are allowed. Also checks that the vendored
MathJax, require.js and widget manager referenced by the pages exist in the build.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)
LOADING_ATTRS = {"script": "src", "img": "src", "iframe": "src", "source": "src", "embed": "src", "link": "href"}


class _Loads(HTMLParser):
    """Collect every URL a page asks the browser to load (not the links it shows)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = LOADING_ATTRS.get(tag)
        values = dict(attrs)
        if attr and values.get(attr):
            self.urls.append((tag, values[attr]))
        if values.get("style"):
            self.urls += [("style", a or b) for a, b in CSS_URL.findall(values["style"])]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += [("style", a or b) for a, b in CSS_URL.findall(data)]


VENDORED = {"_static", "mathjax", "requirejs", "html-manager"}  # theme templates and bundles, not pages


def book_pages(html_dir: Path) -> list[Path]:
    """The reader-facing pages of the build (not the theme's Jinja templates under _static/)."""
    return sorted(p for p in html_dir.rglob("*.html") if not VENDORED & set(p.relative_to(html_dir).parts))


def page_loads(path: Path) -> list[tuple[str, str]]:
    parser = _Loads()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser.urls


def test_the_scanner_sees_external_loads(tmp_path):
    """The check itself can fail: a page with a CDN script, stylesheet and font is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<html><head><script src="https://cdn.example.org/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/a.css">'
        '<style>@font-face { src: url(https://fonts.example.org/f.woff2) }</style></head>'
        '<body><a href="https://colab.research.google.com/x">launch</a></body></html>'
    )
    external = [url for _, url in page_loads(page) if EXTERNAL.match(url)]
    assert len(external) == 3, external  # the <a href> is navigation and is not counted


def test_no_page_loads_from_another_host(html_dir: Path):
    pages = book_pages(html_dir)
    assert len(pages) >= 3, f"expected a built book, found {len(pages)} pages in {html_dir}"
    offenders = [
        f"{page.relative_to(html_dir)}: <{tag}> {url}"
        for page in pages
        for tag, url in page_loads(page) if EXTERNAL.match(url)
    ]
    assert not offenders, "pages load from other hosts:\n" + "\n".join(offenders[:30])


def test_no_stylesheet_loads_from_another_host(html_dir: Path):
    offenders = []
    for css in sorted((html_dir / "_static").rglob("*.css")):
        for a, b in CSS_URL.findall(css.read_text(encoding="utf-8", errors="replace")):
            if EXTERNAL.match(a or b):
                offenders.append(f"{css.relative_to(html_dir)}: {a or b}")
    assert not offenders, "stylesheets load from other hosts:\n" + "\n".join(offenders[:30])


def test_local_scripts_and_styles_exist(html_dir: Path):
    """Every script/stylesheet a page references locally is in the build (vendored MathJax included)."""
    missing = set()
    mathjax_pages = 0
    for page in book_pages(html_dir):
        for tag, url in page_loads(page):
            if tag not in ("script", "link") or EXTERNAL.match(url) or url.startswith(("#", "data:", "mailto:")):
                continue
            target = (page.parent / unquote(urlsplit(url).path)).resolve()
            if tag == "link" and target.suffix == ".html":
                continue  # prev/next/index navigation links
            mathjax_pages += url.split("?")[0].endswith("mathjax/tex-chtml.js")
            if not target.exists():
                missing.add(f"{page.relative_to(html_dir)} -> {url}")
    assert not missing, "referenced files missing from the build:\n" + "\n".join(sorted(missing)[:30])
    assert mathjax_pages >= 1, "no page loads the vendored MathJax (mathjax/tex-chtml.js)"
