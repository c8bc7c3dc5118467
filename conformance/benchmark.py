"""Export time per engine for chosen cases, measured in one process.

    python -m conformance.benchmark                     # the starting architectures
    python -m conformance.benchmark --model-type 'llama' --repeat 3

Prints, per case, the median export seconds of each engine and the dynamo / torchscript
ratio. Each case is exported once first (not timed) so one-time imports and compilation
caches do not count against whichever engine runs first.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

STARTING = [
    ("transformers", "bert", "text-classification"),
    ("transformers", "gpt2", "text-generation-with-past"),
    ("transformers", "llama", "text-generation-with-past"),
    ("transformers", "t5", "text2text-generation-with-past"),
    ("transformers", "vit", "image-classification"),
    ("transformers", "resnet", "image-classification"),
    ("transformers", "wav2vec2", "automatic-speech-recognition"),
    ("transformers", "clip", "zero-shot-image-classification"),
    ("timm", "resnet", "image-classification"),
    ("diffusers", "vae-decoder", "latent-decoding"),
    ("sentence_transformers", "bert", "sentence-similarity"),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-type", help="only cases of this model type (glob)")
    parser.add_argument("--repeat", type=int, default=1, help="timed exports per engine (median reported)")
    args = parser.parse_args(argv)

    import fnmatch

    from exportkit.exporters.onnx import export_models

    from .cases import Case
    from .certify import build_from_zoo

    rows = []
    print(f"{'case':58s} {'torchscript s':>13s} {'dynamo s':>9s} {'ratio':>6s}")
    for library, model_type, task in STARTING:
        if args.model_type and not fnmatch.fnmatchcase(model_type, args.model_type):
            continue
        model, config = build_from_zoo(Case(library, model_type, "onnx", "dynamo", task), seed=0)
        seconds = {}
        with tempfile.TemporaryDirectory() as tmp:
            for engine in ("torchscript", "dynamo"):
                export_models(model, config, Path(tmp) / f"warm-{engine}", engine=engine)
                timings = []
                for index in range(args.repeat):
                    tic = time.perf_counter()
                    export_models(model, config, Path(tmp) / f"{engine}-{index}", engine=engine)
                    timings.append(time.perf_counter() - tic)
                seconds[engine] = statistics.median(timings)
        ratio = seconds["dynamo"] / seconds["torchscript"]
        rows.append(ratio)
        print(f"{library + '/' + model_type + '/' + task:58s} {seconds['torchscript']:13.2f} "
              f"{seconds['dynamo']:9.2f} {ratio:6.1f}", flush=True)
    if rows:
        print(f"geometric mean dynamo / torchscript: {statistics.geometric_mean(rows):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
