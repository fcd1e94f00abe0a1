"""Named reading lists: kept on disk, reordered, annotated, and mirrored into RDF.

The lists live in one JSON file, ``<data dir>/reading-lists.json``
(:data:`FILE_NAME`)::

    {"format": "litkg.reading-lists", "version": 1,
     "lists": [{"name": "...", "created_at": "...", "updated_at": "...",
                "items": [{"paper_id": "...", "note": null, "added_at": "..."}]}]}

* Every change is a read-modify-write of the whole file under an advisory lock
  (``reading-lists.json.lock``, POSIX ``flock``), so the app and the CLI can
  change lists side by side; the file is replaced atomically (temp file +
  rename), so a crash leaves the previous version. Reads go to the file each
  time, so a list changed by the CLI shows up in a running app.
* A file that cannot be read (bad JSON, wrong shape, a newer version) is never
  overwritten or moved: every operation raises :class:`ReadingListError`
  naming the file and what is wrong, and saying how to go on (fix it by hand,
  or move it aside; :meth:`ReadingLists.set_aside` does that and starts with
  no lists). Losing someone's lists silently is worse than refusing.
* Names are unique ignoring case; :meth:`ReadingLists.get` also finds a list
  by a differently-cased name. Adding a paper that is already on a list does
  nothing (its note stays; use :meth:`ReadingLists.set_note`).

The lists' RDF (a ``litkg:ReadingList`` that is an ``rdf:Seq`` of its papers) is
:mod:`kg.rdf.lists`.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.core.errors import ReadingListError
from kg.core.fileio import atomic_write_text
from kg.core.ids import doi_key
from kg.core.model import Paper, is_s2_paper_id
from kg.core.text import title_key

if TYPE_CHECKING:
    from kg.core.settings import Settings
    from kg.store.corpus import CorpusStore

__all__ = [
    "FILE_NAME",
    "ImportReport",
    "ReadingItem",
    "ReadingList",
    "ReadingLists",
    "match_papers",
]

FILE_NAME = "reading-lists.json"
FORMAT = "litkg.reading-lists"
VERSION = 1
MAX_NAME_LENGTH = 200


# --------------------------------------------------------------------------- model
@dataclass(frozen=True)
class ReadingItem:
    """One paper on a list, with the reader's note and when it was added (ISO 8601, UTC)."""

    paper_id: str
    note: str | None = None
    added_at: str = ""


@dataclass(frozen=True)
class ReadingList:
    """A named, ordered list of papers."""

    name: str
    items: tuple[ReadingItem, ...] = ()
    created_at: str = ""
    updated_at: str = ""

    @property
    def paper_ids(self) -> tuple[str, ...]:
        return tuple(item.paper_id for item in self.items)

    @property
    def notes(self) -> dict[str, str]:
        """Paper id -> note, for the papers that have one."""
        return {item.paper_id: item.note for item in self.items if item.note}

    def position(self, paper_id: str) -> int | None:
        """0-based position of ``paper_id``, or None when it is not on the list."""
        for i, item in enumerate(self.items):
            if item.paper_id == paper_id:
                return i
        return None

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, paper_id: object) -> bool:
        return any(item.paper_id == paper_id for item in self.items)


@dataclass(frozen=True)
class ImportReport:
    """What :meth:`ReadingLists.import_papers` did: papers added (ids, in file order),
    papers matched but already on the list, and papers not found in the corpus."""

    name: str
    added: tuple[str, ...] = ()
    already_listed: tuple[str, ...] = ()
    unmatched: tuple[Paper, ...] = ()
    created: bool = False


# --------------------------------------------------------------------------- helpers
def _utc_now() -> datetime:
    return datetime.now(UTC)


def _check_name(name: str) -> str:
    clean = " ".join(str(name).split())
    if not clean:
        raise ReadingListError("a reading list needs a name; give a non-empty name")
    if len(clean) > MAX_NAME_LENGTH:
        raise ReadingListError(
            f"reading-list name is {len(clean)} characters long; use at most {MAX_NAME_LENGTH}"
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in clean):
        raise ReadingListError(f"reading-list name {clean!r} holds control characters; drop them")
    return clean


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    text = note.strip()
    return text or None


def _atomic_write(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise ReadingListError(
            f"cannot write {path} ({exc.strerror or exc}); check that the data directory "
            "is writable (LITKG_DATA_DIR)"
        ) from exc


# --------------------------------------------------------------------------- store
class ReadingLists:
    """The reading lists in one JSON file (see the module docstring)."""

    def __init__(self, path: Path | str, *, clock: Callable[[], datetime] | None = None):
        self.path = Path(path)
        self._clock = clock or _utc_now

    @classmethod
    def open(cls, settings: Settings) -> ReadingLists:
        """The lists under ``settings.data_dir``."""
        return cls(Path(settings.data_dir) / FILE_NAME)

    # ------------------------------------------------------------------ reading
    def all(self) -> tuple[ReadingList, ...]:
        """Every list, in creation order."""
        return tuple(self._load())

    def names(self) -> list[str]:
        return [lst.name for lst in self._load()]

    def paper_ids_by_name(self) -> dict[str, list[str]]:
        """Every list's paper ids in order, by list name (what the curated-list
        evaluation and the build's tuning take)."""
        return {lst.name: list(lst.paper_ids) for lst in self._load()}

    def get(self, name: str) -> ReadingList:
        """The list called ``name`` (case-insensitive when no exact match);
        :class:`ReadingListError` naming the existing lists when there is none."""
        lists = self._load()
        return lists[self._index(lists, name)]

    def find(self, name: str) -> ReadingList | None:
        lists = self._load()
        i = self._find(lists, name)
        return None if i is None else lists[i]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(self._load(), name) is not None

    # ------------------------------------------------------------------ lists
    def create(self, name: str, *, exist_ok: bool = False) -> ReadingList:
        """A new empty list; an existing one when ``exist_ok``, else ReadingListError."""
        clean = _check_name(name)

        def change(lists: list[ReadingList]) -> ReadingList:
            i = self._find(lists, clean)
            if i is not None:
                if exist_ok:
                    return lists[i]
                raise ReadingListError(
                    f"a reading list named {lists[i].name!r} already exists; pick another name"
                )
            now = self._now()
            new = ReadingList(clean, (), now, now)
            lists.append(new)
            return new

        return self._change(change)

    def rename(self, name: str, new_name: str) -> ReadingList:
        clean = _check_name(new_name)

        def change(lists: list[ReadingList]) -> ReadingList:
            i = self._index(lists, name)
            j = self._find(lists, clean)
            if j is not None and j != i:
                raise ReadingListError(
                    f"a reading list named {lists[j].name!r} already exists; pick another name"
                )
            lists[i] = replace(lists[i], name=clean, updated_at=self._now())
            return lists[i]

        return self._change(change)

    def delete(self, name: str) -> None:
        def change(lists: list[ReadingList]) -> None:
            del lists[self._index(lists, name)]

        self._change(change)

    # ------------------------------------------------------------------ items
    def add(
        self, name: str, paper_id: str, note: str | None = None, *, create: bool = False
    ) -> bool:
        """Append ``paper_id``; False (and nothing changes) when it is already listed.
        ``create`` makes the list first when there is none."""
        notes = {paper_id: note} if note else None
        return bool(self.add_many(name, [paper_id], notes, create=create))

    def add_many(
        self,
        name: str,
        paper_ids: Iterable[str],
        notes: Mapping[str, str | None] | None = None,
        *,
        create: bool = False,
    ) -> tuple[str, ...]:
        """Append the papers not yet listed, in order; returns the ids added."""
        ids = [str(p).strip() for p in paper_ids]
        if any(not p for p in ids):
            raise ReadingListError("an empty paper id cannot be listed; pass the paper's id")
        notes = notes or {}

        def change(lists: list[ReadingList]) -> tuple[str, ...]:
            i = self._index(lists, name, create=create)
            lst = lists[i]
            present = set(lst.paper_ids)
            now = self._now()
            new: list[ReadingItem] = []
            for pid in ids:
                if pid not in present:
                    present.add(pid)
                    new.append(ReadingItem(pid, _clean_note(notes.get(pid)), now))
            if new:
                lists[i] = replace(lst, items=lst.items + tuple(new), updated_at=now)
            return tuple(item.paper_id for item in new)

        return self._change(change)

    def remove(self, name: str, paper_id: str) -> bool:
        """Take ``paper_id`` off the list; False when it was not on it."""

        def change(lists: list[ReadingList]) -> bool:
            i = self._index(lists, name)
            lst = lists[i]
            kept = tuple(item for item in lst.items if item.paper_id != paper_id)
            if len(kept) == len(lst.items):
                return False
            lists[i] = replace(lst, items=kept, updated_at=self._now())
            return True

        return self._change(change)

    def move(self, name: str, paper_id: str, new_position: int) -> ReadingList:
        """Move ``paper_id`` to 0-based ``new_position`` (clamped to the list)."""

        def change(lists: list[ReadingList]) -> ReadingList:
            i = self._index(lists, name)
            lst = lists[i]
            at = self._position(lst, paper_id)
            items = list(lst.items)
            item = items.pop(at)
            target = max(0, min(int(new_position), len(items)))
            items.insert(target, item)
            if target != at:
                lists[i] = replace(lst, items=tuple(items), updated_at=self._now())
            return lists[i]

        return self._change(change)

    def set_note(self, name: str, paper_id: str, note: str | None) -> ReadingList:
        """Set (or, with None or blank text, clear) the note on ``paper_id``."""

        def change(lists: list[ReadingList]) -> ReadingList:
            i = self._index(lists, name)
            lst = lists[i]
            at = self._position(lst, paper_id)
            items = list(lst.items)
            items[at] = replace(items[at], note=_clean_note(note))
            lists[i] = replace(lst, items=tuple(items), updated_at=self._now())
            return lists[i]

        return self._change(change)

    def reorder(
        self, name: str, paper_ids: Sequence[str], *, add_missing: bool = False
    ) -> ReadingList:
        """Put ``paper_ids`` first, in that order (e.g. a reading path), and the other
        papers after them in their current order. Ids not on the list raise
        :class:`ReadingListError` unless ``add_missing`` adds them."""
        wanted = list(dict.fromkeys(str(p) for p in paper_ids))

        def change(lists: list[ReadingList]) -> ReadingList:
            i = self._index(lists, name)
            lst = lists[i]
            by_id = {item.paper_id: item for item in lst.items}
            missing = [p for p in wanted if p not in by_id]
            if missing and not add_missing:
                raise ReadingListError(
                    f"{', '.join(missing[:5])} {'is' if len(missing) == 1 else 'are'} not on "
                    f"reading list {lst.name!r}; add them first, or pass add_missing=True"
                )
            now = self._now()
            first = [by_id.get(p) or ReadingItem(p, None, now) for p in wanted]
            rest = [item for item in lst.items if item.paper_id not in set(wanted)]
            items = tuple(first + rest)
            if items != lst.items:
                lists[i] = replace(lst, items=items, updated_at=now)
            return lists[i]

        return self._change(change)

    def import_papers(
        self,
        name: str,
        papers: Sequence[Paper],
        corpus: CorpusStore | Mapping[str, Paper],
        *,
        notes: Sequence[str | None] | None = None,
        create: bool = True,
    ) -> ImportReport:
        """Match ``papers`` (e.g. from :func:`kg.formats.registry.import_papers`) to the corpus
        by id, DOI, arXiv id or title, and add the matched ones to list ``name`` (made when
        missing and ``create``). ``notes`` (aligned with ``papers``) become the items'
        notes. Unmatched papers are reported, not added."""
        matches = match_papers(papers, corpus)
        created = create and self.find(name) is None
        ids: list[str] = []
        item_notes: dict[str, str | None] = {}
        unmatched: list[Paper] = []
        for n, (paper, match) in enumerate(zip(papers, matches, strict=True)):
            if match is None:
                unmatched.append(paper)
                continue
            if match not in item_notes:
                ids.append(match)
                item_notes[match] = notes[n] if notes is not None and n < len(notes) else None
        if ids:
            added = self.add_many(name, ids, item_notes, create=create)
        else:
            added = ()
            if create:
                self.create(name, exist_ok=True)
        listed = tuple(p for p in ids if p not in set(added))
        final = self.get(name).name
        return ImportReport(final, tuple(added), listed, tuple(unmatched), created)

    # ------------------------------------------------------------------ recovery
    def set_aside(self) -> Path | None:
        """Move the file aside (to ``reading-lists.json.bak``, or ``.bak2`` ... when taken)
        so that the next change starts with no lists; returns where it went (None when
        there was no file)."""
        with self._lock():
            if not self.path.exists():
                return None
            target = self.path.with_name(self.path.name + ".bak")
            n = 1
            while target.exists():
                n += 1
                target = self.path.with_name(f"{self.path.name}.bak{n}")
            self.path.replace(target)
            return target

    # ------------------------------------------------------------------ internals
    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat(timespec="seconds")

    @staticmethod
    def _find(lists: Sequence[ReadingList], name: str) -> int | None:
        clean = " ".join(str(name).split())
        for i, lst in enumerate(lists):
            if lst.name == clean:
                return i
        folded = clean.casefold()
        for i, lst in enumerate(lists):
            if lst.name.casefold() == folded:
                return i
        return None

    def _index(self, lists: list[ReadingList], name: str, *, create: bool = False) -> int:
        i = self._find(lists, name)
        if i is not None:
            return i
        if create:
            now = self._now()
            lists.append(ReadingList(_check_name(name), (), now, now))
            return len(lists) - 1
        existing = ", ".join(repr(lst.name) for lst in lists) or "none yet"
        raise ReadingListError(
            f"no reading list named {name!r} (existing lists: {existing}); "
            "check the name or create the list first"
        )

    @staticmethod
    def _position(lst: ReadingList, paper_id: str) -> int:
        at = lst.position(paper_id)
        if at is None:
            raise ReadingListError(f"{paper_id} is not on reading list {lst.name!r}; add it first")
        return at

    @contextmanager
    def _lock(self) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _change(self, change: Callable[[list[ReadingList]], Any]) -> Any:
        with self._lock():
            before = self._load()
            lists = list(before)
            result = change(lists)
            if lists != before:
                _atomic_write(self.path, _dump(lists))
            return result

    def _load(self) -> list[ReadingList]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise self._corrupt(f"cannot be read: {exc}") from exc
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._corrupt(
                f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from exc
        return _parse(doc, self._corrupt)

    def _corrupt(self, what: str) -> ReadingListError:
        return ReadingListError(
            f"the reading-lists file {self.path} {what}. It was left as it is: fix it by hand, "
            f"or move it aside (mv {self.path} {self.path}.bak, or ReadingLists.set_aside()) "
            "to start again with no lists"
        )


def _dump(lists: Sequence[ReadingList]) -> str:
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "lists": [
            {
                "name": lst.name,
                "created_at": lst.created_at,
                "updated_at": lst.updated_at,
                "items": [
                    {"paper_id": it.paper_id, "note": it.note, "added_at": it.added_at}
                    for it in lst.items
                ],
            }
            for lst in lists
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _parse(doc: Any, corrupt: Callable[[str], ReadingListError]) -> list[ReadingList]:
    def text(d: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
        value = d.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise corrupt(f"has a bad {where}.{key} (expected a string, got {value!r})")
        return value

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise corrupt(f'is not a litkg reading-lists file ("format" should be {FORMAT!r})')
    version = doc.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise corrupt(
            f"has version {version!r}, which this litkg cannot read (it reads {VERSION}); "
            "upgrade litkg"
        )
    raw_lists = doc.get("lists")
    if not isinstance(raw_lists, list):
        raise corrupt('has no "lists" array')
    out: list[ReadingList] = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_lists):
        where = f"lists[{n}]"
        if not isinstance(raw, dict):
            raise corrupt(f"has a bad {where} (expected an object)")
        name = text(raw, "name", where)
        if not name.strip() or name.casefold() in seen:
            raise corrupt(f"has an empty or repeated list name {name!r} at {where}")
        seen.add(name.casefold())
        raw_items = raw.get("items", [])
        if not isinstance(raw_items, list):
            raise corrupt(f"has a bad {where}.items (expected an array)")
        items: list[ReadingItem] = []
        ids: set[str] = set()
        for k, item in enumerate(raw_items):
            iw = f"{where}.items[{k}]"
            if not isinstance(item, dict):
                raise corrupt(f"has a bad {iw} (expected an object)")
            pid = text(item, "paper_id", iw)
            if pid in ids:
                continue  # a hand-edited duplicate: the first one counts
            ids.add(pid)
            items.append(
                ReadingItem(
                    pid,
                    text(item, "note", iw, optional=True),
                    text(item, "added_at", iw, optional=True) or "",
                )
            )
        out.append(
            ReadingList(
                name,
                tuple(items),
                text(raw, "created_at", where, optional=True) or "",
                text(raw, "updated_at", where, optional=True) or "",
            )
        )
    return out


# --------------------------------------------------------------------------- matching
class _Index:
    def __init__(self) -> None:
        self.doi: dict[str, str] = {}
        self.arxiv: dict[str, str] = {}
        self.title: dict[str, list[tuple[str, int | None]]] = {}

    def add(self, paper: Paper, titles: set[str] | None = None) -> None:
        if paper.doi:
            self.doi.setdefault(doi_key(paper.doi), paper.paper_id)
        if paper.arxiv_id:
            self.arxiv.setdefault(paper.arxiv_id, paper.paper_id)
        key = title_key(paper.title)
        if key and (titles is None or key in titles):
            self.title.setdefault(key, []).append((paper.paper_id, paper.year))

    def by_ids(self, paper: Paper) -> str | None:
        """By DOI, then arXiv id, then title."""
        if paper.doi and (hit := self.doi.get(doi_key(paper.doi))):
            return hit
        if paper.arxiv_id and (hit := self.arxiv.get(paper.arxiv_id)):
            return hit
        return self.by_title(paper)

    def by_title(self, paper: Paper) -> str | None:
        found = self.title.get(title_key(paper.title))
        if not found:
            return None
        same_year = [pid for pid, year in found if paper.year is not None and year == paper.year]
        return min(same_year) if same_year else min(pid for pid, _ in found)


def match_papers(
    papers: Sequence[Paper], corpus: CorpusStore | Mapping[str, Paper]
) -> list[str | None]:
    """The corpus paper id each of ``papers`` is (None when none is found): by paper id,
    then DOI (case-insensitive), arXiv id, and finally the normalised title (the
    same year preferred when several papers share it)."""
    if isinstance(corpus, Mapping):
        index = _Index()
        for paper in corpus.values():
            index.add(paper)
        return [
            paper.paper_id if paper.paper_id in corpus else index.by_ids(paper) for paper in papers
        ]
    out = [_store_match(corpus, paper) for paper in papers]
    wanted = {title_key(p.title) for p, hit in zip(papers, out, strict=True) if hit is None}
    wanted.discard("")
    if wanted:
        index = _Index()
        for paper in corpus.papers():
            index.add(paper, wanted)
        out = [hit or index.by_title(paper) for paper, hit in zip(papers, out, strict=True)]
    return out


def _store_match(store: CorpusStore, paper: Paper) -> str | None:
    pid = paper.paper_id
    if store.get_paper(pid) is not None:
        return pid
    aliases = [pid] if is_s2_paper_id(pid) else []
    if paper.doi:
        aliases.append("DOI:" + doi_key(paper.doi))
    if paper.arxiv_id:
        aliases.append("ARXIV:" + paper.arxiv_id)
    for alias in aliases:
        if hit := store.lookup(alias):
            return hit
    return None
