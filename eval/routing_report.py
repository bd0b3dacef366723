"""Routing tables for the sample tenants: ``python -m eval.routing_report [--misses]``.

Extractive mode, each sample tenant loaded into a throw-away data directory.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from agent.result import RelayedMessage, TurnResult
from eval.routing import RoutingOutcome, format_rows, load_cases, run, tables
from rafiq.demo import load_sample_tenant, sample_tenant_dirs
from rafiq.settings import Settings
from rafiq.wiring import Container

ROUTING_SETS = {"dev": "routing_eval.jsonl", "holdout": "routing_holdout.jsonl"}


def evaluate_samples(
    samples_dir: Path, data_dir: Path, routing_set: str = "dev"
) -> dict[str, list[RoutingOutcome]]:
    """Each sample tenant's ``dev`` set (used to calibrate triage) or ``holdout`` set
    (written separately, never used for calibration)."""
    container = Container(Settings(data_dir=data_dir, samples_dir=samples_dir))
    results: dict[str, list[RoutingOutcome]] = {}
    for folder in sample_tenant_dirs(samples_dir):
        cases_file = folder / ROUTING_SETS[routing_set]
        if not cases_file.is_file():
            continue
        tenant = load_sample_tenant(container, folder).name
        profile = container.tenant_context(tenant).profile

        def turn(text: str, tenant: str = tenant) -> TurnResult:
            result = container.agent.turn(tenant, text)
            assert not isinstance(result, RelayedMessage)  # a fresh conversation is the bot's
            return result

        results[tenant] = run(turn, load_cases(cases_file), profile.arabizi_reply)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=Path, default=Path("samples"))
    parser.add_argument("--set", dest="routing_set", choices=sorted(ROUTING_SETS), default="dev")
    parser.add_argument("--misses", action="store_true", help="List the misrouted messages.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rafiq-routing-") as tmp:
        results = evaluate_samples(args.samples, Path(tmp), args.routing_set)
    everything = [o for outcomes in results.values() for o in outcomes]
    for name, rows in tables(everything).items():
        title = (
            f"\nrouting by {name} ({args.routing_set} set, extractive, {len(everything)} messages)"
        )
        print(format_rows(rows, title))
    if args.misses:
        for o in everything:
            expected = (o.case.expected_action, o.case.expected_category)
            got = (o.result.action, o.category)
            if expected != got and not (expected[0] == "answer" and got[0] == "clarify"):
                print(f"- [{o.case.language}] {o.case.message}\n    want {expected} got {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
