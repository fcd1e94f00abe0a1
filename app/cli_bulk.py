"""``litkg bulk``: a whole-field graph from the S2 bulk datasets, selected on Spark.

A thin adapter over :mod:`ingest.bulk`. Also the module ``spark-submit`` runs on a
cluster (``spark-submit --master spark://host:7077 app/cli_bulk.py RELEASE --out ...``):
the same arguments, and the master comes from ``spark-submit``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli import _friendly, _settings, app


@_friendly
def bulk(
    release: Annotated[
        str | None,
        typer.Argument(
            help="The S2AG release: a folder of dataset folders (papers/, citations/, "
            "abstracts/, ...), an s3a:// (or other Spark) URL of one, or "
            "datasets:RELEASE_ID (datasets:latest) to download it with S2_API_KEY. "
            "Leave it out with --state to select again from an earlier run's copy (a file "
            "given there is then the first seed source)",
            show_default=False,
        ),
    ] = None,
    sources: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Seed sources (seed page, BibTeX, id list; default: the bundled seed list)",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="The snapshot to write: a new folder, .tar or .tar.gz")
    ] = Path("bulk-snapshot"),
    depth: Annotated[int, typer.Option(help="Hops from the seeds: 0, 1 or 2")] = 1,
    max_references: Annotated[
        int, typer.Option(help="References kept per paper (the most influential first)")
    ] = 100,
    max_citations: Annotated[
        int, typer.Option(help="Citing papers kept per paper (the most influential first)")
    ] = 100,
    cocited_min: Annotated[
        int, typer.Option(help="Add papers that at least this many of a seed's citers cite")
    ] = 3,
    cocited_max: Annotated[
        int, typer.Option(help="At most this many co-cited papers (0: none)")
    ] = 300,
    max_papers: Annotated[
        int | None, typer.Option(help="At most this many papers in all (seeds first)")
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", help="Only papers of this field of study (repeatable)"),
    ] = None,
    year: Annotated[
        str | None, typer.Option(help="Only papers of these years: 2019, 2019-2023, 2019-, -2010")
    ] = None,
    venue: Annotated[
        list[str] | None, typer.Option("--venue", help="Only papers of this venue (repeatable)")
    ] = None,
    seeds: Annotated[
        bool, typer.Option(help="--no-seeds: the filters alone select (no seed sources)")
    ] = True,
    diff: Annotated[
        list[Path] | None,
        typer.Option(
            "--diff",
            help="A release diff folder (<dataset>/updates, <dataset>/deletes) to apply "
            "before selecting (repeatable, in order)",
        ),
    ] = None,
    update_to: Annotated[
        str | None,
        typer.Option(
            help="With --state (and no RELEASE): download the diffs from the copy's release "
            "to this one (or latest) through the Datasets API (S2_API_KEY) and apply them"
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="Keep the release's Parquet copy here (diffs are applied to it, and a "
            "later run selects from it without RELEASE)"
        ),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="Where datasets:RELEASE_ID downloads go (default: <data dir>/s2ag)"),
    ] = None,
    master: Annotated[
        str | None,
        typer.Option(
            help="Spark master: local[*] (default), local[2], spark://host:7077, yarn, k8s://..."
        ),
    ] = None,
    shuffle_partitions: Annotated[
        int | None, typer.Option(help="spark.sql.shuffle.partitions")
    ] = None,
    driver_memory: Annotated[str | None, typer.Option(help="spark.driver.memory, e.g. 4g")] = None,
) -> None:
    """Select seeds and their neighbourhood from an S2AG release into a snapshot."""
    from ingest.bulk.job import SparkOptions, run_bulk
    from ingest.bulk.release import locate_diff
    from ingest.bulk.select import SelectionPolicy
    from ingest.pipeline import default_sources, load_sources

    if state is not None and release and Path(release).is_file():
        # `litkg bulk --state DIR seeds.txt`: no release, the file is a seed source.
        sources = [Path(release), *(sources or [])]
        release = None
    year_min, year_max = _years(year)
    policy = SelectionPolicy(
        depth=depth,
        max_references=max_references,
        max_citations=max_citations,
        cocited_min=cocited_min,
        cocited_max=cocited_max,
        max_papers=max_papers,
        fields_of_study=tuple(field or ()),
        year_min=year_min,
        year_max=year_max,
        venues=tuple(venue or ()),
    )
    refs: list[Any] = []
    if seeds:
        refs, _, _ = load_sources(list(sources or []) or default_sources())
    elif sources:
        raise typer.BadParameter("--no-seeds takes no seed sources")
    diffs = [locate_diff(d) for d in diff or []]
    where: str | Path | None = release
    release_id = None
    settings = _settings()
    store = cache or settings.data_dir / "s2ag"
    if release and release.startswith("datasets:"):
        from ingest.bulk.datasets import download_release

        where, release_id = download_release(settings, release.removeprefix("datasets:"), store)
    if update_to:
        from ingest.bulk.datasets import download_diffs
        from ingest.bulk.release import read_state

        if state is None or release is not None:
            raise typer.BadParameter("--update-to takes --state DIR and no RELEASE")
        start = read_state(state).get("release_id")
        if not start:
            raise typer.BadParameter(f"{state} does not name its release; select afresh")
        folders = download_diffs(settings, str(start), update_to, store)
        diffs = [locate_diff(f) for f in folders] + diffs
    report = run_bulk(
        where,
        out,
        refs,
        policy,
        state=state,
        diffs=diffs,
        options=SparkOptions(master, shuffle_partitions, driver_memory),
        release_id=release_id,
        echo=lambda message: typer.echo(message, err=True),
    )
    for line in report.lines():
        typer.echo(line)


def _years(text: str | None) -> tuple[int | None, int | None]:
    if not text:
        return None, None
    lo, sep, hi = text.partition("-")
    try:
        first = int(lo) if lo.strip() else None
        last = int(hi) if hi.strip() else None
    except ValueError as exc:
        raise typer.BadParameter(f"--year {text!r}: use 2019, 2019-2023, 2019- or -2010") from exc
    return (first, last) if sep else (first, first)


app.command("bulk")(bulk)
#: The same command alone, for ``spark-submit app/cli_bulk.py ...``.
bulk_app = typer.Typer(add_completion=False)
bulk_app.command()(bulk)


if __name__ == "__main__":  # pragma: no cover - spark-submit entry point
    bulk_app()
