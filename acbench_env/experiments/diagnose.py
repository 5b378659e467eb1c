"""``acbench diagnose``: replay the base model's trajectories through compressed models.

Every step of every base-model trajectory is replayed teacher-forced: the prompt the base
model saw plus the output it wrote go through the base model and each compressed model in
batched forward passes (transformers backend, left padding, logits kept only for the output
positions); per output token the pure core (:mod:`acbench_env.scoring.diagnostics`)
compares the two next-token distributions, and every token gets a class from the env's
parse (:mod:`acbench_env.scoring.token_classes`).

``backend="vllm"`` (``acbench diagnose --backend vllm``) replays through vLLM's offline
engine instead: each step's prompt + output ids are one prompt with
``SamplingParams(prompt_logprobs=k, max_tokens=1)`` (engine ``max_logprobs=k``), one engine
per model, started and closed in turn. vLLM lists per position the top ``k`` tokens and the
actual token with its rank over the whole vocabulary, so top-1 agreement and the base
token's rank are exact; the full KL needs both full distributions, which vLLM does not
return, so ``kl`` is the coarsened top-k lower bound of
:func:`acbench_env.scoring.diagnostics.topk_token_stats`, and the record says so
(``kl_method``: ``"full"`` on transformers, ``"topk-<k>"`` on vLLM, with ``kl_note``).

Token ids: a step recorded with token ids (``record_tokens``) is replayed on exactly those
ids; otherwise the prompt is re-rendered with the base tokenizer's chat template (system
prompt, few-shot turns, then the conversation so far) and the output re-tokenized, which
can differ from what the model generated at a few tokens. ``token_source`` in the output
counts both kinds.

Output: ``DIR/diagnostics.json`` with, per variant label, the per-class table
(``tokens``, ``kl``, ``top1_agreement`` and intervals), per capability, the first
divergences, and per step the token-level arrays (for the report's episode viewer).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from acbench_env.agents.backends.transformers_backend import TransformersBackend
from acbench_env.core.errors import (
    BackendError,
    ConfigError,
    TrajectoryFileError,
    require,
)
from acbench_env.core.jsonl import read_trajectories
from acbench_env.core.manifest import read_manifest
from acbench_env.core.types import Message, Trajectory
from acbench_env.scoring.diagnostics import (
    StepDiagnosis,
    kl_method_name,
    summarize,
    topk_token_stats,
)
from acbench_env.scoring.report.build import nan_to_none
from acbench_env.scoring.token_classes import output_kind, token_classes, token_offsets

logger = logging.getLogger(__name__)

#: File name of the diagnostics inside the output folder (the report looks for it).
DIAGNOSTICS_FILE = "diagnostics.json"
#: Layout version of ``diagnostics.json``.
DIAGNOSTICS_VERSION = 1


@dataclass(frozen=True)
class ReplayItem:
    """One base-model output to replay: its prompt and output ids, and their origin."""

    env_id: str
    seed: int
    task_id: str
    step: int
    capability: str
    prompt_ids: tuple[int, ...]
    output_ids: tuple[int, ...]
    recorded: bool


def load_trajectories(paths: Sequence[str | Path]) -> list[Trajectory]:
    """The base model's trajectories from suite folders (their base model's runs) and
    trajectory files (``.jsonl``)."""
    out: list[Trajectory] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            manifest = read_manifest(path)
            if manifest is None:
                raise ConfigError(
                    f"{path} is a folder without a suite manifest (suite.json); pass a suite "
                    "folder written by `acbench suite` or trajectory .jsonl files"
                )
            files = sorted((path / "runs" / manifest.base.label).glob("*.jsonl"))
            for f in files:
                out.extend(read_trajectories(f))
        elif path.is_file():
            out.extend(read_trajectories(path))
        else:
            raise TrajectoryFileError(f"{path} does not exist; pass a suite folder or a .jsonl")
    if not out:
        raise ConfigError(f"no trajectories found in {', '.join(map(str, paths))}")
    return out


def _messages(traj: Trajectory, step: int) -> list[Message]:
    msgs: list[Message] = []
    if traj.system_prompt is not None:
        msgs.append({"role": "system", "content": traj.system_prompt})
    msgs.extend(traj.few_shot_messages)
    for s in traj.steps[:step]:
        msgs.append({"role": "user", "content": s.observation})
        msgs.append({"role": "assistant", "content": s.raw_output})
    msgs.append({"role": "user", "content": traj.steps[step].observation})
    return msgs


def replay_items(trajectories: Sequence[Trajectory], tokenizer: Any) -> list[ReplayItem]:
    """One item per step with a non-empty output (recorded ids when present)."""
    items: list[ReplayItem] = []
    for traj in trajectories:
        for i, s in enumerate(traj.steps):
            if s.prompt_token_ids is not None and s.completion_token_ids is not None:
                prompt, output, recorded = s.prompt_token_ids, s.completion_token_ids, True
            else:
                text = tokenizer.apply_chat_template(
                    _messages(traj, i), add_generation_prompt=True, tokenize=False
                )
                prompt = tuple(tokenizer(text, add_special_tokens=False)["input_ids"])
                output = tuple(tokenizer(s.raw_output, add_special_tokens=False)["input_ids"])
                recorded = False
            if not output:
                continue
            items.append(
                ReplayItem(
                    env_id=traj.env_id,
                    seed=traj.seed,
                    task_id=traj.task_id,
                    step=i,
                    capability=traj.capability or "other",
                    prompt_ids=tuple(prompt),
                    output_ids=tuple(output),
                    recorded=recorded,
                )
            )
    return items


def _batches(items: Sequence[ReplayItem], max_tokens: int) -> list[list[int]]:
    """Indices grouped by similar length, each batch at most ``max_tokens`` padded tokens."""
    order = sorted(
        range(len(items)), key=lambda i: len(items[i].prompt_ids) + len(items[i].output_ids)
    )
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        length = len(items[i].prompt_ids) + len(items[i].output_ids)
        if cur and length * (len(cur) + 1) > max_tokens:
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


def _inputs(
    items: Sequence[ReplayItem], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Left-padded prompt + output[:-1]; the last ``keep`` positions predict the outputs."""
    seqs = [list(it.prompt_ids) + list(it.output_ids[:-1]) for it in items]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        mask[r, width - len(s) :] = 1
    keep = max(len(it.output_ids) for it in items)
    return ids.to(device), mask.to(device), keep


#: Architectures whose logits are exactly ``lm_head(last hidden state)`` (no soft-capping or
#: scaling after the head): for these only the rows that predict output tokens go through
#: the head; others use the model's own forward with ``logits_to_keep``.
_PLAIN_HEAD = frozenset({"llama", "mistral", "qwen2", "qwen3", "phi3"})


def _output_positions(items: Sequence[ReplayItem], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column indices (into the left-padded batch of :func:`_inputs`) of the
    positions that predict each output token, in order."""
    rows = [r for r, it in enumerate(items) for _ in it.output_ids]
    cols = [c for it in items for c in range(width - len(it.output_ids), width)]
    return torch.tensor(rows, dtype=torch.long), torch.tensor(cols, dtype=torch.long)


@torch.inference_mode()
def output_log_probs(
    model: Any,
    items: Sequence[ReplayItem],
    pad_id: int,
    inputs: tuple[torch.Tensor, torch.Tensor, int] | None = None,
) -> torch.Tensor:
    """Log-softmax rows ``[sum of output lengths, vocab]`` (float32) that predict each
    output token of ``items``, in order. ``inputs`` (from :func:`_inputs`) lets several
    models share one batch's tensors.

    For plain-head architectures (``_PLAIN_HEAD``) the decoder runs once and only the
    output rows go through the LM head (no logits for padding or prompt positions);
    otherwise the model's forward keeps the last ``keep`` positions of every row."""
    device = next(model.parameters()).device
    ids, mask, keep = inputs if inputs is not None else _inputs(items, pad_id, device)
    ids, mask = ids.to(device), mask.to(device)
    pos = (mask.cumsum(dim=1) - 1).clamp(min=0)
    body: Any = getattr(model, "model", None)
    head: Any = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if (
        getattr(model.config, "model_type", None) in _PLAIN_HEAD
        and body is not None
        and head is not None
    ):
        hidden = body(input_ids=ids, attention_mask=mask, position_ids=pos).last_hidden_state
        r, c = _output_positions(items, ids.shape[1])
        logits = head(hidden[r.to(device), c.to(device)])
    else:
        out = model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=keep)
        logits = torch.cat(
            [out.logits[r, keep - len(it.output_ids) :] for r, it in enumerate(items)]
        )
    return torch.log_softmax(logits.float(), dim=-1)


def compare_rows(
    base_lp: torch.Tensor, comp_lp: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per row: KL(base || compressed), top-1 match with ``targets``, the target's rank under
    the compressed model (1-based), and the compressed model's top-1 token (the same math
    as :func:`acbench_env.scoring.diagnostics.token_stats`, in torch)."""
    kl = (base_lp.exp() * (base_lp - comp_lp)).sum(dim=-1).clamp(min=0.0)
    at = comp_lp.gather(1, targets[:, None])
    rank = (comp_lp > at).sum(dim=-1) + 1
    return kl, rank == 1, rank, comp_lp.argmax(dim=-1)


#: Per replay item and variant label: (KL, top-1, rank, logprob of the base token) per token.
_Stats = dict[int, dict[str, tuple[list[float], list[bool], list[int], list[float]]]]
#: Per variant label and replay item: the variant's top-1 token id per token.
_Preds = dict[str, dict[int, list[int]]]

#: Backends diagnose can replay on.
DIAGNOSE_BACKENDS = ("transformers", "vllm")
#: Default k of vLLM's prompt logprobs (vLLM's own default ``max_logprobs``).
DEFAULT_TOPK = 20


@dataclass(frozen=True)
class _Replay:
    """What a backend's replay returns to :func:`diagnose`."""

    tokenizer: Any
    stats: _Stats
    preds: _Preds
    compression: dict[str, Any]
    dtypes: dict[str, str]
    base_s: float
    #: Seconds of the replay itself (forward passes / engine calls), model loading excluded.
    replay_s: float


def _load(model: str, dtype: str = "float32") -> TransformersBackend:
    return TransformersBackend(model, batch_size=1, dtype=dtype)


def _replay_transformers(
    base: str,
    compressed: Sequence[str],
    names: Sequence[str],
    trajectories: Sequence[Trajectory],
    dtype: str,
    max_batch_tokens: int,
) -> tuple[list[ReplayItem], _Replay]:
    """Full next-token distributions from transformers forward passes (exact KL)."""
    loaded: dict[str, TransformersBackend] = {}

    def load(model: str) -> TransformersBackend:  # one copy of a model named twice
        if str(model) not in loaded:
            loaded[str(model)] = _load(model, dtype)
        return loaded[str(model)]

    base_backend = load(base)
    tok = base_backend.tokenizer
    variants = [load(c) for c in compressed]
    for name, v in zip(names, variants):
        if v.model.config.vocab_size != base_backend.model.config.vocab_size:
            raise ConfigError(
                f"{name} has a vocabulary of {v.model.config.vocab_size} tokens, the base "
                f"{base_backend.model.config.vocab_size}; compare variants of one base model"
            )
    items = _items(trajectories, tok)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    stats: _Stats = {}
    preds: _Preds = {n: {} for n in names}
    base_s = 0.0
    t0 = time.perf_counter()
    for batch in _batches(items, max_batch_tokens):
        chunk = [items[i] for i in batch]
        tb = time.perf_counter()
        inputs = _inputs(chunk, pad, next(base_backend.model.parameters()).device)
        base_lp = output_log_probs(base_backend.model, chunk, pad, inputs)
        base_s += time.perf_counter() - tb
        targets = torch.tensor(
            [t for it in chunk for t in it.output_ids], dtype=torch.long, device=base_lp.device
        )
        for name, v in zip(names, variants):
            comp_lp = output_log_probs(v.model, chunk, pad, inputs)
            kl, top1, rank, argmax = compare_rows(base_lp, comp_lp, targets)
            lp = comp_lp.gather(1, targets[:, None])[:, 0]
            start = 0
            for i, it in zip(batch, chunk):
                end = start + len(it.output_ids)
                stats.setdefault(i, {})[name] = (
                    kl[start:end].tolist(),
                    top1[start:end].tolist(),
                    rank[start:end].tolist(),
                    lp[start:end].tolist(),
                )
                preds[name][i] = argmax[start:end].tolist()
                start = end
    replay_s = time.perf_counter() - t0
    dtypes = {n: str(v.model.dtype).removeprefix("torch.") for n, v in zip(names, variants)}
    dtypes["base"] = str(base_backend.model.dtype).removeprefix("torch.")
    return items, _Replay(
        tokenizer=tok,
        stats=stats,
        preds=preds,
        compression={n: v.compression for n, v in zip(names, variants)},
        dtypes=dtypes,
        base_s=base_s,
        replay_s=replay_s,
    )


def _items(trajectories: Sequence[Trajectory], tokenizer: Any) -> list[ReplayItem]:
    items = replay_items(trajectories, tokenizer)
    if not items:
        raise ConfigError("the trajectories hold no step with a non-empty output to replay")
    return items


def require_vllm() -> None:
    """Raise one clear error when vLLM is not installed (``--backend vllm``)."""
    require("vllm", "vllm", "acbench diagnose --backend vllm")


def vllm_listings(
    model: str, items: Sequence[ReplayItem], *, k: int, dtype: str = "auto"
) -> tuple[list[list[dict[int, tuple[float, int]]]], dict[str, Any]]:
    """Per item, per output token: vLLM's prompt-logprobs listing (token id -> (logprob,
    rank)) of the position that predicts it: the top ``k`` tokens and the output token
    itself with its rank over the whole vocabulary. One engine, started and closed here; the
    whole item list is one ``LLM.generate`` call (``max_tokens=1``). Also returns the
    engine's compression fingerprint, dtype and vocabulary size."""
    require_vllm()
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    from acbench_env.agents.backends.vllm_backend import VLLMBackend

    longest = max(len(it.prompt_ids) + len(it.output_ids) for it in items)
    backend = VLLMBackend(model, dtype=dtype, engine_kwargs={"max_logprobs": k})
    try:
        if longest + 1 > backend.window:
            raise ConfigError(
                f"a replayed step has {longest} tokens, more than {model!r}'s context window "
                f"({backend.window}) allows"
            )
        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=k)
        prompts = [TokensPrompt(prompt_token_ids=[*it.prompt_ids, *it.output_ids]) for it in items]
        t0 = time.perf_counter()
        outs = backend.llm.generate(prompts, sampling_params=params, use_tqdm=False)
        generate_s = time.perf_counter() - t0
        listings: list[list[dict[int, tuple[float, int]]]] = []
        for it, out in zip(items, outs):
            plp = out.prompt_logprobs
            if plp is None:
                raise BackendError("vLLM returned no prompt logprobs although they were requested")
            first = len(it.prompt_ids)
            listings.append(
                [
                    {int(t): (float(lp.logprob), int(lp.rank)) for t, lp in plp[first + j].items()}
                    for j in range(len(it.output_ids))
                ]
            )
        config = backend.llm.llm_engine.model_config
        info = {
            "compression": backend.compression,
            "dtype": backend.runtime["dtype"],
            "vocab_size": int(config.get_vocab_size()),
            "generate_s": generate_s,
        }
    finally:
        backend.close()
    return listings, info


def _replay_vllm(
    base: str,
    compressed: Sequence[str],
    names: Sequence[str],
    trajectories: Sequence[Trajectory],
    dtype: str,
    k: int,
) -> tuple[list[ReplayItem], _Replay]:
    """Top-k prompt logprobs from vLLM, one engine at a time (exact top-1 and rank; KL as
    the coarsened top-k lower bound)."""
    require_vllm()
    from transformers import AutoTokenizer

    from acbench_env.core.models import resolve_model

    tok = AutoTokenizer.from_pretrained(resolve_model(base))
    items = _items(trajectories, tok)
    base_lists, base_info = vllm_listings(base, items, k=k, dtype=dtype)
    base_s = replay_s = float(base_info["generate_s"])
    done: dict[str, tuple[list[list[dict[int, tuple[float, int]]]], dict[str, Any]]] = {
        str(base): (base_lists, base_info)
    }
    stats: _Stats = {}
    preds: _Preds = {n: {} for n in names}
    compression: dict[str, Any] = {}
    dtypes = {"base": str(base_info["dtype"])}
    for name, model in zip(names, compressed):
        if str(model) not in done:
            done[str(model)] = vllm_listings(model, items, k=k, dtype=dtype)
            replay_s += float(done[str(model)][1]["generate_s"])
        lists, info = done[str(model)]
        if info["vocab_size"] != base_info["vocab_size"]:
            raise ConfigError(
                f"{name} has a vocabulary of {info['vocab_size']} tokens, the base "
                f"{base_info['vocab_size']}; compare variants of one base model"
            )
        compression[name], dtypes[name] = info["compression"], str(info["dtype"])
        for i, it in enumerate(items):
            kl, top1, rank, lp, argmax = topk_token_stats(base_lists[i], lists[i], it.output_ids)
            stats.setdefault(i, {})[name] = (kl.tolist(), top1.tolist(), rank.tolist(), lp.tolist())
            preds[name][i] = argmax.tolist()
    return items, _Replay(
        tokenizer=tok,
        stats=stats,
        preds=preds,
        compression=compression,
        dtypes=dtypes,
        base_s=base_s,
        replay_s=replay_s,
    )


def diagnose(
    base: str,
    compressed: Sequence[str],
    trajectories: Sequence[Trajectory],
    *,
    labels: Sequence[str] | None = None,
    max_batch_tokens: int = 8192,
    resamples: int = 1000,
    seed: int = 0,
    backend: str = "transformers",
    dtype: str = "auto",
    topk: int = DEFAULT_TOPK,
) -> dict[str, Any]:
    """The diagnostics record of ``compressed`` models against ``base`` on ``trajectories``
    (see the module docstring); ``labels`` name the variants (default: the model arguments).

    ``backend``: ``"transformers"`` (full distributions: ``kl_method: "full"``) or
    ``"vllm"`` (prompt logprobs with ``topk`` listed tokens per position: top-1 and rank
    exact, KL the coarsened lower bound, ``kl_method: "topk-<topk>"``). ``dtype``: the
    activation dtype of every model (``auto``: float32 on transformers; on vLLM float32,
    or bfloat16 for quantized checkpoints)."""
    if not compressed:
        raise ConfigError("diagnose needs at least one compressed model (--compressed MODEL)")
    if backend not in DIAGNOSE_BACKENDS:
        raise ConfigError(f"diagnose replays on {' or '.join(DIAGNOSE_BACKENDS)}, not {backend!r}")
    if topk < 1:
        raise ConfigError(f"topk must be at least 1, got {topk}")
    names = list(labels) if labels is not None else [str(c) for c in compressed]
    if len(names) != len(compressed) or len(set(names)) != len(names):
        raise ConfigError(f"variant labels must be unique, one per compressed model: {names}")
    if backend == "vllm":
        items, rep = _replay_vllm(base, compressed, names, trajectories, dtype, topk)
        kl_method = kl_method_name(topk)
    else:
        tdtype = "float32" if dtype == "auto" else dtype
        items, rep = _replay_transformers(
            base, compressed, names, trajectories, tdtype, max_batch_tokens
        )
        kl_method = kl_method_name(None)
    # The replay's own time (model loading and engine starts excluded), as before.
    elapsed = rep.replay_s
    tok, stats, preds = rep.tokenizer, rep.stats, rep.preds
    # Token texts and classes of every output (shared by all variants).
    pieces: list[list[str]] = []
    classes: list[tuple[str, ...]] = []
    for it in items:
        text, offsets = token_offsets(tok, it.output_ids)
        pieces.append([text[s:e] for s, e in offsets])
        classes.append(tuple(token_classes(text, offsets, output_kind(it.env_id))))
    per_variant: dict[str, list[StepDiagnosis]] = {n: [] for n in names}
    for i, it in enumerate(items):
        for name in names:
            kl_i, top1_i, rank_i, _ = stats[i][name]
            per_variant[name].append(
                StepDiagnosis(
                    env_id=it.env_id,
                    seed=it.seed,
                    step=it.step,
                    capability=it.capability,
                    classes=classes[i],
                    kl=tuple(kl_i),
                    top1=tuple(top1_i),
                    rank=tuple(rank_i),
                )
            )
    tokens = sum(len(it.output_ids) for it in items)
    record: dict[str, Any] = {
        "version": DIAGNOSTICS_VERSION,
        "base": str(base),
        "backend": backend,
        "dtype": rep.dtypes,
        "kl_method": kl_method,
        "kl_note": _KL_NOTES["full" if kl_method == "full" else "topk"].format(k=topk),
        "variants": {},
        "token_source": {
            "recorded": sum(1 for it in items if it.recorded),
            "retokenized": sum(1 for it in items if not it.recorded),
            "note": (
                "retokenized steps had no recorded token ids: their prompt was re-rendered "
                "with the chat template and their output re-tokenized"
            ),
        },
        "outputs": [
            {
                "env_id": it.env_id,
                "seed": it.seed,
                "task_id": it.task_id,
                "step": it.step,
                "capability": it.capability,
                "tokens": pieces[i],
                "classes": list(classes[i]),
            }
            for i, it in enumerate(items)
        ],
        "timing": {
            "tokens": tokens,
            "variants": len(names),
            "wall_s": round(elapsed, 3),
            "base_forward_s": round(rep.base_s, 3),
            "teacher_forced_tok_s": round(tokens * len(names) / elapsed, 1) if elapsed else None,
        },
    }
    for name, model in zip(names, compressed):
        steps = per_variant[name]
        summary = summarize(steps, resamples=resamples, seed=seed)
        record["variants"][name] = {
            "model": str(model),
            "compression": rep.compression[name],
            **summary,
            "steps": [
                {
                    "kl": [round(x, 5) for x in s.kl],
                    "top1": list(s.top1),
                    "rank": list(s.rank),
                    "logprob": [round(x, 5) for x in stats[i][name][3]],
                    "pred_id": list(preds[name][i]),
                    "pred": [
                        None if ok else tok.decode([p]) for ok, p in zip(s.top1, preds[name][i])
                    ],
                }
                for i, s in enumerate(steps)
            ],
        }
    return record


_KL_NOTES = {
    "full": "KL(base || variant) over the whole vocabulary (transformers logits)",
    "topk": (
        "KL from vLLM's top-{k} prompt logprobs: the KL of the two distributions coarsened "
        "to the tokens both list plus one rest bucket, a lower bound on the full KL "
        "(top-1 agreement and rank are exact)"
    ),
}


def write_diagnostics(out: str | Path, record: dict[str, Any]) -> Path:
    """Write ``record`` to ``out/diagnostics.json`` (creating ``out``)."""
    path = Path(out) / DIAGNOSTICS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(nan_to_none(record), indent=1, sort_keys=True, allow_nan=False) + "\n"
    )
    return path
