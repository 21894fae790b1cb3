"""The bench's judge of the product's speed targets: ratios to the raw loop of the same run, medians of runs."""

from __future__ import annotations

from typing import Any

from bench.report import targets_check


def results(scenarios: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    return {
        "settings": {"idle_levels": [1000, 5000]},
        "scenarios": {key: {"kind": key, "runs": runs} for key, runs in scenarios.items()},
    }


def verdicts(scenarios: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, bool]:
    return {asked: ok for asked, _, ok in targets_check(results(scenarios))}


def test_fan_out_is_judged_per_run_against_the_raw_loop_of_that_run() -> None:
    raw = [{"best_deliveries_per_s": r} for r in (100_000, 50_000, 80_000)]
    product = [{"best_deliveries_per_s": r * 0.95} for r in (100_000, 50_000, 80_000)]
    slow = [{"best_deliveries_per_s": r * 0.85} for r in (100_000, 50_000, 80_000)]
    found = verdicts({"max": {"product-htmx": product, "product-json": slow, "raw": raw}})
    assert found == {
        "product-htmx: fan-out >= 0.9 of the raw loop": True,
        "product-json: fan-out >= 0.9 of the raw loop": False,
    }


def test_idle_memory_counts_the_worst_level_of_every_kind_of_client() -> None:
    found = verdicts(
        {
            "idle": {
                "product-htmx": [{"kb_per_conn_1000": 11.0, "kb_per_conn_5000": 12.0}],
                "product-htmx-signed": [{"kb_per_conn_1000": 15.0, "kb_per_conn_5000": 16.5}],
            }
        }
    )
    assert found == {
        "product-htmx: at most 16 KB per idle connection": True,
        "product-htmx-signed: at most 16 KB per idle connection": False,
    }


def test_a_storm_must_be_within_one_and_a_half_times_the_raw_loop_and_lose_nobody() -> None:
    raw = [{"max_s": 2.0, "failed": 0}]
    found = verdicts(
        {
            "storm": {
                "product-htmx": [{"max_s": 2.9, "failed": 0}],
                "product-htmx-signed": [{"max_s": 2.9, "failed": 3}],
                "raw": raw,
            }
        }
    )
    assert found == {
        "product-htmx: connect storm within 1.5x the raw loop's": True,
        "product-htmx-signed: connect storm within 1.5x the raw loop's": False,
    }


def test_many_rooms_needs_a_p99_within_the_limit_and_nothing_lost() -> None:
    found = verdicts(
        {"rooms": {"product-htmx": [{"p99_ms": 240.0, "lost": 1}], "product-json": [{"p99_ms": 240.0, "lost": 0}]}}
    )
    assert found == {"product-htmx: many rooms, p99 <= 250 ms": False, "product-json: many rooms, p99 <= 250 ms": True}


def test_a_target_this_run_did_not_measure_is_not_judged() -> None:
    assert targets_check(results({"max": {"product-htmx": [{"best_deliveries_per_s": 1.0}]}})) == []
