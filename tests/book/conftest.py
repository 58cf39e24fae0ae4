"""Fixtures for the checks that run on the *built* book (after ``jupyter-book build``).

``GAN_BOOK_HTML`` names the folder holding the HTML (default ``_build/html``). When the build (or
Chromium) is missing, a bare ``pytest`` skips these checks with the reason; ``make test-book`` sets
``GAN_BOOK_REQUIRE_BUILD=1``, which turns every such skip into a failure.
"""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from typing import Callable, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_ENV = "GAN_BOOK_REQUIRE_BUILD"


def build_required() -> bool:
    """True when ``$GAN_BOOK_REQUIRE_BUILD`` is set to anything but empty or 0 (``make test-book`` sets it)."""
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0")


def _missing(reason: str) -> NoReturn:
    if build_required():
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set)")
    pytest.skip(f"{reason}; with {REQUIRE_ENV}=1 (as in `make test-book`) this is a failure")


@pytest.fixture(scope="session")
def missing() -> Callable[[str], NoReturn]:
    """Call it with a reason when something the checks need is absent: a skip, or a failure when required."""
    return _missing


@pytest.fixture(scope="session")
def html_dir() -> Path:
    path = Path(os.environ.get("GAN_BOOK_HTML", ROOT / "_build" / "html"))
    if not (path / "index.html").is_file():
        _missing(f"no built book at {path}: run `make build-smoke` (or set GAN_BOOK_HTML) first")
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output readable
        pass


@pytest.fixture(scope="session")
def book_server(html_dir: Path):
    """Serve the built book on a loopback port (127.0.0.1 only) for the browser check."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
