"""Serve the upload page and the JSON API (waitress)."""
from __future__ import annotations

import argparse

from ..web.limits import DEFAULT_MAX_UPLOAD, DEFAULT_MAX_VIDEO_UPLOAD, DEFAULT_TIMEOUT_S, DEFAULT_WORKERS
from .common import add_model_args, number

#: Bytes in a MB of the size options.
MB = 1024 * 1024


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=number(int, 0), default=8000, help="port (default: 8000)")
    add_model_args(p)
    p.add_argument("--workers", type=number(int, 1), default=DEFAULT_WORKERS,
                   help=f"detectors working in parallel (default: {DEFAULT_WORKERS})")
    p.add_argument("--max-upload-mb", type=number(float, 0, above=True), default=DEFAULT_MAX_UPLOAD / MB,
                   help=f"largest accepted image in MB (default: {DEFAULT_MAX_UPLOAD / MB:g})")
    p.add_argument("--max-video-mb", type=number(float, 0, above=True), default=DEFAULT_MAX_VIDEO_UPLOAD / MB,
                   help=f"largest accepted video in MB (default: {DEFAULT_MAX_VIDEO_UPLOAD / MB:g})")
    p.add_argument("--timeout", type=number(float, 0, above=True), default=DEFAULT_TIMEOUT_S,
                   help=f"seconds before a request gives up; a video's reading stops at half of it "
                        f"(default: {DEFAULT_TIMEOUT_S:g})")


def megabytes(mb: float) -> int:
    """``mb`` MB in bytes."""
    return int(mb * MB)


def run(args: argparse.Namespace) -> int:
    from ..web import create_app  # flask and waitress: the web extra
    from ..web.server import create_server

    app = create_app(args.model, workers=args.workers, num_threads=args.threads,
                     max_upload_bytes=megabytes(args.max_upload_mb), timeout_s=args.timeout,
                     max_video_upload_bytes=megabytes(args.max_video_mb))
    server = create_server(app, host=args.host, port=args.port)
    print(f"eyegrad: serving on http://{args.host}:{server.effective_port}/ "
          f"({args.workers} worker(s); Ctrl+C to stop)", flush=True)
    try:
        server.run()
    finally:
        app.extensions["eyegrad_pool"].close()
    return 0
