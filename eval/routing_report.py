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


def evaluate_samples(samples_dir: Path, data_dir: Path) -> dict[str, list[RoutingOutcome]]:
    container = Container(Settings(data_dir=data_dir, samples_dir=samples_dir))
    results: dict[str, list[RoutingOutcome]] = {}
    for folder in sample_tenant_dirs(samples_dir):
        cases_file = folder / "routing_eval.jsonl"
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
    parser.add_argument("--misses", action="store_true", help="List the misrouted messages.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rafiq-routing-") as tmp:
        results = evaluate_samples(args.samples, Path(tmp))
    everything = [o for outcomes in results.values() for o in outcomes]
    for name, rows in tables(everything).items():
        print(format_rows(rows, f"\nrouting by {name} (extractive, {len(everything)} messages)"))
    if args.misses:
        for o in everything:
            expected = (o.case.expected_action, o.case.expected_category)
            got = (o.result.action, o.category)
            if expected != got and not (expected[0] == "answer" and got[0] == "clarify"):
                print(f"- [{o.case.language}] {o.case.message}\n    want {expected} got {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
