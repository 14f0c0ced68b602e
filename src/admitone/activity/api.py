from __future__ import annotations

from admitone.http.routing import api_router

router = api_router(tags=["activity"])
