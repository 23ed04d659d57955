"""Waitress's server and connection with the defences a server open to slow or hostile clients needs.

- **Deadlines.** A request's headers must arrive within ``header_timeout_s`` of the connection
  being ready for it (accepted, or its last answer sent); its body within ``body_timeout_s`` of
  its headers. A late connection is closed, however steadily it trickles bytes.
- **Connections per client.** A client (peer address) may keep at most ``per_client``
  connections waiting on it (receiving a request, or idle); a new one closes the one of them
  that has waited longest. Connections being answered do not count.
- **Liveness first.** ``/healthz`` is answered on a thread of its own, never behind uploads.
- **JSON errors.** What waitress answers itself (a malformed request, a header or body over its
  limit, an unexpected failure) is ``{"error": ..., "status": ...}`` like the app's errors.
"""
from __future__ import annotations

import json
import time
from typing import NamedTuple, Optional

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher

from .app import SECURITY_HEADERS

#: Paths answered on the liveness thread.
LIVENESS_PATHS = frozenset({"/healthz"})


class Limits(NamedTuple):
    """How long a request may take to arrive, and how many waiting connections a client may hold."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 120.0
    per_client: int = 16
    too_large: str = "upload too large"  # the message of waitress's 413


class JsonErrorTask(ErrorTask):
    """Waitress's own error answers as JSON, with the app's security headers."""

    def execute(self) -> None:
        err = self.request.error
        message = self.channel.server.limits.too_large if err.code == 413 else f"{err.reason}: {err.body}"
        body = json.dumps({"error": " ".join(message.split()), "status": err.code}).encode()
        self.status = f"{err.code} {err.reason}"
        self.response_headers.extend([("Content-Type", "application/json"), *SECURITY_HEADERS.items()])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class GuardedChannel(HTTPChannel):
    """One client connection that knows since when it has been waiting on its client."""

    error_task_class = JsonErrorTask
    server: "GuardedServer"

    def __init__(self, server: "GuardedServer", sock, addr, adj, map=None) -> None:
        super().__init__(server, sock, addr, adj, map)
        self.request_started = self.creation_time  # first byte of the request being received
        self.headers_at: Optional[float] = None  # when that request's headers were complete
        server.make_room(self)

    def received(self, data: bytes) -> bool:
        now = time.time()
        if self.request is None:
            self.request_started, self.headers_at = now, None
        done = super().received(data)
        if self.request is not None and self.request.headers_finished and self.headers_at is None:
            self.headers_at = now
        return done

    def waiting_since(self) -> Optional[float]:
        """Since when this connection waits on its client; None while a request is answered."""
        if self.requests or self.total_outbufs_len or self.will_close:
            return None
        return self.last_activity if self.request is None else self.request_started

    def overdue(self, now: float, limits: Limits) -> bool:
        """Whether the request being received (or the next one) missed its deadline."""
        since = self.waiting_since()
        if since is None:
            return False
        if self.headers_at is not None and self.request is not None:
            return now - self.headers_at > limits.body_timeout_s
        return now - since > limits.header_timeout_s


class GuardedServer(TcpWSGIServer):
    """Waitress's TCP server with ``GuardedChannel`` connections, deadlines and a liveness thread."""

    channel_class = GuardedChannel

    def __init__(self, application, limits: Limits, **kw) -> None:
        self.limits = limits
        self.liveness = ThreadedTaskDispatcher()
        self.liveness.set_thread_count(1)
        super().__init__(application, **kw)

    def add_task(self, channel: GuardedChannel) -> None:
        """Queue ``channel``'s next request: on the liveness thread for a liveness path."""
        lane = self.liveness if channel.requests[0].path in LIVENESS_PATHS else self.task_dispatcher
        lane.add_task(channel)

    def make_room(self, new: GuardedChannel) -> None:
        """Close the longest-waiting connection of ``new``'s client when it waits on too many."""
        waiting = [c for c in self.active_channels.values()
                   if c is not new and c.addr[0] == new.addr[0] and c.waiting_since() is not None]
        if len(waiting) >= self.limits.per_client:
            min(waiting, key=lambda c: c.waiting_since()).handle_close()

    def maintenance(self, now: float) -> None:
        """Waitress's idle timeout, plus the request deadlines."""
        super().maintenance(now)
        for channel in list(self.active_channels.values()):
            if channel.overdue(now, self.limits):
                channel.will_close = True

    def shutdown(self) -> None:
        """Stop the request threads and the liveness thread."""
        self.task_dispatcher.shutdown()
        self.liveness.shutdown()
