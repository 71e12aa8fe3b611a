"""`oversight --help` start-up time as a ratio to `python -c pass` (target <= 4).

    python bench/bench_cli_startup.py [--runs 15]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = shutil.which("oversight", path=str(Path(sys.executable).parent)) or shutil.which("oversight")
    if script is None:
        raise SystemExit("the oversight console script is not installed in this environment")
    timed([sys.executable, "-c", "pass"], 3)  # warm the file cache
    timed([script, "--help"], 3)
    python = timed([sys.executable, "-c", "pass"], args.runs)
    help_ = timed([script, "--help"], args.runs)
    probe = subprocess.run([sys.executable, "-c", "import sys; from oversight.cli import main\n"
                            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
                            "print(sorted(m for m in ('litellm','langgraph','sqlalchemy','pydantic') if m in sys.modules))"],
                           capture_output=True, text=True, check=True)
    heavy = probe.stdout.strip().splitlines()[-1]
    result = {
        "bench": "cli_startup",
        "runs": args.runs,
        "python_c_pass_s": round(python, 4),
        "oversight_help_s": round(help_, 4),
        "ratio": round(help_ / python, 2),
        "target": "<= 4",
        "heavy_modules_imported_by_help": json.loads(heavy.replace("'", '"')),
    }
    print(f"oversight --help {help_ * 1000:.0f} ms vs python -c pass {python * 1000:.0f} ms: ratio {result['ratio']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
