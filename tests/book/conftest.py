"""Fixtures for the checks that run on the *built* book (after ``jupyter-book build``).

``GAN_BOOK_HTML`` names the folder holding the HTML (default ``_build/html``). These tests are
collected only by ``make test-book``; they fail, rather than skip, when the book is not built.
"""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def html_dir() -> Path:
    path = Path(os.environ.get("GAN_BOOK_HTML", ROOT / "_build" / "html"))
    if not (path / "index.html").is_file():
        pytest.fail(f"no built book at {path}: run `make build-smoke` (or set GAN_BOOK_HTML) first")
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
