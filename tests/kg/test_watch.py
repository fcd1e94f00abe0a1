"""kg.watch without a network: since values, the shown-state, the Atom writer's escaping
and links."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kg.core.alerts import default_since, parse_since, since_start
from kg.core.errors import WatchError
from kg.core.settings import Settings
from kg.recommend.watch import WatchItem, WatchRun, WatchState, atom_feed

ATOM = "{http://www.w3.org/2005/Atom}"


def item(pid: str, **kw: object) -> WatchItem:
    base: dict[str, object] = {
        "paper_id": pid,
        "title": f"Paper {pid[:4]}",
        "year": 2026,
        "publication_date": None,
        "venue": None,
        "authors": ("A. Author",),
        "url": None,
        "score": 0.5,
        "reasons": ("cites 2 papers of your list: X 2020, Y 2021",),
        "cites": ("x", "y"),
    }
    base.update(kw)
    return WatchItem(**base)  # type: ignore[arg-type]


def test_since_values() -> None:
    assert [parse_since(s) for s in ("2025", " 2025-03 ", "2024-02-29")] == [
        "2025",
        "2025-03",
        "2024-02-29",
    ]
    for bad in ("25", "2025-13", "2025-02-30", "2025/01/01", "last year"):
        with pytest.raises(WatchError, match="--since"):
            parse_since(bad)
    assert since_start("2025") == "2025-01-01" and since_start("2025-03") == "2025-03-01"
    now = datetime(2026, 1, 20, tzinfo=UTC)
    assert default_since(None, now) == "2025-01-20"
    # a run on 20 January looks again from the start of the previous year (late listings)
    assert default_since("2026-01-20T09:00:00+00:00", now) == "2025"
    assert default_since("2026-06-01T09:00:00+00:00", now) == "2026"


def test_state_round_trip_and_damage(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    state = WatchState.load(settings)
    assert state.runs == [] and not state.path.exists()
    run = WatchRun(
        at="2026-12-06T10:00:00+00:00",
        target="core",
        since="2025",
        watched=3,
        found=2,
        items=(item("a" * 40), item("b" * 40)),
    )
    stored = state.record(run)
    assert all(i.shown_at == run.at for i in stored.items)
    again = WatchState.load(settings)
    assert again.shown == {"a" * 40: run.at, "b" * 40: run.at}
    assert again.last_run == {"core": run.at} and again.runs == [stored]
    assert [i.paper_id for i in again.recent_items()] == ["a" * 40, "b" * 40]
    state.path.write_text("{not json", encoding="utf-8")
    with pytest.raises(WatchError, match="delete it"):
        WatchState.load(settings)
    state.path.write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(WatchError, match="litkg-watch/1"):
        WatchState.load(settings)


def test_atom_escapes_text_and_keeps_only_http_links() -> None:
    hostile = item(
        "c" * 40,
        title="<script>alert(1)</script> & \x07bell",
        url="javascript:alert(1)",
        shown_at="2026-12-06T10:00:00+00:00",
        publication_date="2026-02-14",
    )
    local = item("local:abc", url="ftp://example.org/x", shown_at="2026-12-06T10:00:00+00:00")
    good = item("d" * 40, url="https://arxiv.org/abs/2401.00001", shown_at="2026-12-05T10:00:00Z")
    data = atom_feed([hostile, local, good], title="t & <u>", feed_id="urn:litkg:watch")
    root = ET.fromstring(data)
    assert root.findtext(f"{ATOM}title") == "t & <u>"
    assert b"<script>" not in data and b"\x07" not in data
    entries = root.findall(f"{ATOM}entry")
    assert entries[0].findtext(f"{ATOM}title") == "<script>alert(1)</script> & bell (2026)"
    hrefs = [[link.get("href") for link in e.findall(f"{ATOM}link")] for e in entries]
    assert hrefs == [
        [f"https://www.semanticscholar.org/paper/{'c' * 40}"],
        [],
        ["https://arxiv.org/abs/2401.00001"],
    ]
    assert entries[0].findtext(f"{ATOM}published") == "2026-02-14T00:00:00Z"
    assert root.findtext(f"{ATOM}updated") == "2026-12-06T10:00:00+00:00"
