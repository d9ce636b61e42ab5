import sys
from pathlib import Path

# Lets test modules `from tests.helpers import ...` whatever the working directory.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
