"""Every (model type, task) a transformers Auto class backs: its export config, derived.

The modules beside this one declare the families whose export needs more than transformers
says. For every other pair that an Auto class of one of exportkit's tasks maps, the export
config is derived when it is built from a model config (``AutoOnnxConfig(config, task=...)``);
the pairs of the model types in ``REGISTERED_MODEL_TYPES`` are registered, and certified:

* the task's model class, from the Auto mapping (imported only then);
* its ``main_input_name`` and forward signature: text, image or audio, encoder, decoder or
  encoder-decoder, and which of the middle-end config's inputs it takes;
* the model config, read through its own ``attribute_map`` (and its text sub-config for a
  composite model): sizes, position table, cache geometry.

What transformers does not say is declared per model type in the ``DECLARED`` row of its
family module (``decoders``, ``encoders``, ``vision``, ...), only where the derivation is not enough:
config class attributes, a middle-end to start from (``base``), inputs the middle-end does not
know (``extra_inputs``: name -> axes, each taken where the task's forward names it), inputs
its forward names but never reads (``ignored_inputs``), and the kind of a vision model's features
where its config misleads (``features``: ``"tokens"`` or ``"maps"``).
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
from typing import Any, ClassVar

from ....errors import ExportKitError
from ....normalized_config import (
    NormalizedAnyTextConfig,
    NormalizedAnyVisionConfig,
    NormalizedConfig,
    NormalizedTextAndVisionConfig,
    NormalizedVideoConfig,
)
from ....task_names import Task
from ....tasks import normalize_model_type, register_derived
from ....transformers_auto import TRANSFORMERS_AUTO_CLASSES, auto_mapping, auto_pairs, backing_auto_class
from ..base import CACHE_NAMES, with_cache_keyword
from ..config import (
    AUDIO_OUTPUTS,
    TEXT_ENCODER_OUTPUTS,
    AudioCodecOnnxConfig,
    AudioOnnxConfig,
    SpectrogramOnnxConfig,
    SpeechSeq2SeqOnnxConfig,
    TextAndVisionOnnxConfig,
    TextDecoderOnnxConfig,
    TextEncoderOnnxConfig,
    PatchGridVisionOnnxConfig,
    TimeSeriesOnnxConfig,
    TextSeq2SeqOnnxConfig,
    VisionOnnxConfig,
)
from ..interleaved import (
    AudioLanguageOnnxConfig,
    InterleavedOnnxConfig,
    PatchGridVisionLanguageOnnxConfig,
    VisionLanguageOnnxConfig,
)
from .vision import VideoOnnxConfig

# Tasks whose export can carry a KV cache, registered with "-with-past" too, for the Auto classes
# that generate token by token: a speech encoder-decoder's recognition has a cache, a CTC head none.
CACHE_TASKS: dict[str, tuple[str, ...]] = {
    "text-generation": ("AutoModelForCausalLM",),
    "text2text-generation": ("AutoModelForSeq2SeqLM",),
    "automatic-speech-recognition": ("AutoModelForSpeechSeq2Seq",),
}

# Outputs by task of a model whose main input is an image (None: a size the model decides).
VISION_OUTPUTS: dict[str, dict[str, tuple]] = {
    "feature-extraction": {"last_hidden_state": ("batch_size", None, None)},
    "image-classification": {"logits": ("batch_size", None)},
    "object-detection": {"logits": ("batch_size", None, None), "pred_boxes": ("batch_size", None, None)},
    "semantic-segmentation": {"logits": ("batch_size", None, None, None)},
    # per query: class logits, a box, and a mask at a fraction of the image size
    "image-segmentation": {"logits": ("batch_size", None, None), "pred_boxes": ("batch_size", None, None),
                           "pred_masks": ("batch_size", None, None, None)},
    "depth-estimation": {"predicted_depth": ("batch_size", None, None)},
    "masked-im": {"reconstruction": ("batch_size", None, None, None)},
    "image-to-image": {"reconstruction": ("batch_size", None, None, None)},
}

def _has_attention_outputs(model_cls: type) -> bool:
    """Whether ``model_cls`` can return attention weights (``attentions``, DETR's
    ``encoder_attentions``, ...): a transformer, not a convolutional network."""
    return any(name.endswith("attentions") for name in output_fields(model_cls))


def _vision_outputs(model_type: str, task: str, model_cls: type, features: str | None = None) -> dict[str, tuple]:
    """A convolutional backbone's features are maps (batch, channels, height, width); a vision
    transformer's are token sequences. transformers configs of the former list stage widths, or
    their outputs carry no attention weights; a family the rule misjudges declares ``features``
    (a hierarchical transformer listing stage widths: ``"tokens"``; a transformer returning maps,
    ViTDet's or Swin2SR's: ``"maps"``)."""
    from transformers import CONFIG_MAPPING

    if task != "feature-extraction":
        return VISION_OUTPUTS[task]
    if features is None:
        key = model_type if model_type in CONFIG_MAPPING else model_type.replace("-", "_")
        maps = key in CONFIG_MAPPING and (
            "hidden_sizes" in CONFIG_MAPPING[key]().to_dict() or not _has_attention_outputs(model_cls))
        features = "maps" if maps else "tokens"
    if features not in ("tokens", "maps"):
        raise ExportKitError(f"{model_type!r}: declared features must be 'tokens' or 'maps', not {features!r}")
    return {"last_hidden_state": ("batch_size", None, None, None)} if features == "maps" else VISION_OUTPUTS[task]


# Tasks an encoder-decoder text model exports as encoder and decoder graphs.
SEQ2SEQ_TASKS = ("feature-extraction", "text2text-generation")
# Tasks a model taking text and images exports as one graph over both.
TEXT_AND_VISION_TASKS = ("feature-extraction", "zero-shot-image-classification")

TEXT_AND_VISION_OUTPUTS = {
    "logits_per_image": ("image_batch_size", "text_batch_size"),
    "logits_per_text": ("text_batch_size", "image_batch_size"),
    "text_embeds": ("text_batch_size", None),
    "image_embeds": ("image_batch_size", None),
}

def declared_facts(model_type: str) -> dict[str, Any]:
    """What the derivation cannot know about ``model_type``: config class attributes to set (a
    tolerance, padding sides, a middle-end to use instead as ``base``, ...). Each family module
    beside this one declares its model types' rows in its ``DECLARED``."""
    from . import FAMILIES

    model_type = normalize_model_type(model_type)
    found = [module.DECLARED[model_type] for module in FAMILIES if model_type in getattr(module, "DECLARED", {})]
    if len(found) > 1:
        raise ExportKitError(f"{model_type!r} is declared by more than one family module")
    return dict(found[0]) if found else {}


class DerivedConfigError(ExportKitError):
    """No export config can be derived for this model type and task."""


def _named_inputs(model_cls: type) -> list:
    """The parameters of ``model_cls.forward`` that name an input (not self, not ``**kwargs``)."""
    return [p for p in inspect.signature(model_cls.forward).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"]


def forward_parameters(model_cls: type) -> set[str]:
    """The inputs ``model_cls.forward`` names. Its ``**kwargs`` (attention options in transformers 5)
    are not inputs: a model that does not name an input does not read it."""
    return {p.name for p in _named_inputs(model_cls)}


def required_parameters(model_cls: type) -> set[str]:
    """The inputs ``model_cls.forward`` cannot be called without (no default)."""
    return {p.name for p in _named_inputs(model_cls) if p.default is p.empty}


def takes_kwargs(model_cls: type) -> bool:
    """Whether ``model_cls.forward`` takes ``**kwargs`` (passed on to its base model in transformers 5)."""
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(model_cls.forward).parameters.values())


def is_causal_family(model_type: str) -> bool:
    """A decoder-only family: a causal LM, neither a masked LM nor an encoder-decoder model."""
    causal, masked = auto_mapping("AutoModelForCausalLM"), auto_mapping("AutoModelForMaskedLM")
    seq2seq = auto_mapping("AutoModelForSeq2SeqLM")
    return model_type in causal and model_type not in masked and model_type not in seq2seq


def counts_positions_from_padding(model_cls: type) -> bool:
    """RoBERTa and its kin number positions from after the padding id: the table holds that many fewer."""
    module = sys.modules.get(model_cls.__module__)
    return any(inspect.isclass(value) and hasattr(value, "create_position_ids_from_input_ids")
               for value in vars(module).values()) if module else False


class AutoOnnxConfig:
    """Registered for every derived pair, and the root of every derived config class.

    Built directly (as the registry does), it builds the config derived for the model
    config's type and the task instead. A derived class adds to its middle-end the model class
    it was derived from, and a call that passes the model only the inputs its forward takes.
    """

    EXPORTER = "onnx"
    SUPPORTS_PAST = True  # the registered root: "-with-past" is registered only for CACHE_TASKS
    MODEL_CLASS: ClassVar[type | None] = None
    FORWARD_PARAMETERS: ClassVar[frozenset[str]] = frozenset()
    FORWARD_TAKES_KWARGS: ClassVar[bool] = False
    COUNTS_POSITIONS_FROM_PADDING: ClassVar[bool] = False

    def __new__(cls, config: Any = None, task: str = "feature-extraction", **kwargs: Any):
        if cls is not AutoOnnxConfig:
            return super().__new__(cls)
        model_type = getattr(config, "model_type", None)
        if not model_type:
            raise DerivedConfigError(f"{type(config).__name__} names no model_type to derive an export config from")
        task_name = Task.parse(task).name
        if backing_auto_class(model_type, task_name) is None:
            # the text config of a multimodal model, which its Auto classes build their text model
            # from (Emu3's causal LM): derived as the model type whose text config it is
            model_type = next((parent for parent in text_config_parents(type(config))
                               if backing_auto_class(parent, task_name)), model_type)
        derived = cls.derive(model_type, task, use_past=kwargs.get("use_past", False))
        try:
            return derived(config, task=task, **kwargs)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            # a config that lacks what the derived middle-end reads (no attention heads in a
            # state-space model, per-layer sizes, ...): the derivation does not fit it
            raise DerivedConfigError(f"{model_type!r}: {derived.__name__} does not fit its config: "
                                     f"{type(error).__name__}: {error}") from error

    @staticmethod
    def derive(model_type: str, task: str, use_past: bool = False) -> type:
        """The config class derived for ``model_type`` and ``task``, or DerivedConfigError saying why
        there is none (known before any model is built)."""
        derived = derived_config_class(model_type, Task.parse(task).name)
        if use_past and not derived.SUPPORTS_PAST:
            raise DerivedConfigError(f"{model_type!r}: {derived.__name__} exports {Task.parse(task).name!r} "
                                     f"without a KV cache: its middle-end ({derived.__mro__[2].__name__}) has none")
        if use_past and not derived.FORWARD_PARAMETERS & set(CACHE_NAMES):
            raise DerivedConfigError(f"{model_type!r}: {derived.MODEL_CLASS.__name__}.forward takes no cache "
                                     f"(neither of {', '.join(CACHE_NAMES)}): no export with past key values")
        return derived

    @classmethod
    def supported_task_names(cls) -> set[str]:
        if cls is AutoOnnxConfig:
            return set(TRANSFORMERS_AUTO_CLASSES)
        return super().supported_task_names()

    def model_kwargs(self, inputs):
        kwargs = with_cache_keyword(super().model_kwargs(inputs), self.FORWARD_PARAMETERS)
        # use_cache=False reaches the base model through a head's **kwargs (the question-answering
        # heads name no use_cache): else the base model makes a cache, and a sliding-window cache
        # branches on the sequence length
        passed = self.FORWARD_PARAMETERS | ({"use_cache"} if self.FORWARD_TAKES_KWARGS else set())
        return {name: value for name, value in kwargs.items() if name in passed}

    @property
    def input_specs(self):
        specs = super().input_specs
        if getattr(self._config, "type_vocab_size", 1) == 0:  # named by forward, but no token-type table
            specs.pop("token_type_ids", None)
        return specs

    def reserved_positions(self) -> int:
        if not self.COUNTS_POSITIONS_FROM_PADDING:
            return super().reserved_positions()
        return (getattr(self._config, "pad_token_id", None) or 0) + 1


# Main inputs of audio models, and the tasks a speech encoder-decoder exports as encoder and decoder graphs.
AUDIO_INPUTS = ("input_values", "input_features")
SPEECH_SEQ2SEQ_TASKS = ("feature-extraction", "automatic-speech-recognition")


def decoder_takes_encoder_mask(model_cls: type) -> bool:
    """Whether the decoder module of ``model_cls``'s family (``<Family>Decoder`` in its modelling
    module) masks the encoder frames it cross-attends to."""
    module = sys.modules.get(model_cls.__module__)
    decoders = [value for name, value in vars(module).items()
                if inspect.isclass(value) and name.endswith("Decoder") and hasattr(value, "forward")
                and "encoder_hidden_states" in forward_parameters(value)] if module else []
    return any("encoder_attention_mask" in forward_parameters(decoder) for decoder in decoders)


# What an audio codec's forward returns that an export gives: codes, latents, the reconstruction.
CODEC_OUTPUT_FIELDS = ("audio_codes", "latents", "quantized_representation", "projected_latents", "audio_values")


def output_fields(model_cls: type) -> set[str]:
    """The fields of the output class ``model_cls.forward`` is annotated to return."""
    import dataclasses
    import typing

    try:
        returned = typing.get_type_hints(model_cls.forward).get("return")
    except Exception:  # annotations naming what this transformers cannot resolve
        return set()
    classes = [returned, *typing.get_args(returned)]
    return {field.name for cls in classes if dataclasses.is_dataclass(cls) for field in dataclasses.fields(cls)}


def codec_outputs(model_cls: type) -> tuple[str, ...]:
    """The codec outputs among the fields of its output class (none for a model that is not a codec)."""
    fields = output_fields(model_cls)
    return tuple(name for name in CODEC_OUTPUT_FIELDS if name in fields)


def _speech_seq2seq_config(base: type, model_cls: type, parameters: set[str]) -> dict[str, Any]:
    decoder_inputs = dict(base.DECODER_INPUTS)
    if not decoder_takes_encoder_mask(model_cls):
        decoder_inputs.pop("encoder_attention_mask", None)
    return {"ENCODER_INPUTS": _filtered(base.ENCODER_INPUTS, parameters), "DECODER_INPUTS": decoder_inputs}


def _filtered(inputs: dict[str, tuple], parameters: set[str]) -> dict[str, tuple]:
    return {name: axes for name, axes in inputs.items() if name in parameters}


def _text_config(base: type, task: str, parameters: set[str], extra_inputs: dict[str, tuple]) -> dict[str, Any]:
    attrs: dict[str, Any] = {"NORMALIZED_CONFIG_CLASS": NormalizedAnyTextConfig}
    if issubclass(base, TextSeq2SeqOnnxConfig):
        attrs["ENCODER_INPUTS"] = _filtered({**base.ENCODER_INPUTS, **extra_inputs}, parameters)
        return attrs
    attrs["INPUTS"] = _filtered({**base.INPUTS, **extra_inputs}, parameters)
    if task in TEXT_ENCODER_OUTPUTS and task not in base._TASK_TO_OUTPUTS:
        attrs["_TASK_TO_OUTPUTS"] = {**base._TASK_TO_OUTPUTS, task: TEXT_ENCODER_OUTPUTS[task]}
    return attrs


# What a model's forward may take instead of the main input its class names (transformers'
# default, "input_ids", stands in a vision tower that takes only pixels).
MAIN_INPUTS = ("input_ids", "pixel_values", "input_values", "input_features")


def main_input(model_cls: type, parameters: set[str]) -> str | None:
    """The main input of ``model_cls``: the one its class names, unless its forward does not
    take that and takes exactly one of ``MAIN_INPUTS``."""
    main = getattr(model_cls, "main_input_name", None)
    if not isinstance(main, str) or main in parameters:  # OneFormer names a list
        return main
    taken = [name for name in MAIN_INPUTS if name in parameters]
    return taken[0] if len(taken) == 1 else main


# The total stride assumed for a vision model whose config names no image size (ResNet-like backbones').
SIZE_FREE_STRIDE = 32


def default_config_has(model_type: str, name: str, normalized: type = NormalizedAnyVisionConfig) -> bool | None:
    """Whether ``model_type``'s default config has ``name`` where ``normalized`` reads it (by
    default: the config or its vision sub-config); None where there is no default config to read."""
    from transformers import CONFIG_MAPPING

    key = model_type if model_type in CONFIG_MAPPING else model_type.replace("-", "_")
    if key not in CONFIG_MAPPING:
        return None
    try:
        return normalized(CONFIG_MAPPING[key]()).has(name)
    except Exception:  # noqa: BLE001  transformers refuses its own default config for a few types
        return None


def names_image_size(model_type: str, normalized: type = NormalizedAnyVisionConfig) -> bool:
    """Whether ``model_type``'s default config names an image size (nothing to read: the
    normalized config says later what is missing)."""
    return default_config_has(model_type, "image_size", normalized) is not False


@functools.cache
def text_config_parents(config_cls: type) -> tuple[str, ...]:
    """The model types whose config holds ``config_cls`` as its text config."""
    from transformers import CONFIG_MAPPING

    return tuple(model_type for model_type, parent in CONFIG_MAPPING.items()
                 if getattr(parent, "sub_configs", {}).get("text_config") is config_cls)


def interleaves(model_cls: type, parameters: set[str], task: str) -> str | None:
    """What a model taking text with images or audio merges into its token sequence ("image",
    "audio"; None if it does not): a vision-language or audio-language model, whose placeholder
    tokens stand where the image or audio features go. A dual encoder, which embeds text and
    images apart and compares them (CLIP's ``logits_per_image``), does not."""
    if "pixel_values" in parameters and task in TEXT_AND_VISION_TASKS:
        fields = output_fields(model_cls)
        return "image" if fields and "logits_per_image" not in fields else None
    if parameters & set(AUDIO_INPUTS) and task != "text-generation":  # a decoder generates from text alone
        return None if "logits_per_audio" in output_fields(model_cls) else "audio"
    return None


def _tower_takes(model_cls: type, method: str):
    """The model class's ``method`` (``get_image_features``), as a signature holder for
    :func:`forward_parameters`; None if the class has none. A head that passes its arguments on
    to its base model's (``*args, **kwargs``) is read through the class of its modelling module
    that names them."""
    found = getattr(model_cls, method, None)
    if found is None:
        return None
    holder = types.SimpleNamespace(forward=found)
    if _named_inputs(holder):
        return holder
    module = sys.modules.get(model_cls.__module__)
    for value in vars(module).values() if module else ():
        own = vars(value).get(method) if inspect.isclass(value) else None
        if own is not None and _named_inputs(types.SimpleNamespace(forward=own)):
            return types.SimpleNamespace(forward=own)
    return holder


def vision_language_gap(model_type: str, model_cls: type, parameters: set[str]) -> str | None:
    """What keeps a vision-language model from :class:`VisionLanguageOnnxConfig`'s graphs (None:
    nothing): its vision tower must make the placeholders' features from the pixels of images of
    its config's one size, and its language model must take token vectors."""
    if "inputs_embeds" not in parameters:
        return "its forward takes no inputs_embeds to run the language model on"
    tower = _tower_takes(model_cls, "get_image_features")
    if tower is None:
        return "it has no get_image_features to make the placeholders' features with"
    # the sizes are the pixels' own; a patch grid, the export's constant
    needed = required_parameters(tower) - {"pixel_values", "image_sizes", "image_grid_thw"}
    if needed:
        return f"its get_image_features needs {', '.join(sorted(needed))} besides the pixels"
    if "image_grid_thw" in forward_parameters(tower):
        return None if default_config_has(model_type, "vision_config.patch_size", NormalizedConfig) else (
            "its vision tower reads patch grids, and its vision config names no patch size")
    if not names_image_size(model_type, VisionLanguageOnnxConfig.NORMALIZED_CONFIG_CLASS):
        return "its vision config names no image size (its vision tower reads patch grids of any size)"
    if default_config_has(model_type, "image_grid_pinpoints", NormalizedConfig):
        return "its vision tower tiles each image into crops on a grid its size picks (image_grid_pinpoints)"
    return None


def audio_language_gap(model_type: str, model_cls: type, parameters: set[str]) -> str | None:
    """What keeps an audio-language model from :class:`AudioLanguageOnnxConfig`'s graphs (None:
    nothing): its audio tower must make the placeholders' features from log-mel frames (and
    their mask), and its language model must take token vectors."""
    if "inputs_embeds" not in parameters:
        return "its forward takes no inputs_embeds to run the language model on"
    tower = _tower_takes(model_cls, "get_audio_features")
    if tower is None:
        return "it has no get_audio_features to make the placeholders' features with"
    needed = required_parameters(tower) - set(AudioLanguageOnnxConfig.TOWER_INPUTS)
    if needed:
        return f"its get_audio_features needs {', '.join(sorted(needed))} besides log-mel frames and their mask"
    if "input_features" not in forward_parameters(tower):
        return "its audio tower takes raw audio, not log-mel frames"
    if default_config_has(model_type, "num_mel_bins", AudioLanguageOnnxConfig.NORMALIZED_CONFIG_CLASS) is False:
        return "its audio config names no number of mel bins"
    return None


def _patch_grid_config(model_type: str, class_name: str, model_cls: type) -> dict[str, Any]:
    """A patch-grid vision tower's attributes: the name its forward gives the patches; or
    DerivedConfigError where it needs more than the patches and their grid."""
    required = [p.name for p in _named_inputs(model_cls) if p.default is p.empty]
    others = [name for name in required if name != "grid_thw"]
    if len(others) != 1:
        raise DerivedConfigError(f"{model_type!r}: {class_name} reads patches on a grid and needs "
                                 f"{', '.join(others)} besides the grid: no middle-end config exports it yet")
    return {"PIXELS_ARGUMENT": others[0]}


# Tasks whose model interleaves a tower's features with text, exported as InterleavedOnnxConfig's
# graphs, by what the tower reads (a vision-language model's generation is not one of exportkit's tasks).
INTERLEAVED_TASKS = {
    "image": ("feature-extraction",),
    "audio": ("feature-extraction", "text2text-generation", "automatic-speech-recognition"),
}


def interleaved_config(model_type: str, class_name: str, model_cls: type, parameters: set[str],
                       modality: str, task: str) -> tuple[type, dict[str, Any]]:
    """The middle-end of a model that merges a tower's features into its tokens, and the
    attributes it sets; DerivedConfigError saying what keeps it out where it does not fit."""
    gap_of, base = ((vision_language_gap, VisionLanguageOnnxConfig) if modality == "image"
                    else (audio_language_gap, AudioLanguageOnnxConfig))
    gap = gap_of(model_type, model_cls, parameters) if task in INTERLEAVED_TASKS[modality] else (
        f"exportkit exports no {task!r} for it")
    if gap:
        raise DerivedConfigError(f"{model_type!r}: {class_name} takes text and {modality} together into one "
                                 f"model, and {gap}: no middle-end config exports it yet")
    attrs: dict[str, Any] = {}
    if modality == "image" and "image_grid_thw" in forward_parameters(_tower_takes(model_cls, "get_image_features")):
        base = PatchGridVisionLanguageOnnxConfig
        # a model that computes M-RoPE positions from the ids and grids before its language model
        attrs["MULTIMODAL_POSITIONS"] = hasattr(model_cls, "get_rope_index")
    if modality == "audio":
        attrs["TOWER_TAKES"] = frozenset(forward_parameters(_tower_takes(model_cls, "get_audio_features"))
                                         & set(base.TOWER_INPUTS))
    return base, attrs


@functools.cache
def derived_config_class(model_type: str, task: str) -> type:
    """The export config class of ``model_type`` for ``task``, derived as the module doc says."""
    import transformers

    found = backing_auto_class(model_type, task)
    if found is None:
        raise DerivedConfigError(f"no transformers Auto class maps {model_type!r} for task {task!r}")
    auto_class, class_name = found
    try:
        model_cls = getattr(transformers, class_name, None)
        if model_cls is None:
            raise DerivedConfigError(f"transformers {transformers.__version__} has no class {class_name} "
                                     f"(its {auto_class} maps {model_type!r} to it)")
        parameters = forward_parameters(model_cls) - set(declared_facts(model_type).get("ignored_inputs", ()))
    except ImportError as error:  # a class that needs a package exportkit does not install
        raise DerivedConfigError(f"{model_type!r}: {class_name} cannot be imported here: "
                                 f"{str(error).strip().splitlines()[0]}") from error
    main = main_input(model_cls, parameters)
    declared = declared_facts(model_type)
    base = declared.pop("base", None)
    extra_inputs = declared.pop("extra_inputs", {})
    declared.pop("ignored_inputs", None)  # left out of the parameters above
    features = declared.pop("features", None)
    attrs: dict[str, Any] = {}
    if base is None and task == "feature-extraction" and "grid_thw" in parameters:
        base, attrs = PatchGridVisionOnnxConfig, _patch_grid_config(model_type, class_name, model_cls)
    elif base is None and isinstance(main, str) and main not in parameters:
        raise DerivedConfigError(f"{model_type!r}: {class_name}.forward does not take its main input {main!r} "
                                 f"(it takes {', '.join(sorted(parameters)) or 'nothing'}): no middle-end "
                                 "config exports it yet")
    modality = interleaves(model_cls, parameters, task) if base is None and main == "input_ids" else None
    if modality:
        base, tower_attrs = interleaved_config(model_type, class_name, model_cls, parameters, modality, task)
        attrs.update(tower_attrs)  # its graphs' inputs and outputs are its own (one set per graph)
    elif base is PatchGridVisionOnnxConfig:
        pass  # its input and output are its own
    elif main == "input_ids" and task in TEXT_AND_VISION_TASKS and "pixel_values" in parameters:
        base = base or TextAndVisionOnnxConfig
        attrs["_TASK_TO_OUTPUTS"] = {task: TEXT_AND_VISION_OUTPUTS}
    elif main == "input_ids":
        if base is None:
            if task == "text-generation" or (task not in ("text2text-generation", "multiple-choice")
                                             and "decoder_input_ids" not in parameters
                                             and is_causal_family(model_type)):
                base = TextDecoderOnnxConfig
            elif task in SEQ2SEQ_TASKS and "decoder_input_ids" in parameters:
                base = TextSeq2SeqOnnxConfig
            else:
                # an encoder, or an encoder-decoder's classifier / extractive head, which makes
                # its decoder inputs from the encoder's: one graph over the encoder's inputs
                base = TextEncoderOnnxConfig
        attrs.update(_text_config(base, task, parameters, extra_inputs))
        if task == "feature-extraction" and {"last_hidden_state", "pooler_output"} & output_fields(model_cls) == {
                "pooler_output"}:
            # a retrieval encoder (DPR) returns one pooled vector per sequence, not per-token states
            attrs["_TASK_TO_OUTPUTS"] = {task: {"pooler_output": ("batch_size", None)}}
        # an encoder-decoder's sequence classifier reads each row at its end-of-sequence token
        attrs["EOS_ENDS_EACH_ROW"] = task == "text-classification" and "decoder_input_ids" in parameters
        attrs["COUNTS_POSITIONS_FROM_PADDING"] = counts_positions_from_padding(model_cls)
    elif main == "pixel_values" and task in VISION_OUTPUTS:
        base = base or VisionOnnxConfig
        attrs["NORMALIZED_CONFIG_CLASS"] = NormalizedAnyVisionConfig
        if not names_image_size(model_type):
            # a convnet or a detector over a backbone: any image size, at the common backbone stride
            attrs.update(DYNAMIC_IMAGE_SIZE=True, TOTAL_STRIDE=SIZE_FREE_STRIDE)
        attrs["_TASK_TO_OUTPUTS"] = {task: _vision_outputs(model_type, task, model_cls, features)}
    elif main == "past_values" and task == "feature-extraction":
        base = base or TimeSeriesOnnxConfig
    elif main == "pixel_values_videos" and task in VISION_OUTPUTS:
        # a clip of the config's frame count and size, under the name video-language families give it
        if base is None and default_config_has(model_type, "image_size", NormalizedVideoConfig) is False:
            raise DerivedConfigError(f"{model_type!r}: {class_name} takes clips of frames of any size (its config "
                                     "names no frame size): no middle-end config exports that yet")
        base = base or VideoOnnxConfig
        attrs.update(NORMALIZED_CONFIG_CLASS=NormalizedVideoConfig,
                     INPUTS={main: VideoOnnxConfig.INPUTS["pixel_values"]},
                     _TASK_TO_OUTPUTS={task: _vision_outputs(model_type, task, model_cls, features)})
    elif main in AUDIO_INPUTS and task in SPEECH_SEQ2SEQ_TASKS and "decoder_input_ids" in parameters:
        base = base or SpeechSeq2SeqOnnxConfig
        attrs.update(_speech_seq2seq_config(base, model_cls, parameters), RAW_AUDIO=main == "input_values")
    elif main == "input_values" and task == "feature-extraction" and codec_outputs(model_cls):
        base = base or AudioCodecOnnxConfig
        attrs["CODEC_OUTPUTS"] = codec_outputs(model_cls)
    elif main == "input_values" and task in AUDIO_OUTPUTS and not (base and issubclass(base, SpectrogramOnnxConfig)):
        base = base or AudioOnnxConfig
        attrs["_TASK_TO_OUTPUTS"] = {task: AUDIO_OUTPUTS[task]}
    elif main in AUDIO_INPUTS and task in AUDIO_OUTPUTS:
        # log-mel features, under either name (the Audio Spectrogram Transformer's are input_values)
        base = base or SpectrogramOnnxConfig
        attrs["INPUTS"] = _filtered(base.INPUTS, parameters)
        outputs = base._TASK_TO_OUTPUTS[task]
        if task == "feature-extraction" and {"last_hidden_state", "logits"} & output_fields(model_cls) == {"logits"}:
            # AutoModel maps some CTC families to their CTC model: its features are the frame logits
            outputs = base._TASK_TO_OUTPUTS["automatic-speech-recognition"]
        attrs["_TASK_TO_OUTPUTS"] = {task: outputs}
    elif base is None:
        raise DerivedConfigError(f"{model_type!r}: {class_name} takes {main!r} as its main input for {task!r}: "
                                 "no middle-end config exports that yet (declare one in its family's DECLARED)")
    if issubclass(base, TextAndVisionOnnxConfig):
        attrs.setdefault("NORMALIZED_CONFIG_CLASS", NormalizedTextAndVisionConfig)
    made = {*attrs.get("INPUTS", base.INPUTS), *attrs.get("ENCODER_INPUTS", getattr(base, "ENCODER_INPUTS", {})),
            *extra_inputs}
    if issubclass(base, InterleavedOnnxConfig):  # the merged vectors stand for the ids and the tower's inputs
        made |= {"input_ids", *base.TEXT_INPUTS, *base.TOWER_INPUTS}
    if base is PatchGridVisionOnnxConfig:  # the patches under the forward's name, and their grid
        made |= {attrs["PIXELS_ARGUMENT"], "grid_thw"}
    unmade = required_parameters(model_cls) - made
    if unmade:
        raise DerivedConfigError(f"{model_type!r}: {class_name}.forward requires {', '.join(sorted(unmade))}, "
                                 f"which {base.__name__} does not make: declare the inputs in its family's DECLARED")
    attrs.update(MODEL_CLASS=model_cls, FORWARD_PARAMETERS=frozenset(parameters),
                 FORWARD_TAKES_KWARGS=takes_kwargs(model_cls),
                 SUPPORTS_PAST=base.SUPPORTS_PAST, __module__=__name__,
                 __doc__=f"Derived from {class_name} ({auto_class}).", **declared)
    return type(f"{class_name}OnnxConfig", (AutoOnnxConfig, base), attrs)


# The model types whose Auto-backed pairs are registered so far (each has every task its Auto
# classes back). Coverage grows by adding types here, each step with its certified matrix,
# until it is every type the Auto classes map; the declared families' other tasks join the same
# way. A pair that cannot be certified stays registered, and its family declares why
# (conformance/zoo/families/): nothing is left out to make the matrix greener.
REGISTERED_MODEL_TYPES = frozenset({
    # the declared families' other tasks
    "albert", "bert", "camembert", "clip", "deit", "distilbert", "electra", "gpt2", "hubert", "llama",
    "mistral", "qwen2", "resnet", "roberta", "t5", "vit", "wav2vec2", "xlm-roberta",
    # encoders
    "deberta", "deberta-v2", "ernie", "mobilebert", "modernbert", "mpnet", "roformer",
    # BERT-likes, some with a causal LM head
    "big_bird", "data2vec-text", "megatron-bert", "rembert", "roberta-prelayernorm", "roc_bert", "xlm",
    "xlm-roberta-xl", "xmod", "convbert", "flaubert", "fnet", "funnel", "ibert", "longformer", "luke", "mra",
    "nystromformer", "squeezebert", "yoso", "canine", "esm", "eurobert", "nomic_bert", "gte", "layoutlm",
    "lilt", "markuplm", "splinter", "dpr",
    "jina_embeddings_v3", "reformer", "ultrabert", "esmc", "ultravbert", "modernvbert", "perceiver", "tapas",
    "bert-generation", "bros", "neomme", "openai_privacy_filter",
    # decoders: grouped-query, sliding-window and hybrid caches, mixtures of experts, latent attention
    "bloom", "cohere", "deepseek_v3", "exaone4", "falcon", "gemma", "gemma2", "gemma3_text", "gpt_neox",
    "gptj", "granite", "granitemoe", "gpt_oss", "mixtral", "olmo2", "opt", "phi", "phi3", "qwen2_moe",
    "qwen3", "qwen3_moe", "smollm3", "stablelm", "starcoder2",
    "xlnet", "arcee", "diffllama", "gpt_neo", "ministral", "mpt", "nemotron", "seed_oss", "biogpt", "glm", "glm4",
    "gpt_bigcode", "helium", "persimmon", "apertus", "ctrl", "hunyuan_v1_dense", "jetmoe", "olmo", "olmo3",
    "openai-gpt", "phimoe", "codegen", "cohere2", "dbrx", "ernie4_5", "exaone", "internlm3", "olmoe", "xglm",
    "vaultgemma", "bitnet", "granitemoeshared", "doge",
    "minimax", "ministral3", "qwen3_next", "axk1", "axk2", "gpt-sw3", "qwen3_5", "qwen3_5_text", "beam",
    "cohere_compass_text", "deepseek_v2", "gemma3", "hunyuan_v1_moe", "jamba", "minicpm3", "mistral4",
    "modernbert-decoder", "zamba", "zamba2", "afmoe", "apertus1p5_text", "aria_text", "bailing_hybrid", "bamba",
    "blt", "cohere2_moe", "cpmant", "cwm", "deepseek_v32", "deepseek_v4", "dory", "dots1", "dots3_note_text",
    "emu3", "ernie4_5_moe", "exaone_moe", "falcon_h1", "falcon_mamba", "flex_olmo", "flint", "gemma3n_text",
    "gemma4_text", "gemma4_unified_text", "glm4_moe", "glm4_moe_lite", "glm_moe_dsa", "gpt_neox_japanese",
    "granite_swa", "granitemoe_swa", "granitemoehybrid", "hrm_text", "hy_v3", "hy_v4", "hyperclovax",
    "inkling2_loop_text", "inkling2_text", "inkling_text", "iquestcoder", "jais2", "kimi_linear", "kolibri1",
    "laguna", "lara_mini", "lfm2", "lfm2_moe", "lfm3", "llama4_text", "longcat_flash", "mamba", "mamba2",
    "mellum", "mimo_v2_flash", "minimax_m2", "minimax_m3_vl_text", "nanochat", "nemotron_h", "olmo_hybrid",
    "qwen3_5_moe_text", "qwen4_exp_text", "recurrent_gemma", "rwkv", "sarvam_mla", "sarvam_moe", "solar_open",
    "xlstm", "youtu", "zaya", "trocr",
    # encoder-decoders, text and speech
    "bart", "blenderbot", "m2m_100", "marian", "mbart", "mt5", "pegasus", "whisper",
    "umt5", "led", "blenderbot-small", "fsmt", "longt5", "pegasus_x", "switch_transformers", "mvp", "plbart",
    "speech_to_text", "moonshine",
    "bigbird_pegasus", "t5gemma", "t5gemma2", "prophetnet", "nllb-moe", "encoder-decoder",
    # vision and vision-language
    "beit", "convnext", "detr", "dinov2", "dpt", "efficientnet", "mobilevit", "regnet", "segformer",
    "siglip", "siglip2", "swin", "swinv2", "yolos",
    "data2vec-vision", "focalnet", "mobilenet_v2", "mobilevitv2", "bit", "convnextv2", "cvt", "dinov2_with_registers",
    "donut-swin", "glpn", "hiera", "ijepa", "levit", "mobilenet_v1", "poolformer", "pvt", "pvt_v2", "swiftformer",
    "vit_msn", "vit_mae", "depth_anything", "conditional_detr", "table-transformer",
    "d_fine", "dab-detr", "deformable_detr", "deimv2", "dinat", "hgnet_v2", "imagegpt", "lw_detr", "rt_detr",
    "rt_detr_v2", "swin2sr", "textnet", "align", "altclip", "chinese_clip", "metaclip_2", "owlvit", "owlv2",
    "aimv2_vision_model", "clip_text_model", "clip_vision_model", "siglip_vision_model", "siglip2_vision_model",
    "dinov3_vit", "dinov3_convnext", "vitdet", "upernet", "zoedepth", "pp_lcnet", "mlcd", "mlcd_vision_model",
    "pixtral", "timm_wrapper",
    # audio
    "data2vec-audio", "wavlm", "unispeech-sat", "wav2vec2-conformer", "sew", "sew-d", "unispeech", "wav2vec2-bert",
    "audio-spectrogram-transformer",
    # the rest of the Auto-mapped types: vision-language and audio-language models, vision and
    # audio towers, codecs, segmentation, time series
    "aimv2", "apertus1p5", "aria", "audioflamingo3", "audioflamingo3_encoder", "autoformer", "aya_vision",
    "bark", "blip", "blip-2", "blip_2_qformer", "bridgetower", "canary", "chameleon",
    "chinese_clip_vision_model", "chmv2", "clap", "clipseg", "clvp", "cohere2_vision", "cohere_asr",
    "cohere_compass", "cohere_compass_vision", "cosmos3_edge", "cosmos3_edge_text", "cosmos3_edge_vision",
    "cosmos3_omni", "csm", "dac", "decision_transformer", "deepseek_ocr2", "deepseek_vl", "deepseek_vl_hybrid",
    "depth_pro", "dia", "diffusion_gemma", "dots3_note", "edgetam", "edgetam_video", "edgetam_vision_model",
    "efficientloftr", "embedding_gemma2", "embedding_gemma2_text", "encodec", "eomt", "eomt_dinov3",
    "ernie4_5_vl_moe", "evolla", "exaone4_5", "exaone4_5_vision", "fast_vlm", "fastspeech2_conformer",
    "fastspeech2_conformer_with_hifigan", "flava", "florence2", "fun_asr_nano", "fun_asr_nano_encoder", "fuyu",
    "gemma3n", "gemma3n_audio", "gemma3n_vision", "gemma4", "gemma4_assistant", "gemma4_audio",
    "gemma4_unified", "gemma4_unified_assistant", "gemma4_vision", "git", "glm46v", "glm4v", "glm4v_moe",
    "glm4v_moe_text", "glm4v_moe_vision", "glm4v_text", "glm4v_vision", "glm5_next", "glm5_next_text",
    "glm5_next_vision", "glm_image", "glm_image_text", "glm_image_vision", "glm_image_vqmodel", "glm_ocr",
    "glm_ocr_text", "glm_ocr_vision", "glmasr", "glmasr_encoder", "glmga", "got_ocr2", "gradium_phonon_tts",
    "granite4_vision", "granite_docling", "granite_docling_text", "granite_docling_vision", "granite_speech",
    "granite_speech5_ctc", "granite_speech5_encoder", "granite_speech_plus", "grounding-dino", "groupvit",
    "higgs_audio_v2", "higgs_audio_v2_tokenizer", "hunyuan_vl", "hunyuan_vl_text", "hunyuan_vl_vision",
    "hy_v4_vl", "hy_v4_vl_text", "hy_v4_vl_vision", "hyperclovax_vision_v2", "idefics", "idefics2", "idefics3",
    "idefics3_vision", "informer", "inkling2", "inkling2_loop", "inkling2_vision", "inkling_mm_model",
    "instructblip", "instructblipvideo", "internvl", "internvl_vision", "janus", "kimi_k25", "kimi_k25_vision",
    "kosmos-2", "kosmos-2.5", "kyutai_speech_to_text", "lasr_ctc", "lasr_encoder", "layoutlmv2", "layoutlmv3",
    "lfm2_vl", "lfm3_vl", "lfm3_vl_vision", "lightglue", "lighton_ocr", "llama4", "llava", "llava_next",
    "llava_next_video", "llava_onevision", "lxmert", "mask2former", "maskformer", "maskformer-swin", "mgp-str",
    "mimi", "mimi_decoder", "mimi_encoder", "minicpm_ocr", "minicpm_ocr_vision", "minicpmv4_6", "minicpmv4_7",
    "minicpmv4_7_vision", "minimax_m3_vl", "mistral3", "mistral_large4", "mistral_large4_text", "mllama",
    "mm-grounding-dino", "molmo2", "molmo2_text", "moonshine_streaming", "moshi", "moss_transcribe_diarize",
    "moss_transcribe_diarize_audio", "muse_glimmer", "muse_glimmer_assistant", "muse_glimmer_text",
    "muse_glimmer_vision", "muse_spark", "muse_spark_audio", "muse_spark_text", "muse_spark_vision",
    "musicflamingo", "musicgen", "musicgen_melody", "nemo_speechlm", "nemotron3_5_asr",
    "nemotron3_5_transcribe_asr_audio", "nemotron3_5_transcribe_audio", "nemotron3_5_transcribe_word_timestamp",
    "nemotron3_diarization", "nemotron3_diarization_audio", "nemotron_asr_streaming",
    "nemotron_asr_streaming_encoder", "neucodec", "omdet-turbo", "omniasr", "omniasr_audio", "omniasr_ctc",
    "oneformer", "ovis2", "paddleocr_vl", "paligemma", "parakeet_ctc", "parakeet_encoder", "parakeet_rnnt",
    "parakeet_tdt", "patchtsmixer", "patchtst", "pe_audio", "pe_audio_encoder", "pe_audio_video",
    "pe_audio_video_encoder", "pe_video", "pe_video_encoder", "perception_lm", "phi4_multimodal", "pi0",
    "pixio", "pocket_tts", "pocket_tts_audio_tokenizer", "pocket_tts_audio_tokenizer_decoder",
    "pocket_tts_audio_tokenizer_encoder", "pop2piano", "pp_doclayout_v2", "pp_doclayout_v3", "pp_doclayout_v4",
    "pp_ocrv5_mobile_det", "pp_ocrv5_mobile_rec", "pp_ocrv5_server_det", "pp_ocrv5_server_rec",
    "pp_ocrv6_medium_det", "pp_ocrv6_small_det", "pp_ocrv6_small_rec", "pp_ocrv6_tiny_rec",
    "prompt_depth_anything", "qianfan_ocr", "qianfan_ocr_vision", "qwen2_5_omni_thinker", "qwen2_5_vl",
    "qwen2_5_vl_text", "qwen2_5_vl_vision", "qwen2_audio", "qwen2_audio_encoder", "qwen2_vl", "qwen2_vl_text",
    "qwen3_5_moe", "qwen3_5_moe_vision", "qwen3_5_vision", "qwen3_asr", "qwen3_asr_encoder",
    "qwen3_omni_moe_thinker", "qwen3_vl", "qwen3_vl_moe", "qwen3_vl_moe_text", "qwen3_vl_moe_vision",
    "qwen3_vl_text", "qwen3_vl_vision", "qwen4_exp", "qwen4_exp_vision", "radio", "rf_detr", "sam", "sam2",
    "sam2_hiera_det_model", "sam2_video", "sam2_vision_model", "sam3", "sam3_lite_text",
    "sam3_lite_text_text_model", "sam3_tracker", "sam3_tracker_video", "sam3_video", "sam3_vision_model",
    "sam3_vit_model", "sam_hq", "sam_hq_vision_model", "sam_vision_model", "sapiens2", "seamless_m4t",
    "seamless_m4t_v2", "seggpt", "shieldgemma2", "smolvlm", "smolvlm_vision", "speech-encoder-decoder",
    "speecht5", "step3p7", "t5gemma2_encoder", "time_series_transformer", "timesfm", "timesfm2_5",
    "timesformer", "timm_backbone", "tipsv2", "tipsv2_dpt", "tipsv2_text_model", "tipsv2_vision_model", "tvp",
    "udop", "univnet", "unlimited_ocr", "uvdoc", "vibevoice", "vibevoice_acoustic_tokenizer",
    "vibevoice_acoustic_tokenizer_decoder", "vibevoice_acoustic_tokenizer_encoder", "vibevoice_asr",
    "video_llama_3", "video_llama_3_vision", "video_llava", "videomae", "videomt", "videoprism",
    "videoprism_vision_model", "vilt", "vipllava", "vision-text-dual-encoder", "visual_bert", "vits", "vivit",
    "vjepa2", "voxtral", "voxtral_encoder", "voxtral_realtime", "voxtral_realtime_encoder",
    "voxtral_realtime_text", "wavtokenizer", "wavtokenizer_encoder", "xclip", "xcodec", "xcodec2",
})


def register_auto_pairs() -> int:
    """Register the Auto-backed pairs of ``REGISTERED_MODEL_TYPES`` that no family declares; the count added."""
    registered = {normalize_model_type(t) for t in REGISTERED_MODEL_TYPES}
    added = 0
    for model_type, task, auto_class, _ in auto_pairs():
        if normalize_model_type(model_type) not in registered:
            continue
        # one origin per Auto class: the sample certifies each derivation path once
        origin = f"{__name__.replace('.', '/')}.py (derived through {auto_class})"
        tasks = (task, f"{task}-with-past") if auto_class in CACHE_TASKS.get(task, ()) else (task,)
        for registered_task in tasks:
            added += register_derived(model_type, registered_task, AutoOnnxConfig, origin=origin)
    return added
