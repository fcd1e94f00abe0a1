"""ingest.records on hand-made S2 records (the real recorded ones: test_contract.py)."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.records import SPECTER_MODEL, specter_from_s2
from ingest.s2 import PAPER_FIELDS


def test_paper_fields_ask_for_specter2() -> None:
    assert f"embedding.{SPECTER_MODEL}" in PAPER_FIELDS
    assert "embedding" not in PAPER_FIELDS  # S2's default for it is SPECTER (v1)


@pytest.mark.parametrize(
    ("embedding", "expected"),
    [
        ({"model": "specter_v2", "vector": [0.5, -1, 2]}, [0.5, -1.0, 2.0]),
        ({"vector": [1, 2]}, [1.0, 2.0]),  # no model name: taken as asked for
        ({"model": "specter_v1", "vector": [0.5, -1, 2]}, None),  # another vector space
        ({"model": "specter_v2", "vector": []}, None),
        ({"model": "specter_v2", "vector": ["x", 1]}, None),
        ({"model": "specter_v2"}, None),
        (None, None),
        ([1.0, 2.0], None),
    ],
)
def test_specter_from_s2_keeps_specter2_vectors_only(embedding: Any, expected: Any) -> None:
    assert specter_from_s2({"paperId": "p", "embedding": embedding}) == expected
    assert specter_from_s2({"paperId": "p"}) is None
