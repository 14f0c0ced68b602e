"""Group commit: concurrent callers share a batch; a failing batch hands every item back."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence

import pytest

from admitone.core.group_commit import GroupCommit

_who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


class Recorder:
    def __init__(self, *, fail: bool = False, gate: asyncio.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.contexts: list[str] = []
        self.fail = fail
        self.gate = gate

    async def run(self, items: Sequence[int]) -> list[int | None]:
        self.batches.append(list(items))
        self.contexts.append(_who.get())
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("the database went away")
        return [item * 10 if item % 2 == 0 else None for item in items]


async def test_a_lone_caller_runs_at_once_in_a_batch_of_its_own() -> None:
    recorder = Recorder()
    group = GroupCommit[int, int]("test", recorder.run)

    assert await group.submit(2) == 20
    assert recorder.batches == [[2]]


async def test_callers_arriving_during_a_batch_share_the_next_one() -> None:
    gate = asyncio.Event()
    recorder = Recorder(gate=gate)
    group = GroupCommit[int, int]("test", recorder.run)

    first = asyncio.create_task(group.submit(2))
    await asyncio.sleep(0)  # the first caller starts the drain
    await asyncio.sleep(0)  # whose first batch is in flight, holding the gate
    others = [asyncio.create_task(group.submit(n)) for n in (4, 5, 6)]
    await asyncio.sleep(0)
    gate.set()

    assert await first == 20
    assert [await task for task in others] == [40, None, 60]  # None: do it alone
    assert recorder.batches == [[2], [4, 5, 6]]


async def test_batches_are_capped_and_the_rest_follow() -> None:
    recorder = Recorder()
    group = GroupCommit[int, int]("test", recorder.run, max_batch=2)

    tasks = [asyncio.create_task(group.submit(n)) for n in (2, 4, 6, 8, 10)]

    assert [await task for task in tasks] == [20, 40, 60, 80, 100]
    assert recorder.batches == [[2, 4], [6, 8], [10]]


async def test_a_failing_batch_hands_every_item_back() -> None:
    group = GroupCommit[int, int]("test", Recorder(fail=True).run)

    results = await asyncio.gather(*(group.submit(n) for n in (2, 4, 6)))

    assert results == [None, None, None]


async def test_a_miscounted_answer_hands_every_item_back() -> None:
    async def short(items: Sequence[int]) -> list[int | None]:
        return [1]

    group = GroupCommit[int, int]("test", short)

    assert list(await asyncio.gather(group.submit(2), group.submit(4))) == [None, None]


async def test_a_caller_that_gives_up_does_not_cancel_the_batch_of_the_others() -> None:
    gate = asyncio.Event()
    recorder = Recorder(gate=gate)
    group = GroupCommit[int, int]("test", recorder.run)
    leaver = asyncio.create_task(group.submit(2))
    stayer = asyncio.create_task(group.submit(4))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert recorder.batches == [[2, 4]]  # the leaver gives up in the middle of its batch

    leaver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaver
    gate.set()

    assert await stayer == 40
    assert recorder.batches == [[2, 4]]


async def test_a_batch_does_not_run_in_the_context_of_the_caller_that_started_it() -> None:
    recorder = Recorder()
    group = GroupCommit[int, int]("test", recorder.run)
    _who.set("the first buyer")

    await group.submit(2)

    assert recorder.contexts == ["nobody"]


async def test_callers_of_a_batch_cut_short_by_shutdown_are_told_to_do_it_alone() -> None:
    gate = asyncio.Event()  # never set: the batch hangs until it is cancelled
    recorder = Recorder(gate=gate)
    group = GroupCommit[int, int]("test", recorder.run)
    callers = [asyncio.create_task(group.submit(n)) for n in (2, 4)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert group._draining is not None

    group._draining.cancel()

    assert await asyncio.wait_for(asyncio.gather(*callers), timeout=1) == [None, None]


async def test_callers_still_waiting_when_shutdown_cuts_a_batch_are_told_to_do_it_alone() -> None:
    gate = asyncio.Event()  # never set: the first batch hangs until it is cancelled
    recorder = Recorder(gate=gate)
    group = GroupCommit[int, int]("test", recorder.run, max_batch=1)
    callers = [asyncio.create_task(group.submit(n)) for n in (2, 4, 6)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert recorder.batches == [[2]]  # 4 and 6 wait behind it
    assert group._draining is not None

    group._draining.cancel()

    assert await asyncio.wait_for(asyncio.gather(*callers), timeout=1) == [None, None, None]
