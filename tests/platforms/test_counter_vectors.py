"""The web composer's counters and the server's rules agree on every shared vector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from t21.platforms.text import code_point_length, hashtags, mentions, x_weighted_length

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "web/src/lib/counter-vectors.json").read_text())
CASES = VECTORS["vectors"]


@pytest.mark.parametrize("case", CASES, ids=[c.get("name", c["text"][:20]) for c in CASES])
def test_server_counts_match_the_shared_vectors(case: dict) -> None:
    assert x_weighted_length(case["text"]) == case["xWeightedLength"]
    assert code_point_length(case["text"]) == case["codePointLength"]
    assert len(hashtags(case["text"])) == (
        case["hashtags"] if isinstance(case["hashtags"], int) else len(case["hashtags"])
    )
    assert len(mentions(case["text"])) == (
        case["mentions"] if isinstance(case["mentions"], int) else len(case["mentions"])
    )
