"""What an export directory holds, and where, so that a runtime loads it as it is.

Two layouts, each a :class:`Layout` in :data:`LAYOUTS`:

- ``optimum``: the graphs beside the config and tokenizer files, named as optimum's ONNX
  Runtime model classes look for them: ``model.onnx``, or ``encoder_model.onnx``,
  ``decoder_model.onnx`` and ``decoder_with_past_model.onnx`` for an encoder-decoder.
- ``transformers.js``: the graphs under ``onnx/``, named as transformers.js 4 looks for them
  (``onnx/model.onnx``; ``onnx/encoder_model.onnx`` and ``onnx/decoder_model_merged.onnx``
  for an encoder-decoder; ``_fp16`` before ``.onnx`` for fp16 weights), the config and
  tokenizer files at the root.

Which files of the source directory a runtime reads is data (:data:`RUNTIME_FILES` and the
tuples it is made of): they are copied as they are, only those the source has, and never a
weights file (:data:`NEVER_COPIED`).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import ExportError, ExportKitError
from .task_names import Task

# ---- which files of a model directory belong to a runtime directory ----------------------------

CONFIG_FILES = ("config.json", "generation_config.json")
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.txt", "vocab.json", "target_vocab.json", "merges.txt",
    "*.model",  # sentencepiece: spiece.model, tokenizer.model, sentencepiece.bpe.model
    "*.spm",  # Marian's source.spm / target.spm
    "chat_template.jinja", "chat_template.json", "additional_chat_templates/*.jinja",
)
# Feature extractors and image processors both save preprocessor_config.json.
PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json")
RUNTIME_FILES = CONFIG_FILES + TOKENIZER_FILES + PROCESSOR_FILES

SENTENCE_TRANSFORMERS_FILES = ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json")
# In each module folder modules.json names (1_Pooling, 2_Dense, an older 0_Transformer): its
# configuration and, for a transformer kept in a subfolder, its tokenizer; never its weights.
SENTENCE_TRANSFORMERS_MODULE_FILES = RUNTIME_FILES + ("sentence_bert_config.json",)

# Never copied, whatever the globs above match: weights, and graphs of an earlier export.
NEVER_COPIED = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.h5", "*.msgpack", "*.npz",
                "*.index.json", "*.onnx", "*.onnx_data", "*.onnx.data")


def runtime_files(source: str | os.PathLike, library: str = "transformers") -> list[str]:
    """The files of ``source`` a runtime reads beside the graphs, as sorted relative POSIX paths."""
    root = Path(source)
    found = _matching(root, root, RUNTIME_FILES)
    if library.replace("-", "_") == "sentence_transformers":
        found |= _matching(root, root, SENTENCE_TRANSFORMERS_FILES)
        for folder in _module_folders(root):
            found |= _matching(root, folder, SENTENCE_TRANSFORMERS_MODULE_FILES)
    return sorted(found)


def _matching(root: Path, folder: Path, patterns: tuple[str, ...]) -> set[str]:
    names = set()
    for pattern in patterns:
        for path in folder.glob(pattern):
            relative = path.relative_to(root).as_posix()
            # is_file() follows links (a hub cache's snapshot files are links) and refuses FIFOs
            if path.is_file() and not any(fnmatch.fnmatch(path.name, never) for never in NEVER_COPIED):
                names.add(relative)
    return names


def _module_folders(root: Path) -> list[Path]:
    """The sentence-transformers module folders modules.json names, inside ``root`` only."""
    try:
        modules = json.loads((root / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # loading the model already judged modules.json
    folders = []
    inside = root.resolve()
    for module in modules if isinstance(modules, list) else []:
        path = module.get("path") if isinstance(module, dict) else None
        if isinstance(path, str) and path:
            folder = (root / path).resolve()
            if folder.is_dir() and folder != inside and inside in folder.parents:
                folders.append(root / path)
    return folders


def copy_runtime_files(source: str | os.PathLike | None, directory: str | os.PathLike,
                       library: str = "transformers") -> list[str]:
    """Copy :func:`runtime_files` of ``source`` into ``directory`` (none without a source); returns them."""
    if source is None:
        return []
    copied = runtime_files(source, library)
    for relative in copied:
        target = Path(directory) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(source) / relative, target)  # contents only: the new files follow the umask
    return copied


# ---- layouts ---------------------------------------------------------------------------------

class LayoutError(ExportKitError):
    """A task or option the chosen layout's runtime cannot use (found before anything is loaded or written)."""


@dataclass(frozen=True)
class Layout:
    name: str
    folder: str  # where the graphs go, relative to the output directory ("" beside the config)
    dtype_suffixes: Mapping[str, str]  # --dtype -> what goes before ".onnx"
    # Tasks whose runtime generates token by token, feeding back one token: without a KV cache
    # it would see only that token.
    needs_cache: frozenset[str]
    # True: one decoder graph that takes its self-attention cache (empty on the first step)
    # and computes cross-attention itself; False: decoder_model + decoder_with_past_model.
    one_seq2seq_decoder: bool
    # Task inferred from the model directory -> the task exported for this runtime.
    default_tasks: Mapping[str, str]
    loads: str  # one line for the help: what loads this layout

    def task_for(self, task: str, inferred: bool) -> str:
        """The task to export: an inferred one as this runtime uses it; a given one is checked."""
        if inferred:
            task = self.default_tasks.get(str(Task.parse(task)), task)
        parsed = Task.parse(task)
        if parsed.name in self.needs_cache and not parsed.with_past:
            raise LayoutError(f"--layout {self.name} generates {parsed.name} with a KV cache, feeding back one "
                              f"token per step: export with --task {parsed.name}-with-past")
        return task

    def parts(self, config: Any, monolith: bool = False) -> dict[str, Any]:
        """The graphs to export, by the file stem this layout names them with."""
        split = config.submodels()
        if monolith:
            if self.one_seq2seq_decoder and len(split) > 1:
                raise LayoutError(f"--monolith cannot be used with --layout {self.name}: it loads an "
                                  "encoder-decoder as encoder_model and decoder_model_merged")
            return {"model": config}
        if self.one_seq2seq_decoder and "decoder_model" in split:
            if "decoder_with_past_model" not in split:
                raise LayoutError(f"--layout {self.name} runs an encoder-decoder's decoder with its KV cache: "
                                  "export with a '-with-past' task")
            decoder = config.with_behavior("decoder", use_past=True, use_past_in_inputs=True,
                                           cross_attention_past=False)
            return {"encoder_model": split["encoder_model"], "decoder_model_merged": decoder}
        return split

    def file_name(self, stem: str, dtype: str = "fp32") -> str:
        """Where the graph ``stem`` goes, relative to the output directory."""
        if dtype not in self.dtype_suffixes:
            raise LayoutError(f"--layout {self.name} names no {dtype} graphs; export fp32 or fp16")
        name = f"{stem}{self.dtype_suffixes[dtype]}.onnx"
        return f"{self.folder}/{name}" if self.folder else name


LAYOUTS: dict[str, Layout] = {
    "optimum": Layout(
        name="optimum", folder="", dtype_suffixes={"fp32": "", "fp16": ""}, needs_cache=frozenset(),
        one_seq2seq_decoder=False, default_tasks={},
        loads="optimum's ORTModel classes, or onnxruntime"),
    "transformers.js": Layout(
        name="transformers.js", folder="onnx", dtype_suffixes={"fp32": "", "fp16": "_fp16"},
        needs_cache=frozenset({"text-generation", "text2text-generation"}), one_seq2seq_decoder=True,
        default_tasks={
            "text-generation": "text-generation-with-past",
            "text2text-generation": "text2text-generation-with-past",
            # its feature-extraction pipeline pools token embeddings itself
            "sentence-similarity": "feature-extraction",
        },
        loads="@huggingface/transformers 4 (from_pretrained / pipeline with env.localModelPath)"),
}
DEFAULT_LAYOUT = "optimum"


def get_layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise LayoutError(f"unknown layout {name!r}; choose from {', '.join(LAYOUTS)}") from None


# ---- the graphs, named and placed --------------------------------------------------------------

# What the runtimes call a seq2seq decoder's inputs: optimum's names, which transformers.js uses too.
SEQ2SEQ_DECODER_INPUTS = {"decoder_input_ids": "input_ids", "encoder_outputs": "encoder_hidden_states"}


def graph_input_names(part: Any) -> Mapping[str, str]:
    """exportkit's input names -> the names a laid-out graph of ``part`` gives them."""
    return SEQ2SEQ_DECODER_INPUTS if getattr(part, "behavior", None) == "decoder" else {}


def arrange(layout: Layout, directory: str | os.PathLike, results: Mapping[str, Any], parts: Mapping[str, Any],
            dtype: str = "fp32") -> dict[str, Path]:
    """Move each exported graph of ``directory`` (and its external data) to its layout name, with the
    runtime's input names; ``results[stem].path`` follows. Returns stem -> the graph's new path."""
    directory = Path(directory)
    placed = {}
    for stem, result in results.items():
        source = Path(result.path)
        target = directory / layout.file_name(stem, dtype)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target != source:
            # external data keeps its file name: the graph records it
            data = [p for p in source.parent.iterdir() if p.name.startswith(source.name) and p != source]
            os.replace(source, target)
            for path in data:
                os.replace(path, target.parent / path.name)
        renames = graph_input_names(parts[stem])
        if renames:
            rename_graph_inputs(target, renames)
        result.path = target
        placed[stem] = target
    return placed


def rename_graph_inputs(path: Path, names: Mapping[str, str]) -> None:
    """Rename graph inputs (and their uses, in subgraphs too) in the ONNX file ``path``."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    renames = {value.name: names[value.name] for value in model.graph.input if value.name in names}
    if not renames:
        return
    taken = {value.name for value in [*model.graph.input, *model.graph.output]} | {
        name for node in _all_nodes(model.graph) for name in node.output} | {
        tensor.name for tensor in model.graph.initializer}
    clashes = sorted(new for new in renames.values() if new in taken)
    graph_outputs = sorted(value.name for value in model.graph.output if value.name in renames)
    if clashes or graph_outputs:
        raise ExportError(f"{path.name}: cannot rename inputs {sorted(renames)} (names taken: "
                          f"{clashes or graph_outputs})", stage="layout")
    for value in model.graph.input:
        value.name = renames.get(value.name, value.name)
    for node in _all_nodes(model.graph):
        node.input[:] = [renames.get(name, name) for name in node.input]
    onnx.save(model, str(path))
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as error:
        raise ExportError(f"{path.name} after renaming its inputs: {type(error).__name__}: {error}",
                          stage="layout") from error


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            for subgraph in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
                yield from _all_nodes(subgraph)
