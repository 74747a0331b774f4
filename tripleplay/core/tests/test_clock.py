from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tripleplay import clock

AT = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


def test_now_is_aware_utc_real_time():
    before = datetime.now(UTC)
    now = clock.now()
    after = datetime.now(UTC)
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert before <= now <= after


def test_freeze_stops_time():
    clock.freeze(AT)
    assert clock.now() == AT
    assert clock.now() == AT
    assert clock.today() == date(2026, 1, 31)


def test_freeze_converts_to_utc():
    clock.freeze(datetime(2026, 1, 31, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == AT
    assert clock.now().tzinfo == UTC


@pytest.mark.parametrize("call", [clock.freeze, lambda at: clock.frozen(at).__enter__()])
def test_naive_times_are_refused(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2026, 1, 31, 10, 0))
    assert clock.now() != datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


def test_advance_a_frozen_clock():
    clock.freeze(AT)
    assert clock.advance(timedelta(days=1, hours=2)) == AT + timedelta(days=1, hours=2)
    assert clock.now() == AT + timedelta(days=1, hours=2)
    assert clock.today() == date(2026, 2, 1)


def test_advance_a_running_clock_shifts_real_time():
    before = datetime.now(UTC)
    moved = clock.advance(timedelta(days=31))
    after = datetime.now(UTC)
    assert before + timedelta(days=31) <= moved <= after + timedelta(days=31)
    later = clock.now()
    assert later >= moved  # it keeps running
    assert later - datetime.now(UTC) > timedelta(days=30)


def test_reset_returns_to_real_time():
    clock.freeze(AT)
    clock.advance(timedelta(days=5))
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_context_manager_restores_the_previous_state():
    clock.freeze(AT)
    with clock.frozen(AT + timedelta(days=10)):
        assert clock.now() == AT + timedelta(days=10)
        with clock.frozen(AT + timedelta(days=20)):
            assert clock.now() == AT + timedelta(days=20)
        assert clock.now() == AT + timedelta(days=10)
    assert clock.now() == AT


def test_frozen_context_manager_restores_a_running_clock_even_on_error():
    clock.advance(timedelta(days=3))  # a running clock with an offset
    with pytest.raises(RuntimeError):
        with clock.frozen(AT):
            assert clock.now() == AT
            raise RuntimeError("boom")
    assert clock.now() - datetime.now(UTC) > timedelta(days=2)


def test_today_uses_the_project_time_zone(settings):
    clock.freeze(datetime(2026, 1, 31, 20, 0, tzinfo=UTC))
    assert clock.today() == date(2026, 1, 31)
    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+13 in January
    assert clock.today() == date(2026, 2, 1)
    settings.TIME_ZONE = "America/Los_Angeles"
    clock.freeze(datetime(2026, 2, 1, 5, 0, tzinfo=UTC))
    assert clock.today() == date(2026, 1, 31)


def test_environment_freezes_the_clock(monkeypatch):
    monkeypatch.setenv("TRIPLEPLAY_CLOCK", "2026-01-31T10:00:00Z")
    clock.reset()
    assert clock.now() == AT
    clock.advance(timedelta(hours=1))
    assert clock.now() == AT + timedelta(hours=1)
    clock.reset()  # back to what the environment says
    assert clock.now() == AT


def test_environment_accepts_an_explicit_offset(monkeypatch):
    monkeypatch.setenv("TRIPLEPLAY_CLOCK", "2026-01-31T12:00:00+02:00")
    clock.reset()
    assert clock.now() == AT


def test_environment_offset_shifts_real_time(monkeypatch):
    monkeypatch.setenv("TRIPLEPLAY_CLOCK_OFFSET", "86400")
    clock.reset()
    delta = clock.now() - datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < delta <= timedelta(days=1)


def test_environment_with_a_naive_time_is_refused(monkeypatch):
    monkeypatch.setenv("TRIPLEPLAY_CLOCK", "2026-01-31T10:00:00")
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.reset()
    monkeypatch.delenv("TRIPLEPLAY_CLOCK")
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_autouse_fixture_left_the_clock_real():
    # Runs after tests that froze or moved the clock (file order): nothing leaked.
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
