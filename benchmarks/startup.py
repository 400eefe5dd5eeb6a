"""Measure how long ``gateway --help`` and every subcommand's ``--help`` take, beside bare Python.

    python benchmarks/startup.py [--runs 5]

Each command runs ``--runs`` times in a fresh interpreter (the console script's own, as a user
types it); the best time is reported, since start-up noise only ever adds. The baseline is
``python -c pass`` run the same way: the floor of any Python command. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from gateway.cli import cli

GOAL = 0.5  # seconds, issue 12


def best_of(runs: int, argv: list[str]) -> float:
    """Return the fastest of ``runs`` wall-clock runs of ``argv``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        times.append(time.perf_counter() - start)
    return min(times)


def commands() -> list[list[str]]:
    """List every command path: [], [accounts], [accounts, import], ..."""
    found: list[list[str]] = [[]]
    for name, command in cli.commands.items():
        found.append([name])
        found.extend([name, sub] for sub in getattr(command, "commands", {}))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command [5]")
    args = parser.parse_args()
    script = Path(sys.executable).with_name("gateway")
    gateway = str(script) if script.exists() else shutil.which("gateway")
    if gateway is None:
        print("the gateway console script is not installed (make install)", file=sys.stderr)
        return 2

    baseline = best_of(args.runs, [sys.executable, "-c", "pass"])
    print(f"{'python -c pass (baseline)':<34} {baseline:>7.3f} s {1:>6.1f}x baseline")
    slowest = 0.0
    for path in commands():
        seconds = best_of(args.runs, [gateway, *path, "--help"])
        slowest = max(slowest, seconds)
        label = " ".join(["gateway", *path, "--help"])
        print(f"{label:<34} {seconds:>7.3f} s {seconds / baseline:>6.1f}x baseline")
    print(f"slowest {slowest:.3f} s (goal {GOAL} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
