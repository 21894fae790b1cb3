"""What must hold for the harness itself to be trusted (`--self-check`); not targets of any server."""

from __future__ import annotations

from typing import Any


def self_check(results: dict[str, Any]) -> list[str]:
    """What must hold for the harness itself to be trusted (not targets of any server)."""
    problems = []
    scen = results["scenarios"]
    for key, scenario in scen.items():
        for target, runs in scenario["runs"].items():
            for r in runs:
                if "error" in r:
                    problems.append(f"{key} {target}: {r['error']}")
    for key in (k for k in scen if k.startswith("fanout")):
        for r in scen[key]["runs"].get("bare", []):
            if r.get("lost", 1) or r.get("connected") != r.get("clients") or not r.get("sent"):
                problems.append(
                    f"{key} bare: lost {r.get('lost')} of {r.get('expected')}, connected {r.get('connected')}"
                )
    bare = [r.get("best_deliveries_per_s", 0) for r in scen.get("max", {}).get("runs", {}).get("bare", [])]
    gen = [r.get("best_deliveries_per_s", 0) for r in scen.get("headroom", {}).get("runs", {}).get("blaster", [])]
    if bare and gen and max(gen) < max(bare):  # quick ramps are coarse: a tie is no failure
        problems.append(f"generator headroom {max(gen):.0f}/s is below bare's {max(bare):.0f}/s")
    for key in ("storm", "reconnect"):
        for r in scen.get(key, {}).get("runs", {}).get("bare", []):
            if r.get("failed", 1):
                problems.append(f"{key} bare: {r.get('failed')} clients failed")
    for r in scen.get("idle", {}).get("runs", {}).get("bare", []):
        if not all(r.get(f"connected_{lv}") == lv for lv in results["settings"]["idle_levels"]):
            problems.append("idle bare: not every connection stayed open")
    return problems
