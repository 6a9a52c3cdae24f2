"""The pure escalation rules: next level, skipping empty levels, repeats, LOW priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ilertd.engine.escalation import Ended, Level, Policy, Step, first_due, next_step

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def nobody(_schedule: int) -> int | None:
    return None


def policy(*levels: Level, repeating: bool = False, frequency: int = 1) -> Policy:
    return Policy(levels, repeating, frequency)


def test_level_zero_then_one_with_timeouts() -> None:
    p = policy(Level(60, users=(1,)), Level(120, users=(2,)))
    step = next_step(p, 0, 0, NOW, nobody)
    assert step == Step(0, 0, (1,), NOW + timedelta(seconds=60))
    step = next_step(p, 1, 0, NOW, nobody)
    assert step == Step(1, 0, (2,), None)  # the last level of a one-round policy
    assert isinstance(next_step(p, 2, 0, NOW, nobody), Ended)


def test_schedules_page_whoever_is_on_call() -> None:
    p = policy(Level(60, users=(1,), schedules=(7, 8)))
    step = next_step(p, 0, 0, NOW, {7: 5, 8: 1}.get)
    assert isinstance(step, Step) and step.responders == (1, 5)


def test_a_level_with_nobody_on_call_is_passed_at_once() -> None:
    p = policy(Level(60, schedules=(7,)), Level(60, users=(3,)), Level(60, users=(4,)))
    step = next_step(p, 0, 0, NOW, nobody)
    assert step == Step(1, 0, (3,), NOW + timedelta(seconds=60), skipped=(0,))


def test_nobody_anywhere_ends_with_a_reason() -> None:
    p = policy(Level(60, schedules=(7,)), Level(60, schedules=(8,)))
    ended = next_step(p, 0, 0, NOW, nobody)
    assert isinstance(ended, Ended) and ended.skipped == (0, 1)
    assert "nobody is on call" in ended.reason


def test_repeating_policy_starts_again_up_to_frequency() -> None:
    p = policy(Level(30, users=(1,)), Level(30, users=(2,)), repeating=True, frequency=2)
    assert next_step(p, 1, 0, NOW, nobody) == Step(1, 0, (2,), NOW + timedelta(seconds=30))
    assert next_step(p, 2, 0, NOW, nobody) == Step(0, 1, (1,), NOW + timedelta(seconds=30))
    assert next_step(p, 1, 1, NOW, nobody) == Step(1, 1, (2,), None)
    assert isinstance(next_step(p, 2, 1, NOW, nobody), Ended)


def test_low_priority_stays_on_the_first_level() -> None:
    p = policy(Level(30, users=(1,)), Level(30, users=(2,)))
    assert next_step(p, 0, 0, NOW, nobody, low_priority=True) == Step(0, 0, (1,), None)
    assert isinstance(next_step(p, 1, 0, NOW, nobody, low_priority=True), Ended)


def test_delayed_start_and_empty_policy() -> None:
    assert first_due(Policy((Level(60, users=(1,)),), delay_min=5), NOW) == NOW + timedelta(
        minutes=5
    )
    assert isinstance(next_step(Policy(()), 0, 0, NOW, nobody), Ended)
