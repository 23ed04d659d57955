"""The web page and JSON API of ``eyegrad serve`` (Flask app, run by waitress).

``create_app`` is imported on first use, so ``web.limits`` (the defaults) loads without Flask.
"""
from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
