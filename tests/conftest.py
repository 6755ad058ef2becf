"""Fixtures shared by several test files."""

import functools
import http.server
import threading

import pytest
from synthetic import uci_like_files


@pytest.fixture
def uci_server(tmp_path):
    """Files shaped like the three UCI downloads behind a real HTTP server on 127.0.0.1.

    Yields the base URL and ``{file name: bytes}`` (see ``synthetic.uci_like_files``).
    """
    folder = tmp_path / "served"
    folder.mkdir()
    files = uci_like_files(folder)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", files
    server.shutdown()
    server.server_close()


def pytest_collection_modifyitems(items):
    """The slow end-to-end tests first: with ``-n 2`` (``make unit-test``) they start at once on two workers."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
