"""Stateful property tests that drive the services directly.

Hypothesis calls rules and invariants synchronously: a machine runs the services' coroutines on
the loop of its ``Venue`` (an ``asyncio.Runner`` and a runtime bound to it, which every run of
the machine shares, as a real venue would), each rule or invariant decorated with ``on_loop``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from admitone.accounts.models import Role, User
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.runtime import Runtime
from tests.conftest import TEST_SECRET, create_user

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound="LoopMachine")


@dataclass
class Venue:
    """An organizer selling on one runtime, on one loop."""

    runner: asyncio.Runner
    runtime: Runtime
    clock: FrozenClock
    organizer: User

    def run(self, step: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(step)


@contextmanager
def open_venue(database_url: str) -> Iterator[Venue]:
    clock = FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    app_settings = Settings(
        env="test", secret_key=TEST_SECRET, database_url=database_url, run_worker_in_process=False
    )
    runtime = Runtime.build(app_settings, clock)
    with asyncio.Runner() as runner:
        try:
            organizer = runner.run(create_user(runtime, Role.ORGANIZER))
            yield Venue(runner, runtime, clock, organizer)
        finally:
            runner.run(runtime.close())


class LoopMachine(RuleBasedStateMachine):
    """A machine on ``venue``'s loop; each example of the run builds a new one."""

    def __init__(self, venue: Venue) -> None:
        super().__init__()
        self.venue = venue
        self.runtime = venue.runtime


def on_loop(
    step: Callable[Concatenate[M, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[M, P], T]:
    """A coroutine method run to its end on the venue's loop, as hypothesis needs."""

    @functools.wraps(step)
    def run(machine: M, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return machine.venue.run(step(machine, *args, **kwargs))

    return run


def run_machine(make: Callable[[], LoopMachine], *, max_examples: int) -> None:
    run_state_machine_as_test(
        # Documented as "anything which returns an instance of RuleBasedStateMachine"; the
        # annotation says a class, which would take the venue from a global or a subclass.
        make,  # type: ignore[arg-type]
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
