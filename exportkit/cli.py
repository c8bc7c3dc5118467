"""Command line: ``exportkit export onnx``, ``exportkit tasks``, ``exportkit support``."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .errors import (
    EXIT_BAD_INPUT,
    EXIT_EXPORT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NO,
    EXIT_OK,
    EXIT_VALIDATION_FAILED,
    ExportError,
    ExportKitError,
    RegistryError,
    ValidationError,
)
from .layout import DEFAULT_LAYOUT, LAYOUTS

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


LIBRARIES = ("transformers", "timm", "diffusers", "sentence_transformers")


def _library(value: str) -> str:
    normalized = value.replace("-", "_")
    if normalized not in LIBRARIES:
        raise argparse.ArgumentTypeError(f"{value!r} is not a library; choose from {', '.join(LIBRARIES)}")
    return normalized


def _output_dir(value: str) -> Path:
    if not value.strip():  # Path("") would mean the current directory
        raise argparse.ArgumentTypeError("the output directory is empty: name a directory to write into")
    return Path(value)


def _output_file(value: str) -> Path:
    path = Path(value)
    if not value.strip() or path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} is not a file name")
    return path


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also: EXPORTKIT_DEBUG=1)")
    parser = argparse.ArgumentParser(prog="exportkit", description=__doc__, parents=[common],
                                     epilog="exit status: 0 done, 1 answered no, 2 bad input, 3 export failed, "
                                            "4 validation failed, 70 internal error, 130 interrupted")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    export = commands.add_parser("export", help="export a model from a local directory")
    backends = export.add_subparsers(dest="backend", required=True, metavar="BACKEND")
    onnx = backends.add_parser(
        "onnx", help="export to ONNX", parents=[common],
        description="Export a model from a local directory to ONNX, then validate it against PyTorch with ONNX "
        "Runtime on input sizes different from the export's. OUTDIR changes only once the export has validated.")
    onnx.add_argument("output", type=_output_dir, metavar="OUTDIR",
                      help="directory to write the ONNX file(s) into: created, or an empty one, or a non-empty "
                           "one with --overwrite; replaced as a whole only after validation")
    onnx.add_argument("-m", "--model", required=True, help="local model directory (no download is ever attempted)")
    onnx.add_argument("--task", default="auto",
                      help="task to export for (default: inferred from the model); '-with-past' adds a KV cache")
    onnx.add_argument("--library", "--library-name", dest="library", type=_library, metavar="LIBRARY",
                      help=f"library the model belongs to: {', '.join(LIBRARIES)} (default: inferred from the "
                           "directory)")
    onnx.add_argument("--opset", type=int, help="ONNX opset (default: the config's DEFAULT_ONNX_OPSET; the dynamo "
                                                "engine writes 18 and newer)")
    onnx.add_argument("--engine", choices=["dynamo", "torchscript"], default=None,
                      help="torch exporter: dynamo (torch.export) or torchscript (tracing); default: of the engines "
                           "the shipped support matrix certifies for the model type and task, the faster (dynamo "
                           "where it certifies none)")
    onnx.add_argument("--atol", type=float, help="absolute tolerance of validation, >= 0 (default: the config's)")
    onnx.add_argument("--device", default="cpu", help="device to export on: cpu or cuda (default cpu)")
    onnx.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default="fp32",
                      help="dtype of the model weights for export (default fp32; fp16 with the dynamo engine "
                           "only; bf16 is refused: ONNX Runtime cannot validate it)")
    onnx.add_argument("--overwrite", action="store_true",
                      help="replace a non-empty OUTDIR as a whole (after the new export validated)")
    onnx.add_argument("--layout", choices=list(LAYOUTS), default=DEFAULT_LAYOUT,
                      help="how OUTDIR is laid out, and so what loads it: " + "; ".join(
                          f"{name}: {layout.loads}" for name, layout in LAYOUTS.items())
                      + f" (default {DEFAULT_LAYOUT}). Either way OUTDIR also carries the model directory's config, "
                        "tokenizer and processor files")
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
    onnx.add_argument("--allow-pickle", action="store_true",
                      help="read pickled weights (pytorch_model.bin, ...) where no safetensors exist, with torch's "
                           "weights-only unpickler")
    onnx.add_argument("--allow-random-weights", action="store_true",
                      help="export even when weights the export reads are missing from the checkpoint or of "
                           "another size (they are random)")
    onnx.add_argument("--seed", type=int, default=0, help="seed of the dummy inputs, >= 0 (default 0)")
    for flag, (_, text) in SHAPE_FLAGS.items():
        onnx.add_argument(f"--{flag}", f"--{flag.replace('-', '_')}", dest=flag.replace("-", "_"), type=int,
                          help=text + " (default: the config's export size)")

    certify = commands.add_parser(
        "certify", help="certify a local checkpoint with the checks the support matrix's cells pass",
        parents=[common],
        description="Export a local checkpoint with each engine and check it as the certifier checks a matrix "
                    "cell: the export's checks, then ONNX Runtime against PyTorch on boundary and drawn input "
                    "sizes and paddings over every declared axis; a failure is shrunk to its minimal shape. "
                    "Writes the certificates as JSON. Exit status 0 when every engine certified, 1 otherwise.")
    certify.add_argument("model", metavar="MODEL_DIR", help="local model directory")
    certify.add_argument("--task", default="auto", help="task to certify (default: inferred from the model)")
    certify.add_argument("--library", type=_library, metavar="LIBRARY",
                         help=f"library the model belongs to: {', '.join(LIBRARIES)} (default: inferred)")
    certify.add_argument("--engine", choices=["dynamo", "torchscript", "all"], default="all",
                         help="engine(s) to certify (default: all)")
    certify.add_argument("--out", type=_output_file, default=Path("certificates.json"),
                         help="file to write the certificates to, with a page of them beside it (.html) "
                              "(default: ./certificates.json)")
    certify.add_argument("--hypothesis-profile", choices=["ci", "thorough"], default="ci",
                         help="ci: 8 drawn examples, the same on every run; thorough: 60 (default ci)")
    certify.add_argument("--seed", type=int, default=0, help="seed of inputs and draws, >= 0 (default 0)")
    certify.add_argument("--example-budget", type=int, default=None,
                         help="elements of all inputs of one example; larger draws are shrunk to it (default 2**20)")
    certify.add_argument("--trust-remote-code", action="store_true",
                         help="allow a local model directory's own modelling code to run")
    certify.add_argument("--allow-pickle", action="store_true", help="read pickled weights (see export onnx)")
    certify.add_argument("--allow-random-weights", action="store_true",
                         help="certify even when weights the export reads did not load (see export onnx)")

    tasks = commands.add_parser("tasks", help="list the tasks a model type can be exported for", parents=[common])
    tasks.add_argument("model_type", help="model type, e.g. bert, gpt2, vae-decoder")
    tasks.add_argument("--exporter", default="onnx", help="exporter (default onnx)")
    tasks.add_argument("--library", type=_library, metavar="LIBRARY", help="only this library's registry")

    support = commands.add_parser(
        "support", help="is a model type certified? (answers from the support matrix shipped with exportkit)",
        parents=[common])
    support.add_argument("model_type", metavar="MODEL_TYPE_OR_DIR",
                         help="model type (e.g. bert), or a local model directory to read it from")
    support.add_argument("--matrix", type=Path, help="a support-matrix.json to read instead of the shipped one")
    support.add_argument("--library", type=_library, metavar="LIBRARY", help="only this library")
    support.add_argument("--json", action="store_true", help="print the matching cells as JSON")
    return parser


class BadRequestError(ExportKitError):
    """Arguments that cannot work together or with this model (found before anything is loaded or written)."""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # a usage error exits 2 here, with argparse's message
    command = {"export": export_onnx, "certify": certify_directory, "tasks": list_tasks, "support": support}[
        args.command]
    debug = args.debug or os.environ.get("EXPORTKIT_DEBUG", "") not in ("", "0")
    _log_to_stderr()
    with _sigterm_as_interrupt():
        try:
            return command(args)
        except KeyboardInterrupt:
            if debug:
                raise
            print("exportkit: interrupted; nothing was changed", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as error:
            if debug:
                raise
            status, message = explain(error)
            print(f"exportkit: error: {one_line(message)}", file=sys.stderr)
            return status


def explain(error: Exception) -> tuple[int, str]:
    """The exit status and message of an error: bad input, a failed export or validation, or a defect."""
    if isinstance(error, ValidationError):
        return EXIT_VALIDATION_FAILED, f"the export does not reproduce the model: {error}"
    if isinstance(error, ExportError):
        return EXIT_EXPORT_FAILED, f"the export failed: {error}"
    if isinstance(error, RegistryError):
        return EXIT_INTERNAL, f"internal error: {error}"
    if isinstance(error, ExportKitError):
        return EXIT_BAD_INPUT, str(error)
    if isinstance(error, MemoryError):
        return EXIT_EXPORT_FAILED, "the export ran out of memory"
    if isinstance(error, OSError):  # a full disk, a file that vanished: the request was fine
        return EXIT_EXPORT_FAILED, f"{error.strerror or error}{f': {error.filename}' if error.filename else ''}"
    return EXIT_INTERNAL, (f"internal error: {type(error).__name__}: {error} (rerun with --debug for the traceback, "
                           "and report it)")


def one_line(message: object, limit: int = 600) -> str:
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM unwinds like Ctrl-C, so staging folders are removed on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _log_to_stderr() -> None:
    """exportkit's notes (what a checkpoint lacked but the export does not read) go beside the progress."""
    logger = logging.getLogger("exportkit")
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("  note: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


class _StderrHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)  # whatever sys.stderr is now


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def check_export_arguments(args) -> None:
    """Refuse a request that cannot work before anything is loaded or written."""
    import torch

    from .exporters.onnx.convert import check_opset
    from .support_matrix import engines_for

    if args.engine is not None and args.opset is not None:
        check_opset(args.opset, args.engine)
    if args.engine is None and args.opset is not None and not engines_for(opset=args.opset, dtype=args.dtype):
        check_opset(args.opset, "dynamo")  # no engine writes it: the error names what each engine writes
    if args.atol is not None and not (math.isfinite(args.atol) and args.atol >= 0):
        raise BadRequestError(f"--atol must be a finite number >= 0, not {args.atol}")
    if args.seed < 0:
        raise BadRequestError(f"--seed must be >= 0, not {args.seed}")
    for flag, (keyword, _) in SHAPE_FLAGS.items():
        value = getattr(args, flag.replace("-", "_"))
        least = 0 if keyword == "past_sequence_length" else 1
        if value is not None and value < least:
            raise BadRequestError(f"--{flag} must be >= {least}, not {value}")
    try:
        device = torch.device(args.device)
    except (RuntimeError, ValueError):
        raise BadRequestError(f"--device {args.device!r} is not a device: use cpu or cuda") from None
    if device.type not in ("cpu", "cuda"):
        raise BadRequestError(f"--device {args.device!r}: exportkit exports on cpu or cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BadRequestError("--device cuda: no CUDA device is available here; use --device cpu")
    if args.dtype == "bf16":
        raise BadRequestError("--dtype bf16 is refused: ONNX Runtime has no bf16 kernels for most operators (not "
                              "even Add), so the export could not be validated; export fp32 and convert the weights "
                              "afterwards")
    if args.dtype == "fp16" and args.engine == "torchscript":
        raise BadRequestError("--dtype fp16 needs --engine dynamo: the TorchScript exporter gives fp16 models "
                              "LayerNormalization nodes of mixed float types, which ONNX rejects")


def check_shape_flags(shapes: dict[str, int], parts: dict, what: str) -> None:
    """Every size flag given applies to some part of the export and lies inside its axis bounds."""
    flags = {keyword: flag for flag, (keyword, _) in SHAPE_FLAGS.items()}
    axes = [axis for part in parts.values() for axis in part.axes.values()]
    accepted = {axis.shape_kwarg for axis in axes} | {axis.name for axis in axes}
    for keyword, value in shapes.items():
        if keyword not in accepted:
            usable = sorted(f"--{flags[k]}" for k in accepted if k in flags)
            raise BadRequestError(f"--{flags[keyword]} does not apply to a {what} export; its sizes are "
                                  f"{', '.join(usable) or 'fixed'}")
        for axis in axes:
            if keyword in (axis.shape_kwarg, axis.name) and not axis.accepts(value):
                bounds = f"[{axis.min}, {axis.max if axis.max is not None else 'unbounded'}]"
                step = f" in steps of {axis.multiple_of}" if axis.multiple_of > 1 else ""
                raise BadRequestError(f"--{flags[keyword]} {value} is outside what a {what} export accepts: "
                                      f"{bounds}{step}")


def export_onnx(args) -> int:
    from .exporters.onnx import validate_model_outputs
    from .exporters.onnx.convert import export_parts
    from .layout import arrange, copy_runtime_files, get_layout
    from .loading import _local_dir, infer_library, infer_model_type_from_dir, infer_task, load_model, model_config
    from .outdir import StagedDirectory, check_destination, remove_stale
    from .support_matrix import choose_engine, engines_for
    from .task_names import Task
    from .tasks import TasksManager, normalize_model_type

    check_export_arguments(args)
    existing = "replace" if args.overwrite else "refuse"
    check_destination(args.output, existing)
    remove_stale(args.output)
    model_dir = _local_dir(args.model)
    library = args.library or infer_library(model_dir)
    layout = get_layout(args.layout)
    inferred = args.task == "auto"
    task = layout.task_for(infer_task(model_dir) if inferred else args.task, inferred=inferred)
    model_type = infer_model_type_from_dir(model_dir, library)
    # an unsupported task is refused before anything is loaded
    TasksManager.get_exporter_config_constructor("onnx", task=task, model_type=model_type, library_name=library)
    if args.engine is None:
        choice = choose_engine(library, normalize_model_type(model_type), str(Task.parse(task)),
                               allowed=engines_for(opset=args.opset, dtype=args.dtype))
        args.engine = choice.engine
        _progress(f"engine: {choice.engine}: {choice.reason} (--engine chooses another)")

    _progress(f"loading {args.model} ({library} {model_type}, task {task})")
    dtype = {"fp32": None, "fp16": "float16"}[args.dtype]
    model = load_model(model_dir, task=task, library=library, trust_remote_code=args.trust_remote_code,
                       device=args.device, dtype=dtype, allow_pickle=args.allow_pickle,
                       allow_random_weights=args.allow_random_weights)
    constructor = TasksManager.get_exporter_config_constructor(
        "onnx", model=model, task=task, library_name=library, exporter_config_kwargs={"float_dtype": args.dtype})
    config = constructor(model_config(model))
    shapes = {keyword: getattr(args, flag.replace("-", "_")) for flag, (keyword, _) in SHAPE_FLAGS.items()
              if getattr(args, flag.replace("-", "_")) is not None}
    parts = layout.parts(config, args.monolith)
    check_shape_flags(shapes, parts, f"{model_type} {task}")

    _progress(f"exporting with the {args.engine} engine: {', '.join(parts)}")
    tic = time.perf_counter()
    with StagedDirectory(args.output, existing=existing) as staged:
        results = export_parts(model, config, staged.path, parts=parts, opset=args.opset, device=args.device,
                               input_shapes=shapes, engine=args.engine, do_constant_folding=not args.no_constant_folding,
                               seed=args.seed, keep_debug_metadata=args.keep_debug_metadata)
        # Laid out before validation, so that what is validated is what OUTDIR will hold.
        arrange(layout, staged.path, results, parts, dtype=args.dtype)
        for stem, result in results.items():
            _progress(f"  {result.path.relative_to(staged.path).as_posix()} ({result.artefact_bytes / 1e6:.1f} MB, "
                      f"opset {result.opset}, {result.export_seconds:.1f} s)")
        copied = copy_runtime_files(model_dir, staged.path, library)
        _progress(f"exported in {time.perf_counter() - tic:.1f} s, laid out for {layout.name}; copied from "
                  f"{args.model}: {', '.join(copied) or 'nothing (no config or tokenizer files)'}")
        if args.validate:
            for stem, part in parts.items():
                # sizes other than the export's, then every axis at its minimum (batch 1, empty cache)
                for sizes in (part.validation_dims(), part.smallest_dims()):
                    report = validate_model_outputs(part, model, results[stem].path, atol=args.atol,
                                                    input_shapes=sizes, device=args.device)
                    worst = max(report.outputs.values(), key=lambda c: c.max_abs_diff, default=None)
                    shown = (f"max abs diff {worst.max_abs_diff:.3g} (atol {worst.atol:g})" if worst
                             else "no outputs compared")
                    _progress(f"  validated {stem} on {report.dims}: {shown}")
        staged.commit()
    print(args.output)
    return EXIT_OK


def certify_directory(args) -> int:
    from conformance.local import certify_directory, local_cases
    from conformance.strategies import DEFAULT_EXAMPLE_BUDGET

    if args.seed < 0:
        raise BadRequestError(f"--seed must be >= 0, not {args.seed}")
    if args.example_budget is not None and args.example_budget < 1:
        raise BadRequestError(f"--example-budget must be >= 1, not {args.example_budget}")
    if args.out.exists() and not args.out.is_file():
        raise BadRequestError(f"--out {args.out} exists and is not a regular file")
    if args.out.suffix == ".html":
        raise BadRequestError(f"--out {args.out}: name the JSON file; the page is written beside it as .html")
    engines = ("dynamo", "torchscript") if args.engine == "all" else (args.engine,)
    cases = local_cases(args.model, None if args.task == "auto" else args.task, args.library, engines)
    _progress(f"loading {args.model} ({cases[0].library} {cases[0].model_type}, task {cases[0].task})")
    records = certify_directory(
        args.model, cases, profile=args.hypothesis_profile, seed=args.seed,
        example_budget=args.example_budget or DEFAULT_EXAMPLE_BUDGET, progress=_progress,
        load_options={"trust_remote_code": args.trust_remote_code, "allow_pickle": args.allow_pickle,
                      "allow_random_weights": args.allow_random_weights})
    from reports import build_matrix, render_html
    from reports.matrix import _atomic_write, printable

    # the certificates, and a page of their cells in the support matrix's style beside them
    page = args.out.with_suffix(".html")
    matrix = build_matrix(records, versions=records[0]["versions"], profile=args.hypothesis_profile, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(args.out, json.dumps(records, indent=2, default=str) + "\n")
    _atomic_write(page, render_html(matrix))
    for record in records:
        for line in certificate_summary(record).splitlines():
            print(printable(line))
    print(args.out)
    print(page)
    return EXIT_OK if all(record["status"] == "certified" for record in records) else EXIT_NO


def certificate_summary(record: dict) -> str:
    """A certificate in a few lines: what was compared, and where it failed."""
    masks = ", ".join(f"{kind} {count}" for kind, count in record["masks"].items()) or "none"
    outputs = ", ".join(f"{name} {o['max_abs_diff'] if o['max_abs_diff'] is not None else 'inf':.3g} "
                        f"(atol {o['atol']:g})" if o["max_abs_diff"] is not None else f"{name} not finite"
                        for name, o in record["outputs"].items()) or "none"
    sizes: dict[str, list[int]] = {}
    for shown in record["shapes_tried"]:
        for axis, size in shown.items():
            if isinstance(size, int) and not isinstance(size, bool):
                sizes.setdefault(axis, []).append(size)
    ranges = ", ".join(f"{axis} {min(seen)}-{max(seen)}" for axis, seen in sizes.items()) or "none"
    lines = [f"{record['model_type']} {record['task']} [{record['column']}]: {record['status']}",
             f"  examples {record['examples']}; sizes {ranges}; masks {masks}",
             f"  outputs (worst max abs diff): {outputs}"]
    if record["status"] != "certified":
        lines.append(f"  stage {record['stage']}: {record['reason']}")
        if record.get("minimal_failing_shape"):
            lines.append(f"  minimal failing shape: {json.dumps(record['minimal_failing_shape'])}")
        lines.append(f"  reproduce: {record['reproduce']}")
    return "\n".join(lines)


def list_tasks(args) -> int:
    from .tasks import TasksManager

    supported = TasksManager.get_supported_tasks_for_model_type(args.model_type, args.exporter, library_name=args.library)
    entries = TasksManager.list_registrations(library=args.library, model_type=args.model_type, exporter=args.exporter)
    libraries: dict[str, list[str]] = {}
    for entry in entries:
        libraries.setdefault(str(entry.task), []).append(entry.library)
    for task in sorted(supported):
        print(f"{task:40s} {', '.join(libraries.get(task, []))}")
    return EXIT_OK


def support(args) -> int:
    from reports.matrix import printable

    from .support_matrix import MatrixError, read_matrix, version_drift
    from .task_names import did_you_mean
    from .tasks import normalize_model_type

    try:
        matrix = read_matrix(args.matrix)
    except MatrixError as error:
        raise BadRequestError(str(error)) from None
    wanted, library = args.model_type, args.library
    if Path(wanted).is_dir():  # a local model directory: its library and model type
        from .loading import infer_library, infer_model_type_from_dir

        library = library or infer_library(wanted)
        wanted = infer_model_type_from_dir(wanted, library)
    model_type = normalize_model_type(wanted)
    of_type = [cell for cell in matrix["cells"] if cell["model_type"] == model_type]
    cells = [cell for cell in of_type if not library or cell["library"] == library]
    if not cells:
        if of_type:
            libraries = sorted({cell["library"] for cell in of_type})
            message = f"{wanted!r} has no cells for library {library!r}; it has cells for {', '.join(libraries)}"
        else:
            known = sorted({cell["model_type"] for cell in matrix["cells"]})
            message = f"{wanted!r} is not in the support matrix{did_you_mean(model_type, known)}"
        print(f"exportkit: {printable(message)}", file=sys.stderr)
        return EXIT_NO
    drift = version_drift(matrix)
    if drift:
        verb = "differs" if len(drift) == 1 else "differ"
        print(f"exportkit: warning: the installed {printable(', '.join(drift))} {verb} from what the matrix "
              "certified", file=sys.stderr)
    if args.json:
        print(json.dumps(cells, indent=2))  # JSON escapes control characters itself
        return EXIT_OK
    certified = [cell for cell in cells if cell["status"] == "certified"]
    versions = matrix.get("versions") or {}
    print(printable(f"{model_type}: {len(certified)} of {len(cells)} cells certified (matrix of "
                    f"{matrix.get('generated_at', '?')}; torch {versions.get('torch', '?')}, "
                    f"transformers {versions.get('transformers', '?')})"))
    for cell in sorted(cells, key=lambda c: (c["library"], c["task"], c["column"])):
        detail = "" if cell["status"] == "certified" else f"  [{cell.get('stage') or '-'}] {cell.get('reason') or ''}"
        print(printable(f"  {cell['library']:22s} {cell['task']:32s} {cell['column']:17s} {cell['status']}{detail}"))
    return EXIT_OK if certified else EXIT_NO


if __name__ == "__main__":
    sys.exit(main())
