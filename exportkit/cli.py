"""Command line: ``exportkit export onnx``, ``exportkit tasks``, ``exportkit support``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

SHAPE_FLAGS = {
    # flag -> (generate_dummy_inputs keyword, help)
    "batch-size": ("batch_size", "batch size of the dummy inputs used for capture"),
    "sequence-length": ("sequence_length", "text sequence length of the dummy inputs"),
    "past-sequence-length": ("past_sequence_length", "cached length of the dummy past key values"),
    "num-choices": ("num_choices", "number of choices (multiple-choice)"),
    "image-height": ("image_height", "image height of the dummy inputs"),
    "image-width": ("image_width", "image width of the dummy inputs"),
    "audio-sequence-length": ("audio_sequence_length", "number of raw audio samples of the dummy inputs"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="exportkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    export = commands.add_parser("export", help="export a model from a local directory")
    backends = export.add_subparsers(dest="backend", required=True, metavar="BACKEND")
    onnx = backends.add_parser(
        "onnx", help="export to ONNX", description="Export a model from a local directory to ONNX, then validate "
        "it against PyTorch with ONNX Runtime on input sizes different from the export's.")
    onnx.add_argument("output", type=Path, help="directory to write the ONNX file(s) into (written atomically)")
    onnx.add_argument("-m", "--model", required=True, help="local model directory (no download is ever attempted)")
    onnx.add_argument("--task", default="auto",
                      help="task to export for (default: inferred from the model); '-with-past' adds a KV cache")
    onnx.add_argument("--library", "--library-name", dest="library",
                      choices=["transformers", "timm", "diffusers", "sentence_transformers"],
                      help="library the model belongs to (default: inferred from the directory)")
    onnx.add_argument("--opset", type=int, help="ONNX opset (default: the config's DEFAULT_ONNX_OPSET)")
    onnx.add_argument("--engine", choices=["dynamo", "torchscript"], default="dynamo",
                      help="torch exporter: dynamo (torch.export) or torchscript (tracing); default dynamo")
    onnx.add_argument("--atol", type=float, help="absolute tolerance of validation (default: the config's)")
    onnx.add_argument("--device", default="cpu", help="device to export on: cpu or cuda (default cpu)")
    onnx.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default="fp32",
                      help="dtype of the model weights for export (default fp32)")
    onnx.add_argument("--monolith", action="store_true",
                      help="export an encoder-decoder as one graph instead of encoder / decoder parts")
    onnx.add_argument("--no-post-process", "--no-validate", dest="validate", action="store_false",
                      help="skip validation against PyTorch after export")
    onnx.add_argument("--no-constant-folding", action="store_true",
                      help="disable constant folding (torchscript engine)")
    onnx.add_argument("--keep-debug-metadata", action="store_true",
                      help="keep the exporters' debugging records in the graph (stack traces with local paths, "
                           "module names); dropped by default")
    onnx.add_argument("--trust-remote-code", action="store_true",
                      help="allow a local model directory's own modelling code to run")
    onnx.add_argument("--seed", type=int, default=0, help="seed of the dummy inputs (default 0)")
    for flag, (_, text) in SHAPE_FLAGS.items():
        onnx.add_argument(f"--{flag}", f"--{flag.replace('-', '_')}", dest=flag.replace("-", "_"), type=int,
                          help=text + " (default: the config's export size)")

    tasks = commands.add_parser("tasks", help="list the tasks a model type can be exported for")
    tasks.add_argument("model_type", help="model type, e.g. bert, gpt2, vae-decoder")
    tasks.add_argument("--exporter", default="onnx", help="exporter (default onnx)")
    tasks.add_argument("--library", help="only this library's registry")

    support = commands.add_parser(
        "support", help="is a model type certified? (answers from the support matrix shipped with exportkit)")
    support.add_argument("model_type", metavar="MODEL_TYPE_OR_DIR",
                         help="model type (e.g. bert), or a local model directory to read it from")
    support.add_argument("--matrix", type=Path, help="a support-matrix.json to read instead of the shipped one")
    support.add_argument("--library", help="only this library")
    support.add_argument("--json", action="store_true", help="print the matching cells as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import ExportKitError

    try:
        if args.command == "export":
            return export_onnx(args)
        if args.command == "tasks":
            return list_tasks(args)
        return support(args)
    except (ExportKitError, ValueError, KeyError, FileNotFoundError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"exportkit: error: {message}", file=sys.stderr)
        return 2


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def export_onnx(args) -> int:
    from .exporters.onnx import export_models, validate_model_outputs
    from .loading import infer_library, infer_task, load_model, model_config
    from .tasks import TasksManager

    library = args.library or infer_library(args.model)
    task = infer_task(args.model) if args.task == "auto" else args.task
    _progress(f"loading {args.model} ({library}, task {task})")
    dtype = {"fp32": None, "fp16": "float16", "bf16": "bfloat16"}[args.dtype]
    model = load_model(args.model, task=task, library=library, trust_remote_code=args.trust_remote_code,
                       device=args.device, dtype=dtype)
    constructor = TasksManager.get_exporter_config_constructor(
        "onnx", model=model, task=task, library_name=library, exporter_config_kwargs={"float_dtype": args.dtype})
    config = constructor(model_config(model))
    shapes = {keyword: getattr(args, flag.replace("-", "_")) for flag, (keyword, _) in SHAPE_FLAGS.items()
              if getattr(args, flag.replace("-", "_")) is not None}
    parts = {"model": config} if args.monolith else config.submodels()
    _progress(f"exporting with the {args.engine} engine: {', '.join(parts)}")
    tic = time.perf_counter()
    results = export_models(model, config, args.output, opset=args.opset, device=args.device, input_shapes=shapes,
                            engine=args.engine, do_constant_folding=not args.no_constant_folding, seed=args.seed,
                            monolith=args.monolith, keep_debug_metadata=args.keep_debug_metadata)
    for stem, result in results.items():
        _progress(f"  {result.path} ({result.artefact_bytes / 1e6:.1f} MB, opset {result.opset}, "
                  f"{result.export_seconds:.1f} s)")
    _progress(f"exported in {time.perf_counter() - tic:.1f} s")
    if args.validate:
        for stem, part in parts.items():
            # sizes other than the export's, then every axis at its minimum (batch 1, empty cache)
            for sizes in (part.validation_dims(), part.smallest_dims()):
                report = validate_model_outputs(part, model, results[stem].path, atol=args.atol,
                                                input_shapes=sizes, device=args.device)
                worst = max((c.max_abs_diff for c in report.outputs.values()), default=0.0)
                atol = part.atol_for() if args.atol is None else args.atol
                _progress(f"  validated {stem} on {report.dims}: max abs diff {worst:.3g} (atol {atol:g})")
    print(args.output)
    return 0


def list_tasks(args) -> int:
    from .tasks import TasksManager

    supported = TasksManager.get_supported_tasks_for_model_type(args.model_type, args.exporter, library_name=args.library)
    entries = TasksManager.list_registrations(library=args.library, model_type=args.model_type, exporter=args.exporter)
    libraries: dict[str, list[str]] = {}
    for entry in entries:
        libraries.setdefault(str(entry.task), []).append(entry.library)
    for task in sorted(supported):
        print(f"{task:40s} {', '.join(libraries.get(task, []))}")
    return 0


def shipped_matrix() -> Path:
    """The support matrix published with this exportkit (package data of ``reports``)."""
    from importlib import resources

    return Path(str(resources.files("reports").joinpath("support-matrix.json")))


# Packages whose version decides what a certificate is worth: a user's may differ from the matrix's.
CERTIFIED_WITH = ("torch", "transformers", "timm", "diffusers", "sentence-transformers", "onnx", "onnxruntime")


def version_drift(matrix: dict) -> list[str]:
    """``"torch 2.15.0 (certified with 2.14.1)"`` for each installed package the matrix saw another version of."""
    from importlib import metadata

    drift = []
    for package in CERTIFIED_WITH:
        certified = (matrix.get("versions") or {}).get(package)
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
        if certified and certified != installed:
            drift.append(f"{package} {installed} (certified with {certified})")
    return drift


def support(args) -> int:
    from .tasks import normalize_model_type

    path = args.matrix or shipped_matrix()
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a support matrix file; pass --matrix support-matrix.json")
    from reports import load_matrix  # the matrix's storage format is the renderer's to know

    matrix = load_matrix(path)
    wanted, library = args.model_type, args.library
    if Path(wanted).is_dir():  # a local model directory: its library and model type
        from .loading import infer_library, infer_model_type_from_dir

        library = library or infer_library(wanted)
        wanted = infer_model_type_from_dir(wanted, library)
    model_type = normalize_model_type(wanted)
    cells = [cell for cell in matrix["cells"] if cell["model_type"] == model_type
             and (not library or cell["library"] == library.replace("-", "_"))]
    if not cells:
        known = sorted({cell["model_type"] for cell in matrix["cells"]})
        from .task_names import did_you_mean

        print(f"{wanted!r} is not in the support matrix{did_you_mean(model_type, known)}", file=sys.stderr)
        return 1
    drift = version_drift(matrix)
    if drift:
        print("exportkit: warning: the installed " + ", ".join(drift) + " differ from what the matrix certified",
              file=sys.stderr)
    if args.json:
        print(json.dumps(cells, indent=2))
        return 0
    certified = [cell for cell in cells if cell["status"] == "certified"]
    versions = matrix.get("versions") or {}
    print(f"{model_type}: {len(certified)} of {len(cells)} cells certified (matrix of "
          f"{matrix.get('generated_at', '?')}; torch {versions.get('torch', '?')}, "
          f"transformers {versions.get('transformers', '?')})")
    for cell in sorted(cells, key=lambda c: (c["library"], c["task"], c["column"])):
        detail = "" if cell["status"] == "certified" else f"  [{cell.get('stage') or '-'}] {cell.get('reason') or ''}"
        print(f"  {cell['library']:22s} {cell['task']:32s} {cell['column']:17s} {cell['status']}{detail}")
    return 0 if certified else 1


if __name__ == "__main__":
    sys.exit(main())
