"""A recording subscription-event handler in place of billing's, for tests of the webhook
route: ``recorded_subscription_events`` (import it into a test module by name) swaps the
registry for one holding only the recorder, and puts billing's back after the test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from admitone.config import Settings
from admitone.core.db import UnitOfWork
from admitone.payments import subscriptions
from admitone.payments.models import ProcessedWebhookEvent
from admitone.payments.subscriptions import SubscriptionEvent


@dataclass
class RecordingHandler:
    events: list[SubscriptionEvent] = field(default_factory=list)
    # The outcome the webhook's record had when the handler ran: "processing" when the event
    # id was recorded first, in the same transaction.
    record_outcomes: list[str | None] = field(default_factory=list)
    fail_with: Exception | None = None
    outcome: str = "recorded"

    async def __call__(self, uow: UnitOfWork, event: SubscriptionEvent, settings: Settings) -> str:
        self.record_outcomes.append(
            await uow.session.scalar(
                select(ProcessedWebhookEvent.outcome).where(
                    ProcessedWebhookEvent.event_id == event.event_id
                )
            )
        )
        if self.fail_with is not None:
            raise self.fail_with
        self.events.append(event)
        return self.outcome

    def kinds(self) -> list[str]:
        return [event.kind.value for event in self.events]


@pytest.fixture(name="recorded_subscription_events")
def recorded_subscription_events_fixture(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[RecordingHandler]:
    handler = RecordingHandler()
    monkeypatch.setattr(subscriptions, "_handlers", [])
    subscriptions.register_subscription_handler(handler)
    yield handler
