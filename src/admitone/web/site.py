"""Mount the web pages on the app: their routes, static files and error pages."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from admitone.web import auth, buyer
from admitone.web.errors import install_error_pages
from admitone.web.templating import STATIC_DIR


def install(app: FastAPI) -> None:
    """After the API's error handlers are installed: pages get their own error pages."""
    app.include_router(buyer.router)
    app.include_router(auth.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_pages(app)
