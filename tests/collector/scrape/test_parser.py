from __future__ import annotations

import pytest

from metricslib.collector.scrape.parser import ExpositionParser
from metricslib.errors import ParseError


def test_text_body_gives_keys_values_and_metadata() -> None:
    parsed = ExpositionParser()(b'# TYPE m counter\nm_total{a="1"} 3\n', "text/plain; version=0.0.4", {})
    assert [(k, v, t) for k, v, t in parsed.samples] == [('m_total{a="1"}', 3.0, None)]
    assert dict(parsed.labels_for('m_total{a="1"}')) == {"__name__": "m_total", "a": "1"}
    assert parsed.metadata["m"].type == "counter"


def test_openmetrics_is_chosen_by_content_type() -> None:
    parser = ExpositionParser()
    with pytest.raises(ParseError, match="EOF"):
        parser(b"m 1\n", "application/openmetrics-text; version=1.0.0", {})
    assert parser(b"m 1\n# EOF\n", "application/openmetrics-text; version=1.0.0", {}).samples


def test_invalid_utf8_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="UTF-8 at byte 5"):
        ExpositionParser()(b'm{a="\xff"} 1\n', "text/plain", {})
