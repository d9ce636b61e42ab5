from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metricslib.collector.storage import Store, open_storage


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    # No background thread: tests flush explicitly, so they are deterministic.
    s = open_storage(tmp_path / "data", background=False, retention_ms=10**15)
    yield s
    s.close()
