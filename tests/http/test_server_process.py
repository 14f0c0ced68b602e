"""A server process (an app that owns its runtime) tunes the garbage collector; an app under
test, which shares its process with every other test, leaves it alone."""

from __future__ import annotations

import gc

import pytest

from admitone.app import GC_THRESHOLDS, create_app
from admitone.config import Settings
from admitone.runtime import Runtime


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: calls.append(t))
    return calls


async def test_a_server_process_freezes_its_start_up_and_collects_less_often(
    settings: Settings, collector: list[object]
) -> None:
    # An app that owns its runtime configures logging too: at the suite's level, not INFO.
    app = create_app(settings=settings.model_copy(update={"log_level": "WARNING"}))

    async with app.router.lifespan_context(app):
        assert collector == ["freeze", GC_THRESHOLDS]
    assert GC_THRESHOLDS[0] > gc.get_threshold()[0]  # the young generation: rarer than before


async def test_an_app_under_test_leaves_the_collector_alone(
    runtime: Runtime, collector: list[object]
) -> None:
    app = create_app(runtime)

    async with app.router.lifespan_context(app):
        assert collector == []
