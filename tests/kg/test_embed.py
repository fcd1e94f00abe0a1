"""kg.text.embed: the fake and real embedders, paper text, and the on-disk cache."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from kg.core.errors import ConfigError, KGError
from kg.core.settings import Settings
from kg.text import embed as embed_module
from kg.text.embed import (
    CACHE_FILENAME,
    DEFAULT_BATCH_SIZE,
    FAKE_BACKEND,
    FAKE_DIM,
    MINILM_DIM,
    Embedder,
    EmbeddingCache,
    EmbeddingCacheError,
    EmbeddingError,
    FakeEmbedder,
    MiniLMEmbedder,
    embed_cached,
    ensure_onnx_model,
    onnx_model_path,
    paper_text,
    resolve_backend,
)

REPO = Path(__file__).resolve().parents[2]


class CountingEmbedder(FakeEmbedder):
    """A fake that records every batch it is asked to embed."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__(dim)
        self.batches: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return super().embed(texts)


# ---------------------------------------------------------------- paper_text


def test_paper_text_joins_title_and_abstract() -> None:
    assert paper_text("Attention Is All You Need", "We propose the Transformer.") == (
        "Attention Is All You Need. We propose the Transformer.",
        False,
    )


def test_paper_text_title_only_when_no_abstract() -> None:
    assert paper_text("A Title", None) == ("A Title", True)
    assert paper_text("A Title", "   ") == ("A Title", True)


def test_paper_text_normalises_whitespace_and_keeps_own_punctuation() -> None:
    assert paper_text(" Is BERT\nrobust? ", "Yes.\n\tMostly.") == (
        "Is BERT robust? Yes. Mostly.",
        False,
    )
    assert paper_text(None, "Only an abstract.") == ("Only an abstract.", False)


# ---------------------------------------------------------------- FakeEmbedder


def test_fake_embedder_is_deterministic_normalised_and_an_embedder() -> None:
    texts = ["graph neural networks", "language models", ""]
    a = FakeEmbedder(16).embed(texts)
    b = FakeEmbedder(16).embed(texts)
    assert isinstance(FakeEmbedder(), Embedder)
    assert a.dtype == np.float32
    assert a.shape == (3, 16)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)
    assert FakeEmbedder(16).embed([]).shape == (0, 16)


def test_fake_embedder_puts_texts_sharing_words_closer() -> None:
    v = FakeEmbedder(32).embed(
        ["large language models", "large language models for code", "protein folding"]
    )
    assert v[0] @ v[1] > v[0] @ v[2]


def test_fake_embedder_name_depends_on_dim() -> None:
    assert FakeEmbedder(8).name != FakeEmbedder(16).name


# ---------------------------------------------------------------- cache


def test_second_run_with_same_texts_never_calls_the_embedder(tmp_path: Path) -> None:
    texts = [f"paper {i} about topic {i % 7}" for i in range(50)]
    fake = CountingEmbedder()
    with EmbeddingCache(tmp_path) as cache:
        first = embed_cached(fake, texts, cache, progress=False)
        assert sum(len(b) for b in fake.batches) == 50
        fake.batches.clear()
        second = embed_cached(fake, texts, cache, progress=False)
    assert fake.batches == []
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, FakeEmbedder(8).embed(texts))


def test_only_misses_are_embedded_and_duplicates_once(tmp_path: Path) -> None:
    fake = CountingEmbedder()
    with EmbeddingCache(tmp_path) as cache:
        embed_cached(fake, ["a", "b"], cache, progress=False)
        fake.batches.clear()
        out = embed_cached(fake, ["b", "c", "c", "a", "d"], cache, progress=False)
    assert sorted(t for b in fake.batches for t in b) == ["c", "d"]
    np.testing.assert_array_equal(out, FakeEmbedder(8).embed(["b", "c", "c", "a", "d"]))


def test_misses_are_embedded_in_chunks_longest_first(tmp_path: Path) -> None:
    fake = CountingEmbedder()
    texts = ["x" * n for n in (3, 9, 1, 7, 5)]
    with EmbeddingCache(tmp_path) as cache:
        embed_cached(fake, texts, cache, progress=False, chunk_size=2)
    assert fake.batches == [["x" * 9, "x" * 7], ["x" * 5, "x" * 3], ["x"]]


def test_cache_key_includes_the_embedder_name(tmp_path: Path) -> None:
    with EmbeddingCache(tmp_path) as cache:
        embed_cached(FakeEmbedder(8), ["same text"], cache, progress=False)
        other = CountingEmbedder(16)
        out = embed_cached(other, ["same text"], cache, progress=False)
        assert other.batches == [["same text"]]
        assert out.shape == (1, 16)
        assert cache.models() == {"fake-bow-8": 1, "fake-bow-16": 1}


def test_cache_survives_reopen(tmp_path: Path) -> None:
    texts = ["alpha beta", "gamma delta", "epsilon"]
    with EmbeddingCache(tmp_path) as cache:
        first = embed_cached(FakeEmbedder(8), texts, cache, progress=False)
    assert (tmp_path / CACHE_FILENAME).is_file()
    fake = CountingEmbedder()
    with EmbeddingCache(tmp_path) as cache:
        assert len(cache) == 3
        again = embed_cached(fake, texts, cache, progress=False)
    assert fake.batches == []
    np.testing.assert_array_equal(first, again)


def test_embed_cached_without_cache_and_with_no_texts(tmp_path: Path) -> None:
    fake = CountingEmbedder()
    assert embed_cached(fake, ["a", "b"], None, progress=False).shape == (2, 8)
    with EmbeddingCache(tmp_path) as cache:
        assert embed_cached(fake, [], cache, progress=False).shape == (0, 8)


def test_embedder_returning_wrong_shape_is_an_error(tmp_path: Path) -> None:
    class Broken(FakeEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            return np.zeros((len(texts), 3), dtype=np.float32)

    with EmbeddingCache(tmp_path) as cache, pytest.raises(EmbeddingError, match="shape"):
        embed_cached(Broken(8), ["a"], cache, progress=False)


def test_corrupt_cache_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILENAME
    path.write_bytes(b"this is not a database, just garbage" * 100)
    with pytest.raises(EmbeddingCacheError) as info:
        EmbeddingCache(tmp_path)
    assert isinstance(info.value, KGError)
    message = str(info.value)
    assert str(path) in message
    assert "delete it" in message
    assert "rebuild" in message


def test_cached_vector_of_wrong_size_is_reported_as_corrupt(tmp_path: Path) -> None:
    with EmbeddingCache(tmp_path) as cache:
        embed_cached(FakeEmbedder(8), ["a"], cache, progress=False)
        cache._db.execute("UPDATE embeddings SET vec = x'00'")
        with pytest.raises(EmbeddingCacheError, match="delete it"):
            embed_cached(FakeEmbedder(8), ["a"], cache, progress=False)


def test_cache_of_another_format_is_refused(tmp_path: Path) -> None:
    with EmbeddingCache(tmp_path) as cache:
        cache._db.execute("UPDATE meta SET value='other' WHERE key='format'")
    with pytest.raises(EmbeddingCacheError, match="delete it"):
        EmbeddingCache(tmp_path)


def test_kill_during_writes_leaves_a_readable_cache(tmp_path: Path) -> None:
    """A writer killed with SIGKILL mid-run: the cache opens and keeps whole chunks."""
    script = textwrap.dedent(
        f"""
        import itertools, sys
        sys.path.insert(0, {str(REPO)!r})
        from kg.text.embed import EmbeddingCache, FakeEmbedder, embed_cached
        cache = EmbeddingCache({str(tmp_path)!r})
        for n in itertools.count():
            texts = [f"text {{n}} {{i}}" for i in range(200)]
            embed_cached(FakeEmbedder(8), texts, cache, progress=False, chunk_size=50)
            print(n, flush=True)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            for _ in range(3):  # let it commit a few rounds, then kill it while it keeps writing
                assert proc.stdout.readline(), "writer died early"
            time.sleep(0.05)
        finally:
            proc.kill()
    with EmbeddingCache(tmp_path) as cache:
        count = len(cache)
        assert count >= 600
        assert count % 50 == 0  # whole chunks only
        fake = CountingEmbedder()
        out = embed_cached(fake, [f"text 0 {i}" for i in range(200)], cache, progress=False)
        assert fake.batches == []
        np.testing.assert_array_equal(
            out, FakeEmbedder(8).embed([f"text 0 {i}" for i in range(200)])
        )


# ---------------------------------------------------------------- MiniLM settings


def test_minilm_settings_from_env_and_name(tmp_path: Path) -> None:
    emb = MiniLMEmbedder.from_env(
        {
            "LITKG_EMBED_BACKEND": "torch",
            "LITKG_EMBED_MAX_SEQ": "128",
            "LITKG_EMBED_BATCH_SIZE": "16",
            "LITKG_EMBED_THREADS": "1",
        },
        model_dir=tmp_path,
    )
    assert (emb.backend, emb.max_seq_length, emb.batch_size, emb.threads) == ("torch", 128, 16, 1)
    assert isinstance(emb, Embedder)
    assert emb.dim == MINILM_DIM
    assert "torch" in emb.name and "seq128" in emb.name
    default = MiniLMEmbedder.from_env({}, model_dir=tmp_path)
    assert default.backend == resolve_backend("auto") != "auto"
    assert (default.max_seq_length, default.batch_size) == (
        256,
        DEFAULT_BATCH_SIZE[default.backend],
    )
    assert default.backend in default.name
    # batch size and threads do not change the vectors' identity; backend and length do
    assert MiniLMEmbedder(batch_size=64, threads=1).name == MiniLMEmbedder().name
    assert MiniLMEmbedder("onnx").name != MiniLMEmbedder("onnx-int8").name
    assert MiniLMEmbedder(max_seq_length=128).name != MiniLMEmbedder().name


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"LITKG_EMBED_BACKEND": "tensorflow"}, "LITKG_EMBED_BACKEND"),
        ({"LITKG_EMBED_BATCH_SIZE": "lots"}, "LITKG_EMBED_BATCH_SIZE"),
        ({"LITKG_EMBED_MAX_SEQ": "0"}, "LITKG_EMBED_MAX_SEQ"),
        ({"LITKG_EMBED_MAX_SEQ": "512"}, "LITKG_EMBED_MAX_SEQ"),
        ({"LITKG_EMBED_THREADS": "-1"}, "LITKG_EMBED_THREADS"),
    ],
)
def test_minilm_bad_settings_name_the_variable(env: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        MiniLMEmbedder.from_env(env)


def _no_model(*_args: object) -> Path:
    raise AssertionError("the MiniLM model was loaded")


@pytest.mark.parametrize("value", ["fake", " FAKE ", "Fake"])
def test_fake_backend_from_env_is_the_fake_embedder(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embed_module, "_package_model_path", _no_model)
    env = {"LITKG_EMBED_BACKEND": value, "LITKG_EMBED_MAX_SEQ": "512"}  # MiniLM's: not read
    emb = MiniLMEmbedder.from_env(env, model_dir=tmp_path / "models")
    assert type(emb) is FakeEmbedder and isinstance(emb, Embedder)
    assert (emb.dim, emb.name) == (FAKE_DIM, f"fake-bow-{FAKE_DIM}")
    vectors = emb.embed(["induction heads", "induction heads", "sparse autoencoders"])
    assert vectors.shape == (3, FAKE_DIM) and vectors.dtype == np.float32
    np.testing.assert_array_equal(
        vectors, FakeEmbedder().embed(["induction heads"] * 2 + ["sparse autoencoders"])
    )
    assert not (tmp_path / "models").exists()


def test_fake_backend_is_read_from_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LITKG_EMBED_BACKEND", FAKE_BACKEND)
    assert isinstance(MiniLMEmbedder.from_env(), FakeEmbedder)
    monkeypatch.setenv("LITKG_EMBED_BACKEND", "torch")
    assert isinstance(MiniLMEmbedder.from_env(), MiniLMEmbedder)


def test_unknown_backend_lists_fake_too() -> None:
    with pytest.raises(ConfigError, match=r"use one of auto, .*torch, fake"):
        MiniLMEmbedder.from_env({"LITKG_EMBED_BACKEND": "tensorflow"})
    with pytest.raises(ConfigError, match="unknown"):
        MiniLMEmbedder("fake")  # the fake is not a MiniLM backend


def test_litkg_build_with_the_fake_backend_needs_no_model(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``LITKG_EMBED_BACKEND=fake litkg build`` over a small ingested corpus."""
    from typer.testing import CliRunner

    from app.cli import app
    from kg.graph.knowledge import KnowledgeGraph
    from kg.views.search import query_embedder

    settings = ingested
    monkeypatch.setattr(embed_module, "_package_model_path", _no_model)
    env = {"LITKG_DATA_DIR": str(settings.data_dir), "LITKG_EMBED_BACKEND": "fake"}
    result = CliRunner().invoke(app, ["build", "--no-progress"], env=env)
    assert result.exit_code == 0, result.output
    assert "Embeddings:" in result.output
    kg = KnowledgeGraph.load(settings)
    assert kg.manifest["embedder"] == f"fake-bow-{FAKE_DIM}"
    assert kg.embeddings.shape == (len(kg.ids), FAKE_DIM)
    assert isinstance(query_embedder(settings, kg), FakeEmbedder)


def test_auto_backend_picks_bf16_only_with_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed_module, "_cpu_flags", lambda: {"avx512f", "amx_bf16", "amx_tile"})
    assert resolve_backend("auto") == "torch-bf16"
    assert MiniLMEmbedder("auto").backend == "torch-bf16"
    monkeypatch.setattr(embed_module, "_cpu_flags", lambda: {"avx2", "avx512_bf16"})
    monkeypatch.setattr(embed_module, "_onnx_available", lambda: True)
    assert resolve_backend("auto") == "onnx"  # fp32, never int8
    assert MiniLMEmbedder("auto").backend == "onnx"
    monkeypatch.setattr(embed_module, "_onnx_available", lambda: False)
    assert resolve_backend("auto") == "torch"
    assert MiniLMEmbedder("auto").backend == "torch"
    assert resolve_backend("onnx") == "onnx"
    assert resolve_backend("onnx-int8") == "onnx-int8"  # still there by name


@pytest.mark.parametrize(
    ("flags", "onnx", "expected"),
    [
        ({"avx512f", "amx_bf16", "amx_tile", "amx_int8"}, True, "torch-bf16"),
        ({"avx512f", "amx_bf16"}, False, "torch-bf16"),
        ({"avx2", "avx512f", "avx512_bf16", "avx512_vnni"}, True, "onnx"),  # e.g. AMD EPYC
        ({"avx2", "avx512f", "amx_int8"}, True, "onnx"),  # AMX without its bf16 part
        (set(), True, "onnx"),  # no /proc/cpuinfo
        ({"avx2"}, False, "torch"),
    ],
)
def test_auto_backend_for_another_machine(flags: set[str], onnx: bool, expected: str) -> None:
    assert resolve_backend("auto", cpu_flags=flags, onnx_available=onnx) == expected
    assert resolve_backend("torch", cpu_flags=flags, onnx_available=onnx) == "torch"


def test_auto_backend_reads_this_machines_cpu_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def flags() -> set[str]:
        seen.append(True)
        return {"avx2"}

    monkeypatch.setattr(embed_module, "_cpu_flags", flags)
    assert resolve_backend("auto", onnx_available=True) == "onnx"
    assert seen == [True]
    assert resolve_backend("onnx-int8") == "onnx-int8" and seen == [True]  # not read


def test_cpu_flags_come_from_proc_cpuinfo() -> None:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("no /proc/cpuinfo on this system")
    line = next(
        (x for x in cpuinfo.read_text(errors="replace").splitlines() if x.startswith("flags")), ""
    )
    assert embed_module._cpu_flags() == set(line.partition(":")[2].split())


def test_switching_backend_re_embeds_instead_of_reusing_int8_vectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph embedded with int8 ONNX, then built where ``auto`` means fp32 ONNX: every
    text is embedded again, and the int8 vectors stay in the cache under their own name."""
    texts = ["sparse autoencoders", "induction heads", "scaling laws"]
    calls: dict[str, list[str]] = {"onnx-int8": [], "onnx": []}

    def stub(emb: MiniLMEmbedder, value: float) -> MiniLMEmbedder:
        def encode(batch: list[str]) -> np.ndarray:  # no model: a constant per backend
            calls[emb.backend] += batch
            return np.full((len(batch), MINILM_DIM), value, dtype=np.float32)

        emb._encode = encode
        return emb

    monkeypatch.setattr(embed_module, "_cpu_flags", lambda: {"avx2"})
    monkeypatch.setattr(embed_module, "_onnx_available", lambda: True)
    with EmbeddingCache(tmp_path) as cache:
        int8 = stub(MiniLMEmbedder("onnx-int8", model_dir=tmp_path), 1.0)
        old = embed_cached(int8, texts, cache, progress=False)
        auto = stub(MiniLMEmbedder("auto", model_dir=tmp_path), -1.0)
        assert auto.backend == "onnx" and auto.name != int8.name
        new = embed_cached(auto, texts, cache, progress=False)
        assert sorted(calls["onnx"]) == sorted(texts)
        assert (new < 0).all() and (old > 0).all()
        again = embed_cached(auto, texts, cache, progress=False)  # now cached under fp32
        assert len(calls["onnx"]) == len(texts)
        np.testing.assert_array_equal(again, new)
        assert cache.models() == {int8.name: 3, auto.name: 3}


def test_minilm_loads_nothing_until_used() -> None:
    emb = MiniLMEmbedder("onnx-int8", model_dir=Path("/nonexistent/never/created"))
    assert emb.embed([]).shape == (0, MINILM_DIM)
    assert not Path("/nonexistent/never/created").exists()


# ---------------------------------------------------------------- the real model


SENTENCES = [
    "Large language models can be prompted to solve reasoning tasks step by step.",
    "Chain-of-thought prompting improves the reasoning of large language models.",
    "The recipe needs two eggs, flour and a cup of sugar.",
]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return MiniLMEmbedder("torch").embed(SENTENCES)


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-models")


@pytest.mark.slow
def test_minilm_torch_smoke(torch_vectors: np.ndarray) -> None:
    v = torch_vectors
    assert v.shape == (3, 384)
    assert v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert v[0] @ v[1] > 0.5 > v[0] @ v[2]
    assert v[0] @ v[1] > v[1] @ v[2] + 0.3


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "threshold"), [("torch-bf16", 0.999), ("onnx", 0.9999), ("onnx-int8", 0.98)]
)
def test_fast_backends_agree_with_torch_fp32(
    backend: str, threshold: float, torch_vectors: np.ndarray, onnx_dir: Path
) -> None:
    if backend.startswith("onnx"):
        pytest.importorskip("onnxruntime", reason="the onnx backends need onnxruntime")
        pytest.importorskip("onnx", reason="the onnx backends need onnx")
    emb = MiniLMEmbedder(backend, model_dir=onnx_dir, batch_size=2)
    batch = emb.embed(SENTENCES)  # padded batches, sorted by length
    single = np.vstack([emb.embed([s]) for s in SENTENCES])  # no padding
    for got in (batch, single):
        assert got.shape == (3, 384)
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
        cosines = (got * torch_vectors).sum(axis=1)
        assert cosines.min() > threshold, cosines
    assert batch[0] @ batch[1] > batch[0] @ batch[2]


@pytest.mark.slow
def test_onnx_export_is_made_once_and_reused(onnx_dir: Path) -> None:
    pytest.importorskip("onnxruntime", reason="the onnx backends need onnxruntime")
    pytest.importorskip("onnx", reason="the onnx backends need onnx")
    path = ensure_onnx_model(onnx_dir, quantized=True)
    mtime = path.stat().st_mtime_ns
    assert ensure_onnx_model(onnx_dir, quantized=True) == path
    assert path.stat().st_mtime_ns == mtime
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_unloadable_onnx_file_names_the_file(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="the onnx backends need onnxruntime")
    path = onnx_model_path(tmp_path, quantized=False)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage")
    with pytest.raises(EmbeddingError, match="delete") as info:
        MiniLMEmbedder("onnx", model_dir=tmp_path).embed(["x"])
    assert str(path) in str(info.value)
