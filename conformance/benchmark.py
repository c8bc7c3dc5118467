"""What an export and a certifier cell cost per engine, measured in one process.

    python -m conformance.benchmark                     # the starting architectures
    python -m conformance.benchmark --model-type 'llama' --repeat 3
    python -m conformance.benchmark --cells             # whole certifier cells too
    python -m conformance.benchmark --profile dynamo    # where a dynamo export spends its time

Prints, per case, the median export seconds of each engine and the dynamo / torchscript
ratio; with ``--cells``, the median seconds of the certifier cell on the base tiny model (the
export plus every boundary and drawn example, as a matrix cell runs it without its variants)
and their ratio. Each case is exported (and certified) once first, untimed, so that one-time
imports and caches do not count against whichever engine runs first. The process computes
with one thread, as a certifier worker on a fully used machine does.
"""

from __future__ import annotations

import argparse
import pstats
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
ENGINES = ("torchscript", "dynamo")


def _median_seconds(run, repeat: int) -> float:
    run()  # untimed: imports, compiled kernels, caches
    timings = []
    for _ in range(repeat):
        tic = time.perf_counter()
        run()
        timings.append(time.perf_counter() - tic)
    return statistics.median(timings)


def _ratio_line(values: dict[str, float]) -> str:
    return " ".join(f"{values[engine]:9.2f}" for engine in ENGINES) + f" {values['dynamo'] / values['torchscript']:6.1f}"


# Where a dynamo export spends its time: (part, file the function is in, function name)
DYNAMO_PARTS = (
    ("capture (torch.export.export)", "torch/export/__init__.py", "export"),
    ("decompose (ExportedProgram.run_decompositions: a second trace)", "torch/export/exported_program.py",
     "run_decompositions"),
    ("translate (FX graph to ONNX IR)", "torch/onnx/_internal/exporter/_core.py", "_exported_program_to_onnx_program"),
    ("optimize (onnxscript's optimizer)", "onnxscript/optimizer/_optimizer.py", "optimize_ir"),
)


def dynamo_parts(stats: pstats.Stats) -> tuple[dict[str, float], float]:
    """Cumulative seconds of each of ``DYNAMO_PARTS`` in a profile, and of the whole export (the
    rest is saving, naming dimensions and the ONNX checker)."""
    found = stats.stats  # (file, line, function) -> (calls, primitive calls, own, cumulative, callers)

    def cumulative(path: str, function: str) -> float:
        return sum(row[3] for key, row in found.items() if key[0].endswith(path) and key[2] == function)

    parts = {name: cumulative(path, function) for name, path, function in DYNAMO_PARTS}
    return parts, cumulative("exportkit/exporters/onnx/convert.py", "export_models")


def profile_export(case, engine: str, top: int = 30) -> None:
    """cProfile of one warm export, by cumulative time; for dynamo, first the share of each part."""
    import cProfile

    from exportkit.exporters.onnx import export_models

    from .certify import build_from_zoo

    model, config = build_from_zoo(case, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        export_models(model, config, Path(tmp) / "warm", engine=engine)
        profiler = cProfile.Profile()
        profiler.enable()
        export_models(model, config, Path(tmp) / "profiled", engine=engine)
        profiler.disable()
    stats = pstats.Stats(profiler)
    if engine == "dynamo":
        parts, whole = dynamo_parts(stats)
        whole = whole or float("nan")
        print(f"whole export {whole:.2f} s under the profiler:")
        for name, seconds in parts.items():
            print(f"  {seconds:6.2f} s {100 * seconds / whole:4.0f}%  {name}")
    stats.sort_stats("cumulative").print_stats(top)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-type", help="only cases of this model type (glob)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per engine (median reported)")
    parser.add_argument("--cells", action="store_true", help="time whole certifier cells too")
    parser.add_argument("--profile", choices=ENGINES, help="profile one warm export of each case with this engine")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    import fnmatch

    import torch

    from exportkit.exporters.onnx import export_models

    from .cases import Case
    from .certify import build_from_zoo, certify

    torch.set_num_threads(1)
    chosen = [key for key in STARTING if not args.model_type or fnmatch.fnmatchcase(key[1], args.model_type)]
    if not chosen:
        parser.error(f"no starting case has a model type matching {args.model_type!r}")
    if args.profile:
        for library, model_type, task in chosen:
            print(f"== {library}/{model_type}/{task} ({args.profile})")
            profile_export(Case(library, model_type, "onnx", args.profile, task), args.profile)
        return 0

    header = f"{'case':58s} {'export: torchscript s':>21s} {'dynamo s':>9s} {'ratio':>6s}"
    print(header + (f" {'cell: torchscript s':>19s} {'dynamo s':>9s} {'ratio':>6s}" if args.cells else ""))
    exports, cells = [], []
    for library, model_type, task in chosen:
        model, config = build_from_zoo(Case(library, model_type, "onnx", "dynamo", task), seed=0)
        export_seconds, cell_seconds = {}, {}
        with tempfile.TemporaryDirectory() as tmp:
            for engine in ENGINES:
                counter = iter(range(10**6))
                export_seconds[engine] = _median_seconds(
                    lambda: export_models(model, config, Path(tmp) / f"{engine}-{next(counter)}", engine=engine),
                    args.repeat)
                if args.cells:
                    case = Case(library, model_type, "onnx", engine, task)
                    cell_seconds[engine] = _median_seconds(lambda: certify(case, variants=()), args.repeat)
        exports.append(export_seconds)
        line = f"{library + '/' + model_type + '/' + task:58s} {_ratio_line(export_seconds):>38s}"
        if args.cells:
            cells.append(cell_seconds)
            line += f" {_ratio_line(cell_seconds):>36s}"
        print(line, flush=True)
    for name, rows in (("export", exports), ("cell", cells)):
        if rows:
            medians = {engine: statistics.median(row[engine] for row in rows) for engine in ENGINES}
            ratio = statistics.geometric_mean([row["dynamo"] / row["torchscript"] for row in rows])
            print(f"{name}: median torchscript {medians['torchscript']:.2f} s, median dynamo {medians['dynamo']:.2f} s, "
                  f"geometric mean dynamo / torchscript {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
