"""A decoder at its published dimensions, with random weights: what exporting it costs and how
fast the exported graph decodes.

    python -m conformance.real_size                          # Qwen2.5-0.5B's dimensions
    python -m conformance.real_size --engine torchscript --past 128 --repeat 20

Saves the model to a temporary directory, exports it with ``exportkit export onnx --task
text-generation-with-past`` in a child process (its wall time and peak resident memory are
the child's, validation included), then times ONNX Runtime on one prefill of ``--past`` tokens and on one decode
step after it (median of ``--repeat``). Prints the figures; asserts nothing about them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Qwen2.5-0.5B (config.json of the published checkpoint): grouped-query attention, tied embeddings.
QWEN2_5_0_5B = {
    "model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
    "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True, "bos_token_id": 151643,
    "eos_token_id": 151643, "torch_dtype": "float32",
}


def save_random_decoder(directory: Path, dimensions: dict) -> None:
    import torch
    import transformers

    config = transformers.AutoConfig.for_model(**dimensions)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config)
    model.save_pretrained(directory)  # safetensors


def export(model_dir: Path, out: Path, engine: str) -> dict:
    command = [sys.executable, "-m", "exportkit.cli", "export", "onnx", "--model", str(model_dir), "--task",
               "text-generation-with-past", "--engine", engine, str(out)]
    tic = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - tic
    if done.returncode != 0:
        raise SystemExit(f"export failed ({done.returncode}): {done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # the only child; kB on Linux
    size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file() and "onnx" in path.name)
    return {"seconds": seconds, "peak_rss_bytes": peak, "onnx_bytes": size}


def decode_latency(onnx_path: Path, past: int, repeat: int) -> dict:
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    pasts = [name for name in inputs if name.startswith("past_key_values.")]
    heads, head_dim = (dim for dim in inputs[pasts[0]].shape[1::2])

    def feed(new: int, past_length: int, past_values=None) -> dict:
        fed = {"input_ids": np.full((1, new), 42, dtype=np.int64),
               "attention_mask": np.ones((1, past_length + new), dtype=np.int64)}
        for name in pasts:
            fed[name] = past_values[name] if past_values else np.zeros((1, heads, past_length, head_dim), np.float32)
        return fed

    outputs = [o.name for o in session.get_outputs()]

    def timed(fed) -> tuple[float, dict]:
        tic = time.perf_counter()
        values = session.run(outputs, fed)
        return time.perf_counter() - tic, dict(zip(outputs, values))

    prefill, produced = [], None
    for _ in range(repeat):
        seconds, produced = timed(feed(past, 0))
        prefill.append(seconds)
    cache = {name: produced[name.replace("past_key_values.", "present.")] for name in pasts}
    step = [timed(feed(1, past, cache))[0] for _ in range(repeat)]
    return {"prefill_ms": 1e3 * statistics.median(prefill), "decode_step_ms": 1e3 * statistics.median(step),
            "threads": os.cpu_count()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="a config.json of the dimensions (default: Qwen2.5-0.5B's)")
    parser.add_argument("--engine", choices=["dynamo", "torchscript"], default="dynamo")
    parser.add_argument("--past", type=int, default=128, help="cached tokens before the timed decode step")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs of each (median reported)")
    args = parser.parse_args(argv)
    dimensions = json.loads(args.config.read_text()) if args.config else QWEN2_5_0_5B
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, out = Path(tmp) / "model", Path(tmp) / "onnx"
        tic = time.perf_counter()
        save_random_decoder(model_dir, dimensions)
        print(f"saved a random {dimensions['model_type']} at its published dimensions in "
              f"{time.perf_counter() - tic:.1f} s", flush=True)
        exported = export(model_dir, out, args.engine)
        print(f"export ({args.engine}, validation included): {exported['seconds']:.1f} s wall, peak resident "
              f"memory {exported['peak_rss_bytes'] / 2**30:.2f} GiB", flush=True)
        print(f"ONNX files: {exported['onnx_bytes'] / 1e9:.2f} GB", flush=True)
        latency = decode_latency(out / "model.onnx", args.past, args.repeat)
        print(f"ONNX Runtime (CPU, {latency['threads']} cores): prefill of {args.past} tokens "
              f"{latency['prefill_ms']:.1f} ms; one decode step after {args.past} cached tokens "
              f"{latency['decode_step_ms']:.1f} ms (median of {args.repeat})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
