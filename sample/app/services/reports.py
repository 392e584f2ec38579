"""Business logic for the signup report. (The tests never reach `trend` past its first branch.)"""

from __future__ import annotations

from statistics import mean


def signup_summary(per_day: list[tuple[str, int]]) -> dict[str, object]:
    if not per_day:
        return {"days": 0, "total": 0, "average": 0.0, "busiest": None, "trend": "flat"}
    counts = [n for _, n in per_day]
    busiest_day, _ = max(per_day, key=lambda row: row[1])
    return {
        "days": len(per_day),
        "total": sum(counts),
        "average": round(mean(counts), 2),
        "busiest": busiest_day,
        "trend": trend(counts),
    }


def trend(counts: list[int]) -> str:
    """"up" or "down" when the second half of the period differs from the first by more than 10%."""
    if len(counts) < 2:
        return "flat"
    half = len(counts) // 2
    before, after = mean(counts[:half]), mean(counts[half:])
    if after > before * 1.1:
        return "up"
    if after < before * 0.9:
        return "down"
    return "flat"
