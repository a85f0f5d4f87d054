"""Micro-batching: concurrent requests share model calls, answers stay their own."""

from __future__ import annotations

import asyncio
import threading

import pytest

from churn_pipeline.serving.batching import MicroBatcher


class GatedScorer:
    """Doubles numbers; the first call waits until released, and 'bad' fails."""

    def __init__(self) -> None:
        self.calls: list[list[object]] = []
        self.release = threading.Event()

    def __call__(self, items: list[object]) -> list[object]:
        self.calls.append(list(items))
        if len(self.calls) == 1:
            self.release.wait(timeout=5)
        if "bad" in items:
            raise ValueError("bad account")
        return [2 * item for item in items]  # type: ignore[operator]


async def _busy_then(batcher: MicroBatcher, scorer: GatedScorer, *requests):
    """Submit one request, then ``requests`` while the first is being scored."""
    first = asyncio.create_task(batcher.submit([0]))
    while not scorer.calls:  # the first call has started
        await asyncio.sleep(0.001)
    rest = [asyncio.create_task(batcher.submit(r)) for r in requests]
    await asyncio.sleep(0.01)  # every request is queued
    scorer.release.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


def test_requests_arriving_while_busy_share_the_next_call():
    scorer = GatedScorer()
    batcher = MicroBatcher(scorer, max_batch_size=100)

    answers = asyncio.run(_busy_then(batcher, scorer, [1, 2], [3], [4, 5, 6]))

    assert answers == [[0], [2, 4], [6], [8, 10, 12]]
    assert scorer.calls == [[0], [1, 2, 3, 4, 5, 6]]
    assert (batcher.stats.calls, batcher.stats.items, batcher.stats.largest) == (
        2,
        7,
        6,
    )


def test_a_lone_request_is_scored_at_once():
    scorer = GatedScorer()
    scorer.release.set()
    batcher = MicroBatcher(scorer, max_batch_size=100)

    async def one_after_another():
        return [await batcher.submit([n]) for n in range(3)]

    assert asyncio.run(one_after_another()) == [[0], [2], [4]]
    assert scorer.calls == [[0], [1], [2]]


@pytest.mark.parametrize(
    ("max_batch_size", "expected_calls"),
    [
        (2, [[0], [1, 2], [3], [4, 5, 6, 7]]),  # the big request goes alone
        (4, [[0], [1, 2, 3], [4, 5, 6, 7]]),
        (7, [[0], [1, 2, 3, 4, 5, 6, 7]]),
    ],
)
def test_calls_stay_within_the_batch_size(max_batch_size, expected_calls):
    scorer = GatedScorer()
    batcher = MicroBatcher(scorer, max_batch_size=max_batch_size)

    answers = asyncio.run(_busy_then(batcher, scorer, [1, 2], [3], [4, 5, 6, 7]))

    assert answers[1:] == [[2, 4], [6], [8, 10, 12, 14]]
    assert scorer.calls == expected_calls


def test_a_failing_request_does_not_fail_its_neighbours():
    scorer = GatedScorer()
    batcher = MicroBatcher(scorer, max_batch_size=100)

    answers = asyncio.run(_busy_then(batcher, scorer, [1], ["bad"], [3]))

    assert answers[1] == [2]
    assert isinstance(answers[2], ValueError)
    assert answers[3] == [6]
    # The shared call failed; each request was then scored on its own.
    assert scorer.calls[1:] == [[1, "bad", 3], [1], ["bad"], [3]]


def test_requests_whose_clients_left_are_not_scored():
    scorer = GatedScorer()
    batcher = MicroBatcher(scorer, max_batch_size=100)

    async def scenario():
        first = asyncio.create_task(batcher.submit([0]))
        while not scorer.calls:
            await asyncio.sleep(0.001)
        gone = asyncio.create_task(batcher.submit([1]))
        kept = asyncio.create_task(batcher.submit([2]))
        await asyncio.sleep(0.01)
        gone.cancel()
        scorer.release.set()
        return await first, await kept

    assert asyncio.run(scenario()) == ([0], [4])
    assert scorer.calls == [[0], [2]]


async def _after_a_shared_call(
    batcher: MicroBatcher, scorer: GatedScorer, *, follower_turns: int | None
):
    """A call answering two requests, then [3] and, ``follower_turns`` later, [4]."""
    await _busy_then(batcher, scorer, [1], [2])
    lone = asyncio.create_task(batcher.submit([3]))
    if follower_turns is None:
        return [await lone]
    for _ in range(follower_turns):
        await asyncio.sleep(0)
    return await asyncio.gather(lone, batcher.submit([4]))


@pytest.mark.parametrize(
    ("max_wait_turns", "expected_calls"),
    [(16, [[0], [1, 2], [3, 4]]), (0, [[0], [1, 2], [3], [4]])],
)
def test_after_a_shared_call_the_next_waits_for_its_callers(
    max_wait_turns, expected_calls
):
    scorer = GatedScorer()
    batcher = MicroBatcher(scorer, max_batch_size=100, max_wait_turns=max_wait_turns)

    answers = asyncio.run(_after_a_shared_call(batcher, scorer, follower_turns=3))

    assert answers == [[6], [8]]
    assert scorer.calls == expected_calls


def test_the_wait_for_callers_is_bounded():
    scorer = GatedScorer()
    batcher = MicroBatcher(scorer, max_batch_size=100, max_wait_turns=4)

    # Nobody follows [3]: it is scored alone once the turns have passed.
    answers = asyncio.run(_after_a_shared_call(batcher, scorer, follower_turns=None))

    assert answers == [[6]]
    assert scorer.calls == [[0], [1, 2], [3]]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_batch_size": 0}, "max_batch_size must be >= 1, got 0"),
        ({"max_batch_size": 8, "max_wait_turns": -1}, "max_wait_turns must be >= 0"),
    ],
)
def test_settings_out_of_range_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        MicroBatcher(GatedScorer(), **settings)
