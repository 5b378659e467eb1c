"""Representation analysis, base vs compressed, on a fixed probe set from the suite's prompts.

The probe set (:func:`probe_conversations`) is drawn, with a seeded
:class:`numpy.random.Generator`, from the first prompts of the suite's own episodes (every
task, every episode seed); each probe is the conversation rendered with the model's chat
template, keeping its last ``max_tokens`` tokens (where the task and question are). Both
models read the same token ids (they share a tokenizer; a mismatch is refused).

:func:`analyze_pair` runs both models through the transformers backend with
``output_hidden_states=True`` on right-padded batches and computes, with the pure functions
of :mod:`acbench_env.scoring.representation`:

- ERank of every layer's hidden states and of the final logits, per probe (its tokens are
  the rows), averaged over probes;
- top-k agreement (Kendall tau, Spearman rho over the base model's top-k; Jaccard of the
  top-k sets) for k = 3, 10, 20 over every non-padding position;
- energies of every non-padding position: mean ``|ΔE|``, the Wasserstein-1 distance of the
  two distributions, and a histogram on common bin edges (for the report).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from acbench_env.core.errors import ConfigError
from acbench_env.core.suites import Suite
from acbench_env.core.types import Message
from acbench_env.core.validation import int_at_least, positive_int
from acbench_env.scoring.report import nan_to_none
from acbench_env.scoring.representation import (
    TOPK_DEFAULT,
    compare_energies,
    energy,
    erank,
    position_rows,
    topk_agreements,
)

logger = logging.getLogger(__name__)

#: Version of the analysis record layout.
ANALYSIS_VERSION = 1
ENERGY_BINS = 40


def probe_conversations(
    suite: Suite, count: int, seed: int
) -> list[tuple[str, int, list[Message]]]:
    """``count`` (env id, episode seed, first conversation) drawn without replacement from
    every (task, episode) of ``suite``, in a seeded order."""
    from acbench_env.core.registry import make
    from acbench_env.core.seeds import episode_seeds

    count = positive_int("the probe count", count)
    candidates = [(t.env_id, s) for t in suite.tasks for s in episode_seeds(t.episodes, suite.seed)]
    if not candidates:
        raise ConfigError(f"suite {suite.name!r} has no episodes to draw probes from")
    rng = np.random.default_rng(seed)
    chosen = sorted(
        rng.choice(len(candidates), size=min(count, len(candidates)), replace=False).tolist()
    )
    kwargs = {t.env_id: dict(t.env_kwargs) for t in suite.tasks}
    envs: dict[str, Any] = {}
    out = []
    try:
        for i in chosen:
            env_id, ep_seed = candidates[i]
            if env_id not in envs:
                envs[env_id] = make(env_id, **kwargs[env_id])
            obs, info = envs[env_id].reset(seed=ep_seed)
            messages: list[Message] = [
                {"role": m["role"], "content": m["content"]}
                for m in info.get("few_shot_messages") or []
            ]
            messages.append({"role": "user", "content": obs})
            out.append((env_id, ep_seed, messages))
    finally:
        for env in envs.values():
            env.close()
    return out


def _token_ids(backend: Any, messages: Sequence[Message], max_tokens: int) -> list[int]:
    text = backend.render(messages)
    ids = backend.tokenizer(text, add_special_tokens=False)["input_ids"]
    return list(ids[-max_tokens:])


def _forward(backend: Any, batch: list[list[int]]) -> tuple[list[Any], Any, Any]:
    """Hidden states (per layer), logits and mask of a right-padded batch."""
    import torch

    longest = max(len(x) for x in batch)
    pad = int(backend.tokenizer.pad_token_id or 0)
    ids = torch.full((len(batch), longest), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), longest), dtype=torch.long)
    for i, x in enumerate(batch):
        ids[i, : len(x)] = torch.tensor(x, dtype=torch.long)
        mask[i, : len(x)] = 1
    with torch.inference_mode():
        out = backend.model(
            input_ids=ids.to(backend.device),
            attention_mask=mask.to(backend.device),
            output_hidden_states=True,
        )
    hidden = [h.float().cpu().numpy() for h in out.hidden_states]
    return hidden, out.logits.float().cpu().numpy(), mask.numpy().astype(bool)


def analyze_pair(
    base: Any,
    compressed: Any,
    probes: Sequence[Sequence[Message]],
    *,
    max_tokens: int = 128,
    batch_size: int = 4,
    temperature: float = 1.0,
    ks: Sequence[int] = TOPK_DEFAULT,
) -> dict[str, Any]:
    """Representation metrics of two loaded transformers backends on ``probes``."""
    max_tokens = int_at_least("max_tokens", max_tokens, 2)
    token_ids = [_token_ids(base, p, max_tokens) for p in probes]
    other = [_token_ids(compressed, p, max_tokens) for p in probes]
    if token_ids != other:
        raise ConfigError(
            "the base and compressed models tokenize the probes differently; representation "
            "metrics compare models with the same tokenizer (a compressed copy of the base)"
        )
    layers_b: list[list[float]] = []
    layers_c: list[list[float]] = []
    logits_b: list[float] = []
    logits_c: list[float] = []
    e_base: list[np.ndarray] = []
    e_comp: list[np.ndarray] = []
    topk_acc: dict[int, dict[str, float]] = {
        k: {"positions": 0, "tau": 0.0, "rho": 0.0, "jac": 0.0, "defined": 0, "undefined": 0}
        for k in ks
    }
    for start in range(0, len(token_ids), batch_size):
        batch = [x for x in token_ids[start : start + batch_size]]
        hb, zb, mask = _forward(base, batch)
        hc, zc, _ = _forward(compressed, batch)
        if len(hb) != len(hc):
            raise ConfigError(
                f"the models differ in depth ({len(hb) - 1} vs {len(hc) - 1} layers); compare a "
                "compressed copy with its base"
            )
        for i in range(len(batch)):
            n = int(mask[i].sum())
            if n < 2:
                continue
            layers_b.append([erank(h[i, :n]) for h in hb])
            layers_c.append([erank(h[i, :n]) for h in hc])
            logits_b.append(erank(zb[i, :n]))
            logits_c.append(erank(zc[i, :n]))
        if ks:
            # The unmasked positions as float64 rows, once per batch for every metric.
            rows_b, rows_c = position_rows(zb, zc, mask)
            for agg in topk_agreements(rows_b, rows_c, ks):
                acc = topk_acc[agg.k]
                defined = agg.positions - agg.undefined_positions
                acc["positions"] += agg.positions
                acc["jac"] += agg.jaccard * agg.positions
                if defined:
                    acc["tau"] += agg.kendall_tau * defined
                    acc["rho"] += agg.spearman_rho * defined
                acc["defined"] += defined
                acc["undefined"] += agg.undefined_positions
            e_base.append(energy(rows_b, temperature=temperature))
            e_comp.append(energy(rows_c, temperature=temperature))
        else:
            e_base.append(energy(zb, temperature=temperature, mask=mask))
            e_comp.append(energy(zc, temperature=temperature, mask=mask))
    eb = np.concatenate(e_base) if e_base else np.zeros(0)
    ec = np.concatenate(e_comp) if e_comp else np.zeros(0)
    both = np.concatenate([eb, ec])
    edges = (
        np.linspace(float(both.min()), float(both.max()), ENERGY_BINS + 1)
        if both.size and both.min() < both.max()
        else np.linspace(-1.0, 1.0, ENERGY_BINS + 1) + (float(both[0]) if both.size else 0.0)
    )

    def mean_cols(rows: list[list[float]]) -> list[float]:
        arr = np.array(rows, dtype=np.float64)
        return [float(np.nanmean(arr[:, j])) for j in range(arr.shape[1])] if rows else []

    def nanmean(values: list[float]) -> float:
        vals = [v for v in values if not math.isnan(v)]
        return float(np.mean(vals)) if vals else float("nan")

    return {
        "analysis_version": ANALYSIS_VERSION,
        "probes": len(token_ids),
        "positions": int(eb.size),
        "max_tokens": max_tokens,
        "erank_layers_base": mean_cols(layers_b),
        "erank_layers_compressed": mean_cols(layers_c),
        "erank_logits_base": nanmean(logits_b),
        "erank_logits_compressed": nanmean(logits_c),
        "topk": [
            {
                "k": k,
                "positions": int(a["positions"]),
                "kendall_tau": a["tau"] / a["defined"] if a["defined"] else float("nan"),
                "spearman_rho": a["rho"] / a["defined"] if a["defined"] else float("nan"),
                "jaccard": a["jac"] / a["positions"] if a["positions"] else float("nan"),
                "undefined_positions": int(a["undefined"]),
            }
            for k, a in topk_acc.items()
        ],
        "energy": {
            **asdict(compare_energies(eb, ec, temperature)),
            "histogram": {
                "edges": edges.tolist(),
                "base": np.histogram(eb, bins=edges)[0].tolist(),
                "compressed": np.histogram(ec, bins=edges)[0].tolist(),
            },
        },
    }


def run_analysis(
    base_model: str,
    compressed_models: Sequence[str],
    suite: Suite,
    *,
    probes: int = 16,
    seed: int = 0,
    max_tokens: int = 128,
    batch_size: int = 4,
    temperature: float = 1.0,
    labels: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One analysis record per compressed model (base loaded once)."""
    from acbench_env.agents.backends import create_backend
    from acbench_env.core.manifest import model_labels
    from acbench_env.core.models import resolve_model

    if not compressed_models:
        raise ConfigError("pass at least one compressed model to compare with the base")
    for m in (base_model, *compressed_models):
        resolve_model(m)  # bad paths fail before anything loads
    names = list(labels) if labels else model_labels([base_model, *compressed_models])
    conversations = probe_conversations(suite, probes, seed)
    base = create_backend("transformers", model=base_model)
    records = []
    for name, model in zip(names[1:], compressed_models):
        comp = create_backend("transformers", model=model)
        rec = analyze_pair(
            base,
            comp,
            [c for _, _, c in conversations],
            max_tokens=max_tokens,
            batch_size=batch_size,
            temperature=temperature,
        )
        rec.update(
            {
                "base": names[0],
                "compressed": name,
                "base_model": base_model,
                "compressed_model": model,
                "probe_seed": seed,
                "probe_source": {"suite": suite.name, "version": suite.version},
                "probe_episodes": [[e, s] for e, s, _ in conversations],
                "compression": getattr(comp, "compression", None),
            }
        )
        records.append(nan_to_none(rec))
        del comp
    return records


__all__ = ["analyze_pair", "probe_conversations", "run_analysis"]
