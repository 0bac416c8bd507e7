"""IANA time zones and DST-correct conversion of local wall times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from t21.errors import ValidationFailed


def validate_time_zone(name: str) -> str:
    # The known names first: ZoneInfo(name) opens a file named after the input, and an odd name
    # (a very long one, say) fails there with an OSError instead of "not found".
    if name not in _known_zones():
        raise ValueError(f"'{name[:100]}' is not an IANA time zone (for example Europe/Paris)")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"'{name[:100]}' is not an IANA time zone (for example Europe/Paris)") from None
    return name


_ZONES: set[str] | None = None


def _known_zones() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones() | {"UTC"}
    return _ZONES


def local_to_utc(local: datetime, zone_name: str, *, field: str = "scheduledFor") -> datetime:
    """Turn a naive wall-clock time in `zone_name` into UTC.

    A time that does not exist (skipped by a DST jump forward) or that exists twice (repeated
    when clocks go back) is refused with an answer that says which, rather than guessed.
    """
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    zone = ZoneInfo(zone_name)
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        # fold=0 and fold=1 disagree: the wall time is either skipped or repeated.
        round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if round_trip != local:
            raise ValidationFailed(
                f"{local:%Y-%m-%d %H:%M} does not exist in {zone_name}: clocks jump forward then. "
                "Pick a time outside the gap.",
                code="nonexistent_local_time",
                details={"field": field, "timeZone": zone_name},
            )
        options = sorted({first.astimezone(UTC), second.astimezone(UTC)})
        raise ValidationFailed(
            f"{local:%Y-%m-%d %H:%M} happens twice in {zone_name}: clocks go back then. "
            "Send the time with its UTC offset to say which one.",
            code="ambiguous_local_time",
            details={"field": field, "timeZone": zone_name, "options": [o.isoformat() for o in options]},
        )
    return first.astimezone(UTC)


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(moment: datetime) -> datetime:
    start = month_start(moment)
    return (start + timedelta(days=32)).replace(day=1)
