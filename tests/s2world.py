"""Test worlds for :class:`tests.s2server.S2Server`.

* :func:`build_world` builds a world from the REAL records in ``../shared``:
  every record of ``corpus/s2-ai-safety-papers.csv`` (real S2 paperIds), the entries
  of ``corpus/mi-review-library.bib.gz`` with an arXiv id or DOI, the interpretability
  records of ``corpus/llm-papers.jsonl.gz`` (capped), and every paper of the seed page
  ``seeds/mechanistic-interpretability.dokuwiki.txt``. What is invented is marked:
  ``synthetic_id`` (a paperId derived from a hash), ``synthetic`` (a record made up
  from the seed page, a synthetic citing paper, a twin), ``synthetic_fields`` (e.g.
  ``corpusId``, ``authors.authorId``, ``embedding``), and every edge carries
  ``"synthetic": true`` (the corpus has no citation data, so edges are generated
  with a seeded RNG).
* :func:`small_world` is a hand-made world of 16 papers with ids of every form, for
  fast tests that need no shared data.

``world.meta`` documents the build: ``seeds`` (one entry per seed-page paper with the
paperId it should resolve to), ``hub`` (the seed cited > 1,500 times), ``twins``
(preprint/published pairs), ``counts``, ``seed``.
"""

from __future__ import annotations

import ast
import csv
import gzip
import json
import math
import random
import re
import sys
import time
import unicodedata
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.s2server import (
    World,
    content_tokens,
    hex_id,
    normalize_arxiv,
    normalize_title,
)

ARXIV_VENUE = {
    "id": "1901e811-ee72-4b20-8f7e-de08cd395a10",
    "name": "arXiv.org",
    "alternate_names": ["ArXiv"],
    "issn": "2331-8422",
    "url": "https://arxiv.org",
}
#: llm-papers.jsonl.gz records kept by default: title or tags match this.
RELEVANT = re.compile(
    r"interpretab|mechanistic|probing|\bprobes?\b|circuit|sparse auto-?encoder|attention head"
    r"|induction head|superposition|monosemantic|dictionary learning|explainab|neuron",
    re.IGNORECASE,
)
SEED_PAGE = Path("seeds", "mechanistic-interpretability.dokuwiki.txt")
HUB_MIN_CITATIONS = 1600
INTENTS = ("background", "methodology", "result")


# ----------------------------------------------------------------------------- small helpers
def author_id(name: str) -> str:
    """A deterministic numeric S2-like authorId for a name."""
    return str(int(hex_id("author", normalize_title(name))[:8], 16) % 3_000_000_000 + 1_000)


def _authors(names: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        name = " ".join(name.split()).strip(" ,")
        if name and name.lower() not in ("others", "et al", "et al."):
            out.append({"authorId": author_id(name), "name": name})
    return out


def arxiv_from_text(text: str | None) -> str | None:
    """An arXiv id in a URL, DOI (10.48550/arXiv.X) or eprint field."""
    if not text:
        return None
    m = re.search(r"arxiv\.org/(?:abs|pdf)/([\w.\-/]+?)(?:\.pdf)?/?$", text.strip(), re.I)
    if m:
        return normalize_arxiv(m.group(1))
    m = re.search(r"10\.48550/arxiv\.(\d{4}\.\d{4,5})", text, re.I)
    if m:
        return m.group(1)
    m = re.fullmatch(r"(?:arxiv:)?(\d{4}\.\d{4,5})(v\d+)?", text.strip(), re.I)
    return m.group(1) if m else None


_ACCENTS = {"`": "\u0300", "'": "\u0301", "^": "\u0302", "~": "\u0303", '"': "\u0308"}
_ACCENTS.update({"=": "\u0304", ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306"})
_LETTERS = {"ss": "ß", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "l": "ł", "i": "ı"}


def latex_to_text(value: str) -> str:
    """Good-enough LaTeX -> text for BibTeX titles, names and abstracts."""

    def accent(m: re.Match[str]) -> str:
        return unicodedata.normalize("NFC", m.group(2) + _ACCENTS[m.group(1)])

    value = re.sub(r"\\([`'^~\"=.]|[cvu](?=[\s{]))\s*\{?\s*([A-Za-z])\}?", accent, value)
    value = re.sub(r"\\(ss|aa|AA|ae|o|O|l|i)\b\s*", lambda m: _LETTERS[m.group(1)], value)
    value = re.sub(r"\\([&%_$#{}])", r"\1", value)
    value = re.sub(r"\$\\(\w+)\$", r"\1", value)
    value = re.sub(r"\\[A-Za-z]+\s*", "", value)
    value = value.replace("{", "").replace("}", "").replace("~", " ")
    return " ".join(value.split())


_BIB_ENTRY = re.compile(r"@(\w+)\s*[{(]\s*([^,\s]*)\s*,")
_BIB_FIELD = re.compile(r"[\s,]*([A-Za-z][\w\-:]*)\s*=\s*")


def _bib_value(text: str, pos: int) -> tuple[str, int]:
    if text[pos] in "{":
        depth, start = 0, pos
        while pos < len(text):
            ch = text[pos]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[start + 1 : pos], pos + 1
            elif ch == "\\":
                pos += 1
            pos += 1
        return text[start + 1 :], pos
    if text[pos] == '"':
        depth, start = 0, pos
        pos += 1
        while pos < len(text):
            ch = text[pos]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == '"' and depth == 0:
                return text[start + 1 : pos], pos + 1
            pos += 1
        return text[start + 1 :], pos
    m = re.compile(r"[^,}\s]*").match(text, pos)
    end = m.end() if m else pos
    return text[pos:end], end


def parse_bibtex(text: str) -> list[dict[str, str]]:
    """Entries of a BibTeX file as dicts (lower-case field names, ``ENTRYTYPE``, ``ID``)."""
    entries: list[dict[str, str]] = []
    pos = 0
    while True:
        at = text.find("@", pos)
        if at < 0:
            return entries
        m = _BIB_ENTRY.match(text, at)
        if not m or m.group(1).lower() in ("comment", "preamble", "string"):
            pos = at + 1
            continue
        entry = {"ENTRYTYPE": m.group(1).lower(), "ID": m.group(2)}
        pos = m.end()
        while True:
            fm = _BIB_FIELD.match(text, pos)
            if not fm or fm.end() >= len(text):
                break
            value, pos = _bib_value(text, fm.end())
            entry[fm.group(1).lower()] = value
        entries.append(entry)


def _bib_names(raw: str) -> list[str]:
    names = []
    for part in re.split(r"\s+and\s+", raw):
        part = latex_to_text(part)
        if "," in part:
            last, _, first = part.partition(",")
            part = f"{first.strip()} {last.strip()}"
        names.append(part)
    return names


def hashed_embedding(text: str, dims: int = 768) -> list[float]:
    """A deterministic 768-d feature-hashing embedding of ``text`` (similar texts, similar
    vectors). NOT a SPECTER vector: marked ``synthetic_fields: ["embedding"]``."""
    vec = [0.0] * dims
    for tok in content_tokens(text):
        h = int(hex_id("emb", tok)[:16], 16)
        for k in range(4):
            vec[(h >> (12 * k)) % dims] += 1.0 if (h >> (48 + k)) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [round(v / norm, 5) for v in vec]


# ----------------------------------------------------------------------------- sources
def load_csv(path: Path) -> list[dict[str, Any]]:
    """corpus/s2-ai-safety-papers.csv -> S2-shaped records (real paperIds)."""
    csv.field_size_limit(sys.maxsize)
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                s2_fields = ast.literal_eval(row.get("s2_fields") or "[]")
            except (ValueError, SyntaxError):
                s2_fields = []
            s2_fields = [
                {"category": f.get("category"), "source": f.get("source")} for f in s2_fields
            ]
            fos = list(dict.fromkeys(f["category"] for f in s2_fields if f["source"] == "external"))
            ext: dict[str, Any] = {}
            if row.get("arxiv_id"):
                ext["ArXiv"] = normalize_arxiv(row["arxiv_id"])
            if row.get("doi"):
                ext["DOI"] = row["doi"].strip()
            venue = (row.get("venue") or "").strip()
            pdf = (row.get("pdf_url") or "").strip()
            rec: dict[str, Any] = {
                "paperId": row["paper_id"].strip().lower(),
                "externalIds": ext,
                "publicationVenue": ARXIV_VENUE if venue == "arXiv.org" else None,
                "title": row["title"].strip(),
                "abstract": (row.get("abstract") or "").strip() or None,
                "venue": venue,
                "year": int(row["year"]) if (row.get("year") or "").strip().isdigit() else None,
                "openAccessPdf": {"url": pdf, "status": "GREEN"} if pdf else None,
                "isOpenAccess": bool(pdf),
                "fieldsOfStudy": fos or None,
                "s2FieldsOfStudy": s2_fields,
                "publicationTypes": None,
                "publicationDate": None,
                "journal": {"name": venue} if venue else None,
                "authors": _authors((row.get("authors") or "").split(",")),
                "tldr": None,
                "recordedCitationCount": int(row["citations"])
                if (row.get("citations") or "").isdigit()
                else None,
                "source": "csv",
                "synthetic_fields": ["corpusId", "authors.authorId"],
            }
            out.append(rec)
    return out


def _bib_record(entry: dict[str, str], source: str) -> dict[str, Any]:
    arxiv = None
    for key in ("eprint", "arxivid", "url", "doi"):
        arxiv = arxiv or arxiv_from_text(entry.get(key))
    doi = (entry.get("doi") or "").strip() or None
    ext: dict[str, Any] = {}
    if arxiv:
        ext["ArXiv"] = arxiv
    if doi:
        ext["DOI"] = doi
    journal = latex_to_text(entry.get("journal") or entry.get("booktitle") or "")
    year_m = re.search(r"\d{4}", entry.get("year") or "")
    keywords = [k.strip() for k in latex_to_text(entry.get("keywords") or "").split(",")]
    return {
        "paperId": hex_id("bib", arxiv or (doi or "").lower() or entry["ID"]),
        "externalIds": ext,
        "publicationVenue": None,
        "title": latex_to_text(entry.get("title") or ""),
        "abstract": latex_to_text(entry["abstract"]) if entry.get("abstract") else None,
        "venue": journal,
        "year": int(year_m.group(0)) if year_m else None,
        "openAccessPdf": {"url": f"https://arxiv.org/pdf/{arxiv}", "status": "GREEN"}
        if arxiv
        else None,
        "fieldsOfStudy": ["Computer Science"],
        "s2FieldsOfStudy": [{"category": "Computer Science", "source": "external"}],
        "publicationTypes": None,
        "publicationDate": None,
        "journal": {
            k: v
            for k, v in {
                "name": journal,
                "volume": entry.get("volume"),
                "pages": latex_to_text(entry.get("pages") or "") or None,
            }.items()
            if v
        }
        or None,
        "authors": _authors(_bib_names(entry.get("author") or "")),
        "tldr": None,
        "tags": [k for k in keywords if k],
        "bibkey": entry["ID"],
        "url_in_source": entry.get("url"),
        "source": source,
        "synthetic_id": True,
        "synthetic_fields": ["paperId", "corpusId", "authors.authorId"],
    }


def load_bib(path: Path) -> list[dict[str, Any]]:
    """A BibTeX export (``.bib`` or ``.bib.gz``) -> records (every entry)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return [_bib_record(e, path.name) for e in parse_bibtex(raw.decode("utf-8"))]


def load_llm(path: Path) -> list[dict[str, Any]]:
    """corpus/llm-papers.jsonl.gz -> records (all of them, deduplicated by arXiv id)."""
    out: dict[str, dict[str, Any]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            arxiv = normalize_arxiv(d["arxiv"]) if d.get("arxiv") else None
            key = arxiv or d.get("bibkey") or d["title"]
            names = re.sub(r"\s+et al\.?$", "", d.get("authors") or "").split(",")
            venue = d.get("venue") or ""
            out[key] = {
                "paperId": hex_id("llm", key),
                "externalIds": {"ArXiv": arxiv} if arxiv else {},
                "publicationVenue": ARXIV_VENUE if venue.lower() == "arxiv" else None,
                "title": d["title"],
                "abstract": d.get("abstract") or None,
                "venue": "arXiv.org" if venue.lower() == "arxiv" else venue,
                "year": d.get("year"),
                "openAccessPdf": {"url": f"https://arxiv.org/pdf/{arxiv}", "status": "GREEN"}
                if arxiv
                else None,
                "fieldsOfStudy": ["Computer Science"],
                "s2FieldsOfStudy": [{"category": "Computer Science", "source": "external"}],
                "publicationTypes": None,
                "publicationDate": None,
                "journal": {"name": venue} if venue else None,
                "authors": _authors(names),
                "tldr": None,
                "tags": list(d.get("tags") or []),
                "recordedCitationCount": d.get("citations"),
                "bibkey": d.get("bibkey"),
                "source": "llm-papers",
                "synthetic_id": True,
                "synthetic_fields": ["paperId", "corpusId", "authors.authorId"],
            }
    return list(out.values())


@dataclass
class SeedRef:
    """One paper link of the seed page."""

    url: str
    text: str
    title: str
    year: int | None
    authors: list[str]
    arxiv: str | None


def parse_seed_page(text: str) -> list[SeedRef]:
    """Paper links of the DokuWiki seed page: arXiv links, and links whose text reads
    ``[Authors] YYYY - Title`` (transformer-circuits.pub, transluce.org, openreview)."""
    seeds: list[SeedRef] = []
    seen: set[str] = set()
    for url, label in re.findall(r"\[\[([^\]|]+)\|([^\]]+)\]\]", text):
        url, label = url.strip(), label.strip()
        arxiv = arxiv_from_text(url)
        m = re.match(r"^(?:(.*?)\s+)?((?:19|20)\d\d)\s+-\s+(.+)$", label)
        if not arxiv and not m:
            continue
        ident = arxiv or re.sub(r"[?&]id=|/pdf|/forum", "", url)
        if ident in seen:
            continue
        seen.add(ident)
        people = (m.group(1) or "") if m else ""
        people = re.sub(r"\s+et al\.?$", "", people)
        authors = [a.strip() for a in re.split(r"\s*&\s*|\s+and\s+", people) if a.strip()]
        seeds.append(
            SeedRef(
                url=url,
                text=label,
                title=m.group(3).strip() if m else label,
                year=int(m.group(2)) if m else None,
                authors=authors,
                arxiv=arxiv,
            )
        )
    return seeds


# ----------------------------------------------------------------------------- merging
class _Merger:
    """Accumulates records, merging those with the same arXiv id, DOI or title."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.by_key: dict[tuple[str, str], str] = {}

    def keys(self, rec: dict[str, Any]) -> Iterator[tuple[str, str]]:
        ext = rec.get("externalIds") or {}
        if ext.get("ArXiv"):
            yield ("arxiv", normalize_arxiv(ext["ArXiv"]))
        if ext.get("DOI"):
            yield ("doi", ext["DOI"].lower())
        title = normalize_title(rec.get("title"))
        if len(title.split()) >= 4:
            yield ("title", title)

    def find(self, rec: dict[str, Any]) -> dict[str, Any] | None:
        for key in self.keys(rec):
            pid = self.by_key.get(key)
            if pid is not None:
                other = self.records[pid]
                if key[0] == "title" and abs((other.get("year") or 0) - (rec.get("year") or 0)) > 1:
                    continue
                return other
        return None

    def add(self, rec: dict[str, Any], *, merge: bool = True) -> dict[str, Any]:
        """Add ``rec``, or merge it into the record it duplicates (``merge=False``: keep
        it as a separate paper, as S2 itself keeps some preprint/published pairs)."""
        existing = self.find(rec) if merge else None
        if existing is None:
            if rec["paperId"] in self.records:  # a hash collision of two different works
                rec = {**rec, "paperId": hex_id("dup", rec["paperId"], rec.get("title") or "")}
            self.records[rec["paperId"]] = rec
            existing = rec
        else:
            for name, value in rec.items():
                if name == "externalIds":
                    for k, v in value.items():
                        existing["externalIds"].setdefault(k, v)
                elif name == "tags":
                    existing["tags"] = list(dict.fromkeys([*existing.get("tags", []), *value]))
                elif existing.get(name) in (None, "", []) and value not in (None, "", []):
                    existing[name] = value
            existing.setdefault("also_in", []).append(rec.get("source"))
        for key in self.keys(existing):
            self.by_key.setdefault(key, existing["paperId"])
        return existing


# ----------------------------------------------------------------------------- edges
_TEMPLATES = {
    "background": (
        'Prior work has studied related questions, e.g. "{title}" ({who}, {year}).',
        'This line of research builds on "{title}" [{n}].',
        'See "{title}" [{n}] for an overview of earlier results.',
    ),
    "methodology": (
        'We follow the procedure introduced in "{title}" [{n}].',
        'Our setup adapts the method of {who} [{n}], "{title}".',
        'Following "{title}" ({who}, {year}), we apply the same analysis.',
    ),
    "result": (
        'Our findings are consistent with those reported in "{title}" [{n}].',
        'In contrast to "{title}" [{n}], we observe a different pattern.',
        'These results extend the observations of {who} ({year}) in "{title}".',
    ),
}


def _contexts(rng: random.Random, cited: dict[str, Any], n: int) -> list[dict[str, Any]]:
    names = [a["name"] for a in cited.get("authors") or []]
    who = (names[0].split() or ["Anonymous"])[-1] if names else "Anonymous"
    who = who + " et al." if len(names) > 1 else who
    out = []
    for _ in range(rng.choice((0, 1, 1, 1, 1, 2, 2, 3))):
        intent = rng.choices(INTENTS, weights=(6, 3, 2))[0]
        sentence = rng.choice(_TEMPLATES[intent]).format(
            title=cited.get("title") or "", who=who, year=cited.get("year") or "n.d.", n=n
        )
        out.append({"context": sentence, "intents": [] if rng.random() < 0.08 else [intent]})
    return out


def _informative_tokens(rec: dict[str, Any]) -> set[str]:
    text = " ".join([rec.get("title") or "", *(rec.get("tags") or [])])
    toks = set(content_tokens(text))
    toks.update(content_tokens(rec.get("abstract"))[:80])
    return toks


def generate_edges(
    world: World,
    rng: random.Random,
    boost: dict[str, float],
    unresolved_pool: list[dict[str, Any]],
) -> None:
    """Deterministic synthetic citations: each paper cites 5-30 papers that come before it
    (earlier year, or same year and earlier in a fixed order), preferring shared words and
    already-cited papers (preferential attachment) and the ``boost`` hubs."""
    papers = sorted(world.papers.values(), key=lambda r: (r.get("year") or 0, r["paperId"]))
    order = [r["paperId"] for r in papers]
    toks = [_informative_tokens(r) for r in papers]
    df: Counter[str] = Counter(t for ts in toks for t in ts)
    n = len(papers)
    idf = {t: math.log(n / c) for t, c in df.items() if 2 <= c <= max(0.05 * n, 10)}
    postings: dict[str, list[int]] = defaultdict(list)
    keep: list[list[str]] = []
    for i, ts in enumerate(toks):
        best = sorted((t for t in ts if t in idf), key=lambda t: (-idf[t], t))[:14]
        keep.append(best)
        for t in best:
            postings[t].append(i)
    indeg = [0] * n
    boosts = [boost.get(pid, 1.0) for pid in order]
    boosted = [k for k in range(n) if boosts[k] > 1]
    unresolved_pool = sorted(unresolved_pool, key=lambda r: r.get("year") or 0)
    pool_years = [r.get("year") or 0 for r in unresolved_pool]
    for i, rec in enumerate(papers):
        if i == 0:
            continue
        scores: dict[int, float] = defaultdict(float)
        for t in keep[i]:
            plist = postings[t]
            for j in plist[: bisect_left(plist, i)]:
                scores[j] += idf[t]
        for j in rng.sample(range(i), min(i, 25)):  # some unrelated papers too
            scores[j] += 0.0
        for j in boosted[: bisect_left(boosted, i)]:
            scores[j] += 1.0
        k = min(rng.randint(5, 30), len(scores))
        keyed = []
        for j, s in scores.items():
            w = (s + 0.3) * (1 + indeg[j]) ** 0.5 * boosts[j]
            keyed.append((rng.random() ** (1.0 / w), j))
        keyed.sort(reverse=True)
        chosen = sorted(j for _, j in keyed[:k])
        for pos, j in enumerate(chosen, 1):
            cited = papers[j]
            world.add_edge(
                rec["paperId"],
                cited["paperId"],
                contexts_with_intent=_contexts(rng, cited, pos),
                is_influential=rng.random() < 0.1,
            )
            indeg[j] += 1
        if unresolved_pool and rng.random() < 0.08:  # a reference S2 could not resolve
            hi = bisect_left(pool_years, (rec.get("year") or 0) + 1)
            if hi:
                target = unresolved_pool[rng.randrange(hi)]
                world.add_edge(
                    rec["paperId"],
                    None,
                    contexts_with_intent=_contexts(rng, target, len(chosen) + 1),
                    cited_record={"title": target["title"], "year": target.get("year")},
                )


_TOPICS = (
    "induction heads",
    "in-context learning circuits",
    "attention head attribution",
    "sparse dictionary features",
    "copying mechanisms",
    "pattern completion in transformers",
    "mechanistic interpretability of small models",
)
_FRAMES = (
    "Revisiting {t} in {m}",
    "On the emergence of {t} during training of {m}",
    "A note on {t} in {m}",
    "Measuring {t} across scales of {m}",
    "Ablation studies of {t} in {m}",
)
_MODELS = ("GPT-2", "Pythia", "Llama-2", "OLMo", "two-layer attention-only transformers", "Gemma")


def add_synthetic_citations(
    world: World, target: str, count: int, rng: random.Random, *, year_from: int = 2023
) -> list[str]:
    """Add ``count`` synthetic papers (``"synthetic": true``) that cite ``target`` and a
    few other papers; returns their ids. Used to make a hub exceed a citation cap."""
    others = [pid for pid, r in world.papers.items() if (r.get("year") or 0) <= year_from]
    others.sort()
    new = []
    base_year = max(year_from, world.papers[target].get("year") or year_from)
    for k in range(count):
        title = rng.choice(_FRAMES).format(t=rng.choice(_TOPICS), m=rng.choice(_MODELS))
        title = f"{title} ({k + 1})"
        pid = hex_id("synthetic-citing", target, str(k))
        year = base_year + rng.randrange(0, 3)
        world.add_paper(
            {
                "paperId": pid,
                "externalIds": {},
                "title": title,
                "abstract": None,
                "venue": "",
                "year": year,
                "authors": _authors([f"Synthetic Author {rng.randrange(1, 400)}"]),
                "fieldsOfStudy": ["Computer Science"],
                "s2FieldsOfStudy": [{"category": "Computer Science", "source": "s2-fos-model"}],
                "synthetic": True,
                "synthetic_id": True,
                "source": "synthetic-citing",
            }
        )
        cited = [target, *rng.sample(others, min(len(others), rng.randint(3, 12)))]
        for pos, other in enumerate(dict.fromkeys(cited), 1):
            world.add_edge(
                pid,
                other,
                contexts_with_intent=_contexts(rng, world.papers[other], pos),
                is_influential=rng.random() < 0.1,
            )
        new.append(pid)
    return new


# ----------------------------------------------------------------------------- build
def build_world(
    shared_dir: Path, seed: int = 0, max_llm: int = 3000, *, relevant_only: bool = True
) -> World:
    """The test world from the real records in ``shared_dir`` (see the module docstring).

    ``relevant_only=False`` keeps every llm-papers record (at most ``max_llm``, most cited
    first), not only the interpretability ones: a field-sized world (~23k papers) where a
    depth-2 crawl meets the off-topic papers a real one would. Deterministic for a given
    ``seed``; takes a few seconds (about a minute for the field-sized world).
    """
    t0 = time.monotonic()
    shared_dir = Path(shared_dir)
    corpus = shared_dir / "corpus"
    rng = random.Random(seed)
    merger = _Merger()

    real_twins = []
    for rec in load_csv(corpus / "s2-ai-safety-papers.csv"):
        twin = merger.find(rec)  # S2 has a few works under two ids: keep both
        if twin is not None:
            real_twins.append([twin["paperId"], rec["paperId"]])
        merger.add(rec, merge=False)
    review = load_bib(corpus / "mi-review-library.bib.gz")
    unresolved_pool = []
    for rec in review:
        if rec["externalIds"]:
            merger.add(rec)
        elif rec["title"] and rec.get("year"):
            unresolved_pool.append(rec)
    llm_all = load_llm(corpus / "llm-papers.jsonl.gz")
    relevant = [
        r
        for r in llm_all
        if not relevant_only or RELEVANT.search(" ".join([r["title"], *r.get("tags", [])]))
    ]
    relevant.sort(key=lambda r: (-(r.get("recordedCitationCount") or 0), r["paperId"]))
    for rec in relevant[:max_llm]:
        merger.add(rec)

    # every paper of the seed page
    seeds = parse_seed_page((shared_dir / SEED_PAGE).read_text(encoding="utf-8"))
    extra_bibs = [
        r
        for name in ("mi-superposition-library.bib", "mi-robustness-library.bib")
        if (corpus / name).exists()
        for r in load_bib(corpus / name)
    ]
    fallback: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in [*llm_all, *review, *extra_bibs]:
        for key in merger.keys(rec):
            fallback.setdefault(key, rec)
    seed_meta = []
    for ref in seeds:
        probe = {
            "title": ref.title if not ref.arxiv else "",
            "externalIds": {"ArXiv": ref.arxiv} if ref.arxiv else {},
            "year": ref.year,
        }
        found = merger.find(probe)
        how = "corpus"
        if found is None:
            keys = [*merger.keys(probe), ("title", normalize_title(ref.title))]
            donor = next((fallback[k] for k in keys if k in fallback), None)
            if donor is not None and ref.arxiv is None:
                found = merger.add(dict(donor))
                how = f"corpus ({donor['source']}, kept for the seed page)"
            else:
                rec = _seed_record(ref)
                if donor is not None:  # enrich the invented record from a real entry
                    for name in ("authors", "abstract", "venue", "journal", "tags"):
                        if donor.get(name):
                            rec[name] = donor[name]
                    rec["enriched_from"] = donor["source"]
                found = merger.add(rec)
                how = "synthetic"
        seed_meta.append(
            {
                "url": ref.url,
                "title": ref.title,
                "arxiv": ref.arxiv,
                "paperId": found["paperId"],
                "how": how,
            }
        )

    # embeddings (feature-hashed, NOT SPECTER) for at most 30 seed papers with abstracts
    embedded = 0
    for entry in seed_meta:
        rec = merger.records[entry["paperId"]]
        if rec.get("abstract") and embedded < 30 and "embeddings" not in rec:
            rec["embeddings"] = {
                "specter_v2": hashed_embedding(f"{rec['title']} {rec['abstract']}")
            }
            rec["synthetic_fields"] = [*rec.get("synthetic_fields", []), "embedding"]
            embedded += 1

    world = World(meta={"seed": seed, "max_llm": max_llm, "relevant_only": relevant_only})
    for rec in merger.records.values():
        rec.setdefault("synthetic_fields", [])
        if "corpusId" not in rec["synthetic_fields"]:
            rec["synthetic_fields"].append("corpusId")
        world.add_paper(rec)

    # a preprint/published twin pair (same title, two ids) for deduplication
    twin_src = world.resolve("ARXIV:2304.14997")
    twins = []
    if twin_src is not None:
        src = world.papers[twin_src]
        twin = {
            **{k: v for k, v in src.items() if k not in ("embeddings", "override")},
            "paperId": hex_id("twin", twin_src),
            "corpusId": None,
            "externalIds": {"DOI": "10.5555/litkg.twin.2304.14997"},
            "venue": "Neural Information Processing Systems",
            "publicationVenue": None,
            "journal": {"name": "Neural Information Processing Systems"},
            "openAccessPdf": None,
            "isOpenAccess": False,
            "synthetic": True,
            "synthetic_id": True,
            "twin_of": twin_src,
            "source": "synthetic-twin",
        }
        twins.append([twin_src, world.add_paper(twin)])

    hub_seed = world.resolve("ARXIV:2209.11895") or seed_meta[0]["paperId"]
    boost = {hub_seed: 3.0}
    for ident in ("ARXIV:2211.00593", "ARXIV:2202.05262", "ARXIV:2309.08600"):
        pid = world.resolve(ident)
        if pid:
            boost[pid] = 2.0
    for entry in seed_meta:
        boost.setdefault(entry["paperId"], 1.5)
    generate_edges(world, rng, boost, unresolved_pool)
    have = world.counts(hub_seed)["citationCount"]
    synthetic_citing = []
    if have <= HUB_MIN_CITATIONS:
        synthetic_citing = add_synthetic_citations(
            world, hub_seed, HUB_MIN_CITATIONS + 1 - have, rng
        )
    world.meta.update(
        {
            "seeds": seed_meta,
            "hub": hub_seed,
            "hub_citations": world.counts(hub_seed)["citationCount"],
            "twins": twins,
            "csv_twins": real_twins,
            "synthetic_citing_papers": len(synthetic_citing),
            "counts": {
                "papers": len(world.papers),
                "edges": len(world.edges),
                "unresolved_references": sum(1 for e in world.edges if e["citedPaperId"] is None),
                "embeddings": embedded,
                "sources": dict(Counter(r.get("source") for r in world.papers.values())),
            },
            "build_seconds": round(time.monotonic() - t0, 2),
            "notes": "Papers are real records from ../shared (see 'source'); every edge is "
            "synthetic (seeded RNG); 'synthetic_fields' lists invented values; embeddings are "
            "feature-hashed 768-d vectors, not SPECTER.",
        }
    )
    return world


def _seed_record(ref: SeedRef) -> dict[str, Any]:
    """A minimal invented record for a seed-page paper the corpus does not have."""
    ext = {"ArXiv": ref.arxiv} if ref.arxiv else {}
    return {
        "paperId": hex_id("seed", ref.arxiv or ref.url),
        "externalIds": ext,
        "publicationVenue": ARXIV_VENUE if ref.arxiv else None,
        "title": ref.title,
        "abstract": None,
        "venue": "arXiv.org" if ref.arxiv else "",
        "year": ref.year,
        "openAccessPdf": {"url": f"https://arxiv.org/pdf/{ref.arxiv}", "status": "GREEN"}
        if ref.arxiv
        else None,
        "fieldsOfStudy": ["Computer Science"],
        "s2FieldsOfStudy": [{"category": "Computer Science", "source": "s2-fos-model"}],
        "authors": _authors(ref.authors),
        "tldr": None,
        "url_in_source": ref.url,
        "source": "seed-page",
        "synthetic": True,
        "synthetic_id": True,
        "synthetic_fields": ["paperId", "corpusId", "authors.authorId"],
    }


# ----------------------------------------------------------------------------- small world
def small_world() -> World:
    """A hand-made world of 16 papers and a few edges with ids of every form
    (40-hex, CorpusId, DOI, ARXIV, MAG, ACL, PMID, PMCID, URL), a preprint/published
    twin, an unresolved reference, a paper with a null abstract, one whose served
    ``referenceCount`` is 0 although it has references, tldrs and two embeddings.

    Titles are real papers; ids other than the two taken from the recorded fixtures
    (Turing 1950, Agrawal 1993) are invented (``synthetic_id``).
    """

    def pid(name: str) -> str:
        return hex_id("small", name)

    def paper(key: str, title: str, year: int, authors: list[str], **kw: Any) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "paperId": kw.pop("paperId", pid(key)),
            "externalIds": kw.pop("externalIds", {}),
            "title": title,
            "abstract": kw.pop("abstract", f"We study {title.lower()}."),
            "venue": kw.pop("venue", "arXiv.org"),
            "year": year,
            "authors": _authors(authors),
            "fieldsOfStudy": ["Computer Science"],
            "s2FieldsOfStudy": [{"category": "Computer Science", "source": "external"}],
            "publicationTypes": ["JournalArticle"],
            "synthetic_id": True,
        }
        rec.update(kw)
        return rec

    v1 = hashed_embedding("attention transformer sequence transduction", 768)
    papers = [
        paper(
            "turing",
            "Computing Machinery and Intelligence",
            1950,
            ["A. Turing"],
            paperId="2d5673caa9e6af3a7b82a43f19ee920992db07ad",
            corpusId=14636783,
            externalIds={
                "DBLP": "journals/x/Turing50",
                "MAG": "2145482038",
                "DOI": "10.1093/MIND/LIX.236.433",
            },
            venue="The Philosophy of Artificial Intelligence",
            journal={"name": "Mind", "pages": "433-460", "volume": "LIX"},
            publicationDate="1950-10-01",
            tldr={"model": "tldr@v2.0.0", "text": "Asks whether machines can think."},
            synthetic_id=False,
        ),
        paper(
            "agrawal",
            "Mining association rules between sets of items in large databases",
            1993,
            ["R. Agrawal", "T. Imielinski", "A. Swami"],
            paperId="6fe8c5bf8dddaadf10c765133d38dfef5714347f",
            externalIds={"DOI": "10.1145/170035.170072", "MAG": "2107044407"},
            venue="ACM SIGMOD Conference",
            synthetic_id=False,
        ),
        paper(
            "attention",
            "Attention Is All You Need",
            2017,
            ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"],
            corpusId=13756489,
            externalIds={"ArXiv": "1706.03762", "DBLP": "conf/nips/VaswaniSPUJGKP17"},
            venue="Neural Information Processing Systems",
            embeddings={"specter_v1": v1, "specter_v2": v1[::-1]},
            tldr={"model": "tldr@v2.0.0", "text": "A transformer based solely on attention."},
        ),
        paper(
            "bert",
            "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
            2019,
            ["Jacob Devlin", "Ming-Wei Chang", "Kenton Lee", "Kristina Toutanova"],
            externalIds={
                "ArXiv": "1810.04805",
                "ACL": "N19-1423",
                "DOI": "10.18653/v1/N19-1423",
            },
            venue="North American Chapter of the Association for Computational Linguistics",
        ),
        paper(
            "gpt3",
            "Language Models are Few-Shot Learners",
            2020,
            ["Tom B. Brown", "Benjamin Mann"],
            externalIds={"ArXiv": "2005.14165"},
        ),
        paper(
            "framework",
            "A Mathematical Framework for Transformer Circuits",
            2021,
            ["Nelson Elhage", "Neel Nanda", "Catherine Olsson"],
            venue="Transformer Circuits Thread",
            abstract=None,
        ),
        paper(
            "induction",
            "In-context Learning and Induction Heads",
            2022,
            ["Catherine Olsson", "Nelson Elhage", "Neel Nanda"],
            externalIds={"ArXiv": "2209.11895"},
            embeddings={"specter_v2": hashed_embedding("induction heads in-context learning")},
        ),
        paper(
            "toy",
            "Toy Models of Superposition",
            2022,
            ["Nelson Elhage", "Tristan Hume"],
            externalIds={"ArXiv": "2209.10652"},
        ),
        paper(
            "ioi",
            "Interpretability in the Wild: a Circuit for Indirect Object Identification in "
            "GPT-2 small",
            2022,
            ["Kevin Wang", "Alexandre Variengien", "Arthur Conmy"],
            externalIds={"ArXiv": "2211.00593"},
        ),
        paper(
            "rome",
            "Locating and Editing Factual Associations in GPT",
            2022,
            ["Kevin Meng", "David Bau", "Alex Andonian", "Yonatan Belinkov"],
            externalIds={"ArXiv": "2202.05262"},
        ),
        paper(
            "acdc",
            "Towards Automated Circuit Discovery for Mechanistic Interpretability",
            2023,
            ["Arthur Conmy", "Augustine N. Mavor-Parker"],
            externalIds={"ArXiv": "2304.14997"},
        ),
        paper(
            "acdc-published",
            "Towards Automated Circuit Discovery for Mechanistic Interpretability",
            2023,
            ["Arthur Conmy", "Augustine N. Mavor-Parker"],
            externalIds={"DOI": "10.5555/litkg.twin.2304.14997"},
            venue="Neural Information Processing Systems",
            synthetic=True,
            twin_of=pid("acdc"),
        ),
        paper(
            "sae",
            "Sparse Autoencoders Find Highly Interpretable Features in Language Models",
            2023,
            ["Hoagy Cunningham", "Aidan Ewart", "Logan Riggs"],
            externalIds={"ArXiv": "2309.08600"},
            override={"referenceCount": 0},
        ),
        paper(
            "monosemanticity",
            "Towards Monosemanticity: Decomposing Language Models With Dictionary Learning",
            2023,
            ["Trenton Bricken", "Adly Templeton"],
            venue="Transformer Circuits Thread",
        ),
        paper(
            "biorxiv",
            "Probing Representations of a Protein Language Model",
            2021,
            ["Ada Example"],
            externalIds={
                "DOI": "10.1101/2021.01.01.000001",
                "PubMed": "33000001",
                "PubMedCentral": "7000001",
            },
            venue="bioRxiv",
            synthetic=True,
        ),
        paper(
            "mag-only",
            "Deep Residual Learning for Image Recognition",
            2016,
            ["Kaiming He", "X. Zhang"],
            externalIds={"MAG": "2194775991", "DOI": "10.1109/CVPR.2016.90"},
            venue="Computer Vision and Pattern Recognition",
        ),
    ]
    world = World(papers, meta={"name": "small", "twins": [[pid("acdc"), pid("acdc-published")]]})
    cites = {
        "attention": ["turing", "agrawal"],
        "bert": ["attention"],
        "gpt3": ["attention", "bert"],
        "framework": ["attention", "gpt3"],
        "induction": ["framework", "attention", "gpt3"],
        "toy": ["framework"],
        "ioi": ["framework", "induction", "attention"],
        "rome": ["attention", "gpt3", "bert"],
        "acdc": ["ioi", "induction", "framework", "rome"],
        "acdc-published": ["ioi", "induction"],
        "sae": ["toy", "framework", "induction"],
        "monosemanticity": ["toy", "sae", "framework", "induction"],
        "biorxiv": ["bert", "attention"],
    }
    rng = random.Random(7)
    for citing, targets in cites.items():
        for n, target in enumerate(targets, 1):
            world.add_edge(
                _rec(world, citing)["paperId"],
                _rec(world, target)["paperId"],
                contexts_with_intent=_contexts(rng, _rec(world, target), n),
                is_influential=n == 1,
            )
    world.add_edge(
        pid("monosemanticity"),
        None,
        cited_record={"title": "Toward a Theory of Superposition (unpublished note)"},
        contexts_with_intent=[{"context": "An unpublished note [9].", "intents": ["background"]}],
    )
    return world


#: Citing papers of several years for ``litkg watch``: key -> (title, year,
#: publicationDate or None, small-world papers it cites).
WATCH_CITING: dict[str, tuple[str, int, str | None, tuple[str, ...]]] = {
    "w2023": (
        "Revisiting Attention Heads in Pretrained Encoders",
        2023,
        "2023-04-02",
        ("attention", "bert"),
    ),
    "w2024": (
        "Transformer Circuits Beyond Attention: A Survey of Encoder Probing",
        2024,
        "2024-05-10",
        ("attention", "bert"),
    ),
    "w2025a": (
        "Can Machines Attend? Turing's Question Meets Transformer Language Models",
        2025,
        "2025-03-01",
        ("attention", "bert", "turing"),
    ),
    "w2025b": (
        "Efficient Attention for Long Documents",
        2025,
        "2025-07-01",
        ("attention",),
    ),
    "w2026a": (
        "Thinking Machines and Pretrained Transformers",
        2026,
        None,
        ("bert", "turing"),
    ),
    "w2026b": (
        "Rules & <Heads>: Association Rules Mined from Attention and BERT",
        2026,
        "2026-02-14",
        ("attention", "bert", "agrawal"),
    ),
}


def add_citing_paper(
    world: World, key: str, title: str, year: int, date: str | None, cites: Iterable[str]
) -> str:
    """Add a paper of ``year`` (``date``: its publicationDate or None) citing the
    small-world papers ``cites`` (their keys); returns its paperId."""
    pid = hex_id("watch", key)
    world.add_paper(
        {
            "paperId": pid,
            "externalIds": {},
            "title": title,
            "abstract": f"We study {title.lower()}.",
            "venue": "arXiv.org",
            "year": year,
            "publicationDate": date,
            "authors": _authors([f"Watch Author {key}", "Second Author"]),
            "fieldsOfStudy": ["Computer Science"],
            "publicationTypes": ["JournalArticle"],
            "synthetic": True,
            "synthetic_id": True,
        }
    )
    for target in cites:
        world.add_edge(pid, _rec(world, target)["paperId"])
    return pid


def watch_world() -> World:
    """:func:`small_world` plus :data:`WATCH_CITING`: papers of 2023 to 2026 (one with
    no publicationDate) citing one to three of its papers, for ``litkg watch``."""
    world = small_world()
    for key, (title, year, date, cites) in WATCH_CITING.items():
        add_citing_paper(world, key, title, year, date, cites)
    world.invalidate()
    return world


_SMALL_REAL = {
    "turing": "2d5673caa9e6af3a7b82a43f19ee920992db07ad",
    "agrawal": "6fe8c5bf8dddaadf10c765133d38dfef5714347f",
}


def _rec(world: World, key: str) -> dict[str, Any]:
    return world.papers[_SMALL_REAL.get(key) or hex_id("small", key)]


def cached_world(
    shared_dir: Path,
    cache: Path,
    seed: int = 0,
    max_llm: int = 3000,
    *,
    relevant_only: bool = True,
) -> World:
    """:func:`build_world`, saved to and reloaded from ``cache`` (a ``.json.gz`` path)."""
    if cache.exists():
        world = World.load(cache)
        meta = world.meta
        if (meta.get("seed"), meta.get("max_llm")) == (seed, max_llm) and meta.get(
            "relevant_only", True
        ) == relevant_only:
            return world
    world = build_world(shared_dir, seed=seed, max_llm=max_llm, relevant_only=relevant_only)
    cache.parent.mkdir(parents=True, exist_ok=True)
    world.save(cache)
    return world


def _main() -> None:  # pragma: no cover - a manual entry point
    import argparse

    parser = argparse.ArgumentParser(description="Build the litkg S2 test world.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--shared", type=Path, default=Path(__file__).parents[2] / "shared")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-llm", type=int, default=3000)
    args = parser.parse_args()
    world = build_world(args.shared, seed=args.seed, max_llm=args.max_llm)
    world.save(args.out)
    print(json.dumps(world.meta["counts"], indent=1), world.meta["build_seconds"], "s")


if __name__ == "__main__":  # pragma: no cover
    _main()


__all__ = [
    "SeedRef",
    "add_synthetic_citations",
    "build_world",
    "cached_world",
    "generate_edges",
    "hashed_embedding",
    "latex_to_text",
    "load_bib",
    "load_csv",
    "load_llm",
    "parse_bibtex",
    "parse_seed_page",
    "small_world",
]
