"""``litkg recommend``, ``litkg path``, ``litkg eval``: thin adapters over kg.recommend and
kg.evaluate (parse, call one library function, print)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.cli import _friendly, _settings, app
from kg.core.errors import ConfigError

if TYPE_CHECKING:
    from kg.api import Litkg, Recommendations, Recommended
    from kg.graph.knowledge import KnowledgeGraph


def load_graph() -> KnowledgeGraph:
    """The built graph of the current settings (tests replace this)."""
    from kg.graph.knowledge import KnowledgeGraph

    return KnowledgeGraph.load(_settings())


def load_library() -> Litkg:
    """The Python API's object over :func:`load_graph`'s graph."""
    import kg

    return kg.open(settings=_settings(), graph=load_graph())


def _s2_recommendations(liked: list[str], disliked: list[str]) -> Any:
    """S2's recommendations for the read papers (an ``S2Recommendations``; never raises)."""
    from ingest.errors import IngestError
    from ingest.s2 import S2Client
    from ingest.s2recs import S2Recommendations, fetch_s2_recommendations

    try:
        with S2Client(_settings()) as client:
            return fetch_s2_recommendations(client, liked, disliked)
    except IngestError as exc:
        return S2Recommendations(reason=str(exc))


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, not {fmt!r}")


@app.command()
@_friendly
def recommend(
    read: Annotated[
        list[str],
        typer.Option(
            "--read",
            "-r",
            help="A paper you read or liked: S2 id, ARXIV:, DOI:, CorpusId:, arXiv URL or a "
            "unique title prefix (repeat the option for more)",
        ),
    ],
    not_relevant: Annotated[
        list[str] | None,
        typer.Option("--not", help="A paper you found not relevant (pushes similar ones down)"),
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="How many papers to recommend")] = 20,
    year_from: Annotated[int | None, typer.Option(help="Only papers from this year on")] = None,
    year_to: Annotated[int | None, typer.Option(help="Only papers up to this year")] = None,
    topic: Annotated[
        list[str] | None, typer.Option(help="Only papers in this topic (id or label; repeatable)")
    ] = None,
    venue: Annotated[
        str | None, typer.Option(help="Only venues/journals containing this text")
    ] = None,
    no_surveys: Annotated[
        bool, typer.Option("--no-surveys", help="Leave out surveys and reviews")
    ] = False,
    open_access: Annotated[
        bool, typer.Option("--open-access", help="Only open-access papers")
    ] = False,
    diversity: Annotated[
        float, typer.Option(help="0: pure relevance .. 1: pure novelty (MMR)")
    ] = 0.3,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    path: Annotated[
        bool, typer.Option("--path", help="Print the recommendations as a reading path")
    ] = False,
    s2: Annotated[
        bool,
        typer.Option(
            "--s2",
            help="Also ask Semantic Scholar's recommender (one cached call; offline it is "
            "left out with a note)",
        ),
    ] = False,
) -> None:
    """What to read next after the papers you have read, with the reasons."""
    from kg.recommend.fusion import Filters
    from kg.views.read_next import trust_note

    _check_format(fmt)
    lib = load_library()
    external = None
    if s2:
        liked = lib.resolve(read)
        disliked = lib.resolve(not_relevant or (), what="disliked paper")
        found = _s2_recommendations(liked, disliked)
        if found.reason:
            typer.echo(f"Semantic Scholar's recommendations left out: {found.reason}", err=True)
        external = dict(found.scores)
    filters = Filters(
        year_from=year_from,
        year_to=year_to,
        topics=tuple(topic or ()),
        venue=venue,
        exclude_surveys=no_surveys,
        open_access_only=open_access,
    )
    recs = lib.recommend(
        read,
        disliked=not_relevant or (),
        filters=filters,
        k=k,
        diversity=diversity,
        external=external,
    )
    steps = lib.reading_path([r.paper_id for r in recs]) if path and len(recs) else []
    if steps:
        by_id = {r.paper_id: r for r in recs}
        ranked = [by_id[s.paper_id] for s in steps]
    else:
        ranked = list(recs)
    if fmt == "json":
        typer.echo(json.dumps(_as_json(recs, ranked, steps), indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"{len(ranked)} of {recs.candidates:,} candidates for {len(recs.read)} read paper(s)"
        + (" (as a reading path)" if steps else "")
        + f", in {recs.seconds * 1000:.0f} ms"
    )
    note = trust_note(recs.graph_trust)
    if note:
        typer.echo(
            f"{note} `litkg ingest --depth 2` or more seed papers give the graph more to say."
        )
    step_of = {s.paper_id: s for s in steps}
    for i, rec in enumerate(ranked, 1):
        title, year = rec.paper.title, rec.paper.year
        typer.echo(f"{i:2d}. {title} ({year or 'n.d.'})  score {rec.score:.3f}  [{rec.paper_id}]")
        if rec.paper_id in step_of:
            typer.echo(f"      path: {step_of[rec.paper_id].reason}")
        for reason in rec.reasons:
            typer.echo(f"      - {reason}")


def _as_json(recs: Recommendations, ranked: list[Recommended], steps: list[Any]) -> dict[str, Any]:
    step_of = {s.paper_id: s.reason for s in steps}
    return {
        "read": list(recs.read),
        "disliked": list(recs.disliked),
        "candidates": recs.candidates,
        "weights": dict(recs.weights),
        "graph_trust": recs.graph_trust,
        "reading_path": bool(steps),
        "recommendations": [
            {
                "rank": i,
                "paper_id": rec.paper_id,
                "title": rec.paper.title,
                "year": rec.paper.year,
                "score": rec.score,
                "reasons": list(rec.reasons),
                "signals": dict(rec.signals),
                **({"path_reason": step_of[rec.paper_id]} if rec.paper_id in step_of else {}),
            }
            for i, rec in enumerate(ranked, 1)
        ],
    }


@app.command("path")
@_friendly
def path_command(
    papers: Annotated[list[str], typer.Argument(help="Papers to order (any id form)")],
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Order papers into a reading path: what a paper builds on comes first."""
    _check_format(fmt)
    lib = load_library()
    steps = lib.reading_path(papers)
    if fmt == "json":
        rows = [
            {
                "position": s.position,
                "paper_id": s.paper_id,
                "title": lib.paper_or_stub(s.paper_id).title,
                "reason": s.reason,
            }
            for s in steps
        ]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for s in steps:
        paper = lib.paper_or_stub(s.paper_id)
        typer.echo(f"{s.position:2d}. {paper.title} ({paper.year or 'n.d.'})  [{s.paper_id}]")
        typer.echo(f"      {s.reason}")


@app.command("eval")
@_friendly
def eval_command(
    tune: Annotated[
        bool, typer.Option("--tune", help="Fit the fusion weights first and save them")
    ] = False,
    auto: Annotated[
        bool,
        typer.Option(
            "--auto",
            help="Only tune as `litkg build` does (within a time budget; saved only if the "
            "tuned weights beat the defaults on held-out queries)",
        ),
    ] = False,
    protocol: Annotated[
        str,
        typer.Option(
            help="lists: given 2 papers of a curated list (seed-page section, keyword, your "
            "reading lists), find the rest; holdout: hide half of a paper's references "
            "(a diagnostic)"
        ),
    ] = "lists",
    split: Annotated[
        str, typer.Option(help="holdout only: random, or time (older half read)")
    ] = "random",
    queries: Annotated[int, typer.Option(help="Hold-out target papers to evaluate on")] = 200,
    min_refs: Annotated[int, typer.Option(help="References in the graph a target paper needs")] = 8,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Every signal, the fused recommender and baselines side by side, on the graph's
    curated lists (default) or a citation hold-out."""
    from kg.graph.knowledge import WEIGHTS
    from kg.recommend.protocols import SPLITS

    _check_format(fmt)
    if protocol not in ("lists", "holdout"):
        raise typer.BadParameter(f"--protocol must be lists or holdout, not {protocol!r}")
    if split not in SPLITS:
        raise typer.BadParameter(f"--split must be one of {', '.join(SPLITS)}, not {split!r}")
    lib = load_library()
    if auto or (tune and protocol == "lists"):
        lines: list[str] = []
        outcome = lib.tune(echo=lines.append)
        path = lib.settings.graph_dir / WEIGHTS if outcome is not None else None
        if fmt == "json":
            data = {
                "message": " ".join(lines),
                "weights": outcome.weights if outcome is not None else None,
                "saved_weights": str(path) if path else None,
            }
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
            return
        for line in lines:
            typer.echo(line)
        if path:
            typer.echo(
                f"Saved the tuned weights to {path}; `litkg recommend` uses them from now on."
            )
        return
    report = lib.evaluate(
        protocol=protocol, split=split, queries=queries, min_refs=min_refs, tune=tune
    )
    saved = lib.settings.graph_dir / WEIGHTS if report.tuned is not None else None
    if fmt == "json":
        data = report.as_dict()
        data["saved_weights"] = str(saved) if saved else None
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for line in report.lines():
        typer.echo(line)
    if saved:
        typer.echo(f"Saved the tuned weights to {saved}; `litkg recommend` uses them from now on.")
