"""The web page and its JSON API: `build_app(searcher)` gives the Gradio Blocks, `serve(searcher)`
runs it on http://127.0.0.1:7860 (this machine only by default)."""
from __future__ import annotations


def build_app(searcher, **kwargs):
    """The Gradio Blocks page for a `qa.Searcher` (see `ui.app.build_app`)."""
    from .app import build_app as _build_app

    return _build_app(searcher, **kwargs)


def serve(searcher, host: str = "127.0.0.1", port: int = 7860, **kwargs):
    """Serve the page (see `ui.app.serve`)."""
    from .app import serve as _serve

    return _serve(searcher, host=host, port=port, **kwargs)


__all__ = ["build_app", "serve"]
