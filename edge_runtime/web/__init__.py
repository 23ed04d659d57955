"""The web page and JSON API of ``eyegrad serve`` (Flask app, run by waitress)."""
from .app import create_app

__all__ = ["create_app"]
