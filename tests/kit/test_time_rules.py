"""Property tests of the pure time rules (issue #15): how a local wall-clock time in a brand's
zone becomes UTC across DST changes, and the monthly period quotas reset on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from t21.errors import ValidationFailed
from t21.kit.timezones import local_to_utc, month_start, next_month_start

# Zones with DST in either hemisphere, half- and quarter-hour offsets, and none at all.
ZONES = [
    "Europe/Paris",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "UTC",
]
local_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31))


@settings(max_examples=400)
@given(local_times, st.sampled_from(ZONES))
def test_a_local_time_is_its_one_instant_or_refused_saying_why(local: datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    first, second = (local.replace(tzinfo=zone, fold=f) for f in (0, 1))
    shown = {m.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local for m in (first, second)}
    if first.utcoffset() == second.utcoffset():
        # Exactly one instant shows this wall time in the zone, and that is the answer.
        moment = local_to_utc(local, zone_name)
        assert moment.utcoffset() == timedelta(0)
        assert moment.astimezone(zone).replace(tzinfo=None) == local
        return
    with pytest.raises(ValidationFailed) as refused:
        local_to_utc(local, zone_name)
    if shown == {True}:
        # Shown twice (clocks go back): both instants are offered, the caller picks by offset.
        assert refused.value.code == "ambiguous_local_time"
        options = [datetime.fromisoformat(o) for o in refused.value.details["options"]]
        assert len(set(options)) == 2
        assert all(o.astimezone(zone).replace(tzinfo=None) == local for o in options)
    else:
        # Never shown (clocks jump forward): refused as a time that does not exist.
        assert refused.value.code == "nonexistent_local_time"


@given(st.datetimes(timezones=st.sampled_from([UTC, *(ZoneInfo(z) for z in ZONES)]), allow_imaginary=False))
def test_an_aware_time_is_kept_as_the_instant_it_names(moment: datetime) -> None:
    # (Compared as timestamps: Python never calls a time in a repeated hour equal across zones.)
    assert local_to_utc(moment, "Europe/Paris").timestamp() == moment.timestamp()


def test_the_known_dst_edges() -> None:
    with pytest.raises(ValidationFailed) as gap:
        local_to_utc(datetime(2026, 3, 29, 2, 30), "Europe/Paris")
    assert gap.value.code == "nonexistent_local_time"
    with pytest.raises(ValidationFailed) as twice:
        local_to_utc(datetime(2026, 10, 25, 2, 30), "Europe/Paris")
    assert twice.value.code == "ambiguous_local_time"
    assert local_to_utc(datetime(2026, 10, 25, 3, 30), "Europe/Paris") == datetime(
        2026, 10, 25, 2, 30, tzinfo=UTC
    )


instants = st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(9000, 1, 1),
    timezones=st.sampled_from([UTC, ZoneInfo("Pacific/Chatham")]),
)


@given(instants)
def test_each_moment_lies_in_exactly_one_quota_month(moment: datetime) -> None:
    start, end = month_start(moment), next_month_start(moment)
    # Periods are UTC calendar months: counters reset at 00:00 UTC on the 1st, whatever the zone.
    assert start <= moment < end
    assert start.day == 1 and (start.hour, start.minute, start.second, start.microsecond) == (0, 0, 0, 0)
    assert end.day == 1 and end.tzinfo == UTC
    assert 28 <= (end - start).days <= 31
    assert month_start(end - timedelta(microseconds=1)) == start  # the period's last instant
    assert month_start(end) == end  # the next period starts where this one ends


@given(instants, instants)
def test_quota_months_never_go_back_in_time(a: datetime, b: datetime) -> None:
    earlier, later = sorted((a, b))
    assert month_start(earlier) <= month_start(later)
