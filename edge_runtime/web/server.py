"""Run the web app with waitress, in the foreground or in a background thread."""
from __future__ import annotations

import threading
from typing import Optional

from flask import Flask

from .guard import GuardedServer, Limits

#: Request threads on top of the detector workers: waiting requests park in the detector
#: queue, not in waitress's, so cheap refusals answer at once under load.
EXTRA_THREADS = 16
#: Seconds between two checks of the request deadlines (``guard.Limits``).
CHECK_EVERY_S = 1


def create_server(app: Flask, host: str = "127.0.0.1", port: int = 8000, threads: Optional[int] = None,
                  limits: Optional[Limits] = None) -> GuardedServer:
    """A waitress server for ``app`` with ``limits`` (``guard.py``); port 0 picks a free port
    (see ``effective_port``).

    A body larger than the app's largest upload (``MAX_CONTENT_LENGTH``) is refused by its
    Content-Length before it is read. While a body arrives it is held in memory up to the image
    limit (``EYEGRAD_MEMORY_BODY``), so an image upload is never written to disk; a larger one
    (a video) goes to an anonymous temporary file.
    """
    body_limit = app.config["MAX_CONTENT_LENGTH"]
    limits = (limits or Limits())._replace(too_large=app.config["EYEGRAD_TOO_LARGE"])
    return GuardedServer(
        app, limits, host=host, port=port, threads=threads or app.config["EYEGRAD_WORKERS"] + EXTRA_THREADS,
        max_request_body_size=body_limit + 1, inbuf_overflow=app.config["EYEGRAD_MEMORY_BODY"],
        ident="eyegrad", channel_timeout=60, cleanup_interval=CHECK_EVERY_S, clear_untrusted_proxy_headers=True)


class BackgroundServer:
    """Waitress serving ``app`` on a free loopback port in a daemon thread (tests, load tests)."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", threads: Optional[int] = None,
                 limits: Optional[Limits] = None) -> None:
        self.server = create_server(app, host=host, port=0, threads=threads, limits=limits)
        self.url = f"http://{host}:{self.server.effective_port}"
        self._thread = threading.Thread(target=self.server.run, name="eyegrad-waitress", daemon=True)

    def __enter__(self) -> "BackgroundServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, stop waitress's threads and the loop."""
        self.server.shutdown()
        self.server.close()
        self._thread.join(timeout=5)
