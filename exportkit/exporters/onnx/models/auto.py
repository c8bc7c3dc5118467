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
know (``extra_inputs``: name -> axes, each taken where the task's forward names it), and the
kind of a vision model's features where its config misleads (``features``: ``"tokens"`` or ``"maps"``).
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any, ClassVar

from ....errors import ExportKitError
from ....normalized_config import NormalizedAnyTextConfig, NormalizedAnyVisionConfig, NormalizedTextAndVisionConfig
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
    TextSeq2SeqOnnxConfig,
    VisionOnnxConfig,
)

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


def forward_parameters(model_cls: type) -> set[str]:
    """The inputs ``model_cls.forward`` names. Its ``**kwargs`` (attention options in transformers 5)
    are not inputs: a model that does not name an input does not read it."""
    parameters = inspect.signature(model_cls.forward).parameters.values()
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}


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
        derived = derived_config_class(model_type, Task.parse(task).name)
        if kwargs.get("use_past") and not derived.SUPPORTS_PAST:
            raise DerivedConfigError(f"{model_type!r}: {derived.__name__} exports {Task.parse(task).name!r} "
                                     f"without a KV cache: its middle-end ({derived.__mro__[2].__name__}) has none")
        if kwargs.get("use_past") and not derived.FORWARD_PARAMETERS & set(CACHE_NAMES):
            raise DerivedConfigError(f"{model_type!r}: {derived.MODEL_CLASS.__name__}.forward takes no cache "
                                     f"(neither of {', '.join(CACHE_NAMES)}): no export with past key values")
        try:
            return derived(config, task=task, **kwargs)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            # a config that lacks what the derived middle-end reads (no attention heads in a
            # state-space model, per-layer sizes, ...): the derivation does not fit it
            raise DerivedConfigError(f"{model_type!r}: {derived.__name__} does not fit its config: "
                                     f"{type(error).__name__}: {error}") from error

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
        parameters = forward_parameters(model_cls)
    except ImportError as error:  # a class that needs a package exportkit does not install
        raise DerivedConfigError(f"{model_type!r}: {class_name} cannot be imported here: "
                                 f"{str(error).strip().splitlines()[0]}") from error
    main = getattr(model_cls, "main_input_name", None)
    declared = declared_facts(model_type)
    base = declared.pop("base", None)
    extra_inputs = declared.pop("extra_inputs", {})
    features = declared.pop("features", None)
    attrs: dict[str, Any] = {}
    if main == "input_ids" and task in TEXT_AND_VISION_TASKS and "pixel_values" in parameters:
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
        attrs["_TASK_TO_OUTPUTS"] = {task: _vision_outputs(model_type, task, model_cls, features)}
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
