import sys
from pathlib import Path

from hypothesis import settings

# Lets test modules `from tests.helpers import ...` whatever the working directory.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


# Property tests check behaviour, never speed: Hypothesis's default 200 ms
# deadline per example is a timing assertion that a loaded 2-core machine
# trips. Derandomized, so every run (and CI) tries the same examples.
settings.register_profile("metricslib", deadline=None, derandomize=True)
settings.load_profile("metricslib")
