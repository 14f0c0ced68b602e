from __future__ import annotations

import pytest

from admitone.config import Settings

QUEUE_SIZE = 8
REPLAY_SIZE = 5


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Small bounds, so that tests can fill a client's queue and outrun the replay buffer.
    return settings.model_copy(
        update={"sse_client_queue_size": QUEUE_SIZE, "sse_replay_buffer_size": REPLAY_SIZE}
    )
