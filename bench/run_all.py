"""Run every benchmark in this folder, one after another."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
failed = 0
for script in sorted(here.glob("bench_*.py")):
    print(f"=== {script.name}", flush=True)
    failed |= subprocess.call([sys.executable, str(script)])
sys.exit(failed)
