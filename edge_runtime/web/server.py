"""Run the web app with waitress, in the foreground or in a background thread."""
from __future__ import annotations

import threading
from typing import Optional

import waitress
from flask import Flask

#: Request threads on top of the detector workers: waiting requests park in the detector
#: queue, not in waitress's, so /healthz and cheap refusals answer at once under load.
EXTRA_THREADS = 16


def create_server(app: Flask, host: str = "127.0.0.1", port: int = 8000, threads: Optional[int] = None):
    """A waitress server for ``app``; port 0 picks a free port (see ``effective_port``).

    Request bodies up to twice the upload limit are read into memory (never spooled
    to disk) so the app can answer 413 in JSON; larger ones are refused by waitress.
    """
    body_limit = 2 * app.config["MAX_CONTENT_LENGTH"] + (1 << 20)
    return waitress.create_server(
        app, host=host, port=port, threads=threads or app.config["EYEGRAD_WORKERS"] + EXTRA_THREADS,
        max_request_body_size=body_limit, inbuf_overflow=body_limit, ident="eyegrad",
        channel_timeout=60, clear_untrusted_proxy_headers=True)


class BackgroundServer:
    """Waitress serving ``app`` on a free loopback port in a daemon thread (tests, load tests)."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", threads: Optional[int] = None) -> None:
        self.server = create_server(app, host=host, port=0, threads=threads)
        self.url = f"http://{host}:{self.server.effective_port}"
        self._thread = threading.Thread(target=self.server.run, name="eyegrad-waitress", daemon=True)

    def __enter__(self) -> "BackgroundServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, stop waitress's threads and the loop."""
        self.server.task_dispatcher.shutdown()
        self.server.close()
        self._thread.join(timeout=5)
