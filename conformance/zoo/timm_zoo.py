"""Tiny timm models: for every timm module, its smallest architecture, narrowed where its
model class takes narrower widths, fewer blocks or a smaller image.

The architecture name is kept real (the registry's model type is the module timm files it
under), and what is narrowed is said in the model's description. A module whose class takes
no narrowing keeps its smallest architecture as it is.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from exportkit.timm_models import model_facts

from .base import MissingRecipeError, calibrate_batch_norms, describe

NUM_CLASSES = 3
TASKS = ("feature-extraction", "image-classification")


@dataclass(frozen=True)
class Recipe:
    architecture: str
    narrowing: dict[str, Any] = field(default_factory=dict)
    # Where the architecture's builder fixes the arguments narrowed, its model class is built
    # with timm's builder and every argument given here: ``arguments(timm module)``.
    model_class: str | None = None
    arguments: Callable[[Any], dict[str, Any]] | None = None


# A vision transformer two blocks deep, 32 wide, on a 32-pixel image (four 16-pixel patches).
_VIT = {"img_size": 32, "embed_dim": 32, "depth": 2, "num_heads": 2}
# Four stages of one block each.
_ONE_BLOCK_STAGES = {"layers": (1, 1, 1, 1)}
# timm's ResNet family (Res2Net, ResNeSt, SKNet) one block a stage, 16 to 128 wide.
_NARROW_RESNET = {**_ONE_BLOCK_STAGES, "channels": (16, 32, 64, 128), "stem_width": 16}
# Aligned Xception's entry, middle and exit flows, one block each, after its fixed 64-wide stem.
_NARROW_ALIGNED_XCEPTION = (
    {"in_chs": 64, "out_chs": 32, "stride": 2}, {"in_chs": 32, "out_chs": 48, "stride": 2},
    {"in_chs": 48, "out_chs": 64, "stride": 2}, {"in_chs": 64, "out_chs": 64, "stride": 1},
    {"in_chs": 64, "out_chs": (64, 96, 96), "stride": 2},
    {"in_chs": 96, "out_chs": (128, 128, 128), "no_skip": True, "stride": 1},
)
# A windowed transformer on a 64-pixel image: stage grids 16, 8, 4, 2; two blocks per stage so
# that the shifted windows of every other block are exported too.
_SWIN = {"img_size": 64, "window_size": 4, "embed_dim": 24, "depths": (2, 2, 2, 2), "num_heads": (3, 3, 3, 3)}



def _narrow_byob(config):
    """A ByobNet config (timm's declared ResNet-likes) one block a stage, an eighth as wide."""
    blocks = tuple(replace(block, c=max(16, block.c // 8), d=1) for block in config.blocks)
    return {"cfg": replace(config, blocks=blocks, stem_chs=16, num_features=0)}


# module -> how its tiny model is built
RECIPES: dict[str, Recipe] = {
    "beit": Recipe("beit_base_patch16_224", _VIT),
    "byoanet": Recipe("halonet_h1", model_class="ByobNet", arguments=lambda m: _narrow_byob(m.model_cfgs["halonet_h1"])),
    "byobnet": Recipe("test_byobnet"),
    "cait": Recipe("cait_xxs24_224", {**_VIT, "depth_token_only": 1}),
    "coat": Recipe("coat_lite_tiny", {"img_size": 64, "embed_dims": (16, 32, 48, 64), "serial_depths": (1, 1, 1, 1),
                                    "num_heads": 8}),
    "convit": Recipe("convit_tiny", {**_VIT, "local_up_to_layer": 1}),
    "convmixer": Recipe("convmixer_768_32", model_class="ConvMixer",
                        arguments=lambda m: {"dim": 32, "depth": 2, "kernel_size": 7, "patch_size": 7}),
    "convnext": Recipe("test_convnext"),
    "cpubone": Recipe("cpubone_nano", {"head_widths": (64, 64)}),
    "crossvit": Recipe("crossvit_tiny_240", {"embed_dim": (16, 32), "depth": ((1, 1, 0),), "num_heads": (2, 2)}),
    "csatv2": Recipe("csatv2", {"dims": (16, 24, 32, 48), "depths": (1, 1, 1, 1), "transformer_depths": (0, 0, 1, 1)}),
    "cspnet": Recipe("cs3darknet_focus_s"),
    "cspnext": Recipe("cspnext_tiny"),
    "davit": Recipe("davit_tiny", {"depths": (1, 1, 1, 1), "embed_dims": (16, 32, 64, 128), "num_heads": (1, 2, 4, 8)}),
    "deepseek-vit": Recipe("deepseek_vit_412m", {**_VIT, "img_size": 28}),  # 14-pixel patches
    "deit": Recipe("deit_tiny_patch16_224", _VIT),
    "densenet": Recipe("densenet121", {"growth_rate": 8, "block_config": (1, 2, 2, 1)}),
    "dla": Recipe("dla46x_c"),
    "dpn": Recipe("dpn48b", {"num_init_features": 8, "k_r": 16, "groups": 4, "k_sec": (1, 1, 1, 1), "inc_sec": (8, 8, 8, 8)}),
    "edgenext": Recipe("edgenext_xx_small"),
    "efficientformer": Recipe("efficientformer_l1", {"depths": (1, 1, 1, 2), "embed_dims": (16, 32, 48, 64)}),
    "efficientformer-v2": Recipe("efficientformerv2_s0", {"img_size": 64}),
    "efficientnet": Recipe("test_efficientnet"),
    "efficientvim": Recipe("efficientvim_m1", {"embed_dim": (32, 48, 64), "depths": (1, 1, 1)}),
    "efficientvit-mit": Recipe("efficientvit_b0"),
    "efficientvit-msra": Recipe("efficientvit_m0", {"img_size": 64}),
    "eva": Recipe("vit_tiny_patch16_dinov3_qkvb", _VIT),
    "fasternet": Recipe("fasternet_t0"),
    "fastvit": Recipe("fastvit_t8"),
    "focalnet": Recipe("focalnet_tiny_srf", model_class="FocalNet",
                       arguments=lambda m: {"embed_dim": 16, "depths": (1, 1, 1, 1)}),
    "gcvit": Recipe("gcvit_xxtiny", model_class="GlobalContextVit",
                    arguments=lambda m: {"img_size": 64, "depths": (1, 1, 1, 1), "num_heads": (2, 4, 8, 16), "embed_dim": 32}),
    "gemma4-vit": Recipe("gemma4_vit_167m_enc", {**_VIT, "img_size": 48, "head_dim": 16, "num_kv_heads": 2}),
    "ghostnet": Recipe("ghostnet_050"),
    "hardcorenas": Recipe("hardcorenas_b"),
    "hgnet": Recipe("hgnetv2_b0"),
    "hiera": Recipe("hiera_tiny_224", {"embed_dim": 16, "num_heads": 1, "stages": (1, 1, 1, 1)}),
    "hieradet-sam2": Recipe("sam2_hiera_tiny", {"embed_dim": 16, "num_heads": 1, "stages": (1, 1, 2, 1),
                                          "global_att_blocks": (3,)}),
    "hrnet": Recipe("hrnet_w18_small"),
    "iformer": Recipe("iformer_t"),
    "inception-next": Recipe("inception_next_atto"),
    "inception-resnet-v2": Recipe("inception_resnet_v2"),
    "inception-v3": Recipe("inception_v3"),
    "inception-v4": Recipe("inception_v4"),
    "lcnetv2": Recipe("lcnetv2_small"),
    "levit": Recipe("levit_128s", model_class="Levit", arguments=lambda m: {
        "embed_dim": (32, 48, 64), "key_dim": 8, "depth": (1, 1, 1), "num_heads": (2, 3, 4)}),
    "lowformer": Recipe("lowformer_b0", {"width_list": (8, 16, 32, 64, 128), "depth_list": (0, 1, 1, 1, 1)}),
    "mambaout": Recipe("test_mambaout"),
    "maxxvit": Recipe("test_coatnet"),
    "metaformer": Recipe("poolformerv2_s12", model_class="MetaFormer", arguments=lambda m: {
        "depths": (1, 1, 1, 1), "dims": (16, 32, 48, 64), "norm_layers": m.GroupNorm1NoBias, "use_mlp_head": False}),
    "mlp-mixer": Recipe("gmlp_ti16_224", model_class="MlpMixer", arguments=lambda m: {
        "img_size": 32, "patch_size": 16, "num_blocks": 2, "embed_dim": 32, "mlp_ratio": 6,
        "block_layer": m.SpatialGatingBlock, "mlp_layer": m.GatedMlp}),
    "mobilenetv3": Recipe("lcnet_035"),
    "mobilenetv5": Recipe("mobilenetv5_base", {"channel_multiplier": 0.125, "num_features": 256}),
    "mobilevit": Recipe("mobilevit_xxs"),
    "mvitv2": Recipe("mvitv2_tiny", model_class="MultiScaleVit", arguments=lambda m: {
        "img_size": 64, "cfg": replace(m.model_cfgs["mvitv2_tiny"], depths=(1, 1, 1, 1), embed_dim=16, num_heads=1)}),
    "naflexvit": Recipe("naflexvit_base_patch16_parfac_gap", {"embed_dim": 32, "depth": 2, "num_heads": 2}),
    "nasnet": Recipe("nasnetalarge", {"num_features": 192, "stem_size": 16}),
    "nest": Recipe("nest_tiny", model_class="Nest",
                   arguments=lambda m: {"img_size": 64, "embed_dims": (32, 64, 128), "num_heads": (1, 2, 4), "depths": (1, 1, 1)}),
    "nextvit": Recipe("nextvit_small", {"depths": (1, 1, 5, 1)}),  # its third stage repeats five blocks
    "nfnet": Recipe("test_nfnet"),
    "pit": Recipe("pit_ti_224", {"img_size": 64}),
    "pnasnet": Recipe("pnasnet5large"),
    "pvt-v2": Recipe("pvt_v2_b0"),
    "qwen3-vit": Recipe("qwen3_vit_88m", _VIT),
    "rdnet": Recipe("rdnet_tiny", {"num_init_features": 16, "growth_rates": (16, 24, 32, 32, 32, 32, 48),
                                   "num_blocks_list": (1,) * 7}),
    "regnet": Recipe("regnetx_002"),
    "repghost": Recipe("repghostnet_050"),
    "repvit": Recipe("repvit_m1", {"depth": (1, 1, 1, 1)}),
    "res2net": Recipe("res2next50", _NARROW_RESNET),
    "resnest": Recipe("resnest14d", _NARROW_RESNET),
    "resnet": Recipe("test_resnet"),
    "resnetv2": Recipe("resnetv2_18", {**_ONE_BLOCK_STAGES, "channels": (16, 32, 64, 128)}),
    "rexnet": Recipe("rexnet_100"),
    "selecsls": Recipe("selecsls42"),
    "senet": Recipe("legacy_seresnet18", {"layers": [1, 1, 1, 1]}),
    "sequencer": Recipe("sequencer2d_s", {"layers": (1, 1, 1, 1), "embed_dims": (32, 64, 64, 64)}),
    "shvit": Recipe("shvit_s1", {"embed_dim": (32, 48, 64), "depth": (1, 1, 1), "partial_dim": (8, 12, 16)}),
    "sknet": Recipe("skresnet18", _NARROW_RESNET),
    "starnet": Recipe("starnet_s050"),
    "swiftformer": Recipe("swiftformer_xs"),
    "swin-transformer": Recipe("swin_tiny_patch4_window7_224", _SWIN),
    "swin-transformer-v2": Recipe("swinv2_tiny_window8_256", _SWIN),
    "swin-transformer-v2-cr": Recipe("swinv2_cr_tiny_224", _SWIN),
    "tiny-vit": Recipe("tiny_vit_5m_224", {"embed_dims": (16, 32, 48, 64), "depths": (1, 1, 1, 1), "num_heads": (1, 2, 3, 4)}),
    "tnt": Recipe("tnt_s_legacy_patch16_224", {"img_size": 32, "embed_dim": 32, "inner_dim": 8, "depth": 2,
                                         "num_heads_inner": 1, "num_heads_outer": 2}),
    "tresnet": Recipe("tresnet_m", {**_ONE_BLOCK_STAGES, "width_factor": 0.25}),
    "twins": Recipe("twins_svt_small", {"embed_dims": (16, 32, 64, 128), "num_heads": (1, 2, 4, 8), "depths": (1, 1, 1, 1)}),
    "vgg": Recipe("vgg11", model_class="VGG", arguments=lambda m: {
        "cfg": (16, "M", 32, "M", 64, 64, "M", 64, 64, "M", 64, 64, "M"), "mlp_ratio": 0.125}),
    "visformer": Recipe("visformer_tiny", {"img_size": 64, "init_channels": 16, "embed_dim": 48, "depth": (1, 1, 1),
                                           "num_heads": 3}),
    "vision-transformer": Recipe("vit_tiny_patch16_224", _VIT),
    "vision-transformer-hybrid": Recipe("vit_tiny_r_s16_p8_224", {"img_size": 64, "depth": 2}),
    "vision-transformer-relpos": Recipe("test_vit_relpos", {"depth": 2}),
    "vision-transformer-sam": Recipe("samvit_base_patch16_224", {**_VIT, "img_size": 64, "neck_chans": 16, "window_size": 2,
                                                            "global_attn_indexes": (1,)}),
    "vitamin": Recipe("vitamin_small_224", {"img_size": 64, "depth": 2}),
    "volo": Recipe("volo_d1_224", model_class="VOLO", arguments=lambda m: {
        "img_size": 64, "layers": (1, 1, 1, 1), "embed_dims": (32, 64, 64, 64), "num_heads": (1, 2, 2, 2)}),
    "vovnet": Recipe("ese_vovnet19b_slim_dw"),
    "xception": Recipe("legacy_xception"),
    "xception-aligned": Recipe("xception41p", {"block_cfg": _NARROW_ALIGNED_XCEPTION}),
    "xcit": Recipe("xcit_nano_12_p8_224", {"img_size": 64, "depth": 2}),
}

# module -> why its tiny model has 5 million parameters or more: its model class fixes its widths
FIXED_WIDTHS = {
    **dict.fromkeys(("inception-v3", "inception-v4", "inception-resnet-v2", "pnasnet", "xception"),
                    "its model class takes no widths or depths"),
    "selecsls": "its model class takes a whole layer table, which only its builder writes",
    "hrnet": "its classification head's widths (up to 2,048 features) are fixed",
    "nextvit": "its stage widths (96 to 1,024) are fixed",
}

# Structural switches of a module, as create_model kwargs, each certified beside the base.
VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    # dilated last stages: total stride 16, so the smallest image and its step change with it
    "resnet": {"output-stride-16": {"output_stride": 16}},
    "convnext": {"convolutional-mlp": {"conv_mlp": True}},
    # position embeddings resampled to the image's grid: the image size becomes dynamic
    "vision-transformer": {"dynamic-image-size": {"dynamic_img_size": True}},
    "eva": {"dynamic-image-size": {"dynamic_img_size": True}},
    "swin-transformer": {"dynamic-image-size": {"dynamic_img_size": True}},
}


def has_recipe(model_type: str, task: str) -> bool:
    return model_type in RECIPES and task in TASKS


def variants(model_type: str, task: str) -> tuple[str, ...]:
    return tuple(VARIANTS.get(model_type, {}))


def build(model_type: str, task: str, variant: str | None = None):
    import timm
    from timm.models import build_model_with_cfg

    if not has_recipe(model_type, task):
        raise MissingRecipeError(f"no timm architecture for {model_type!r} and task {task!r}")
    recipe = RECIPES[model_type]
    changes = {}
    if variant is not None:
        if variant not in VARIANTS.get(model_type, {}):
            raise MissingRecipeError(f"timm {model_type!r} has no variant {variant!r}")
        changes = VARIANTS[model_type][variant]
    # a pooled-features model is what timm builds without a classifier
    classes = 0 if task == "feature-extraction" else NUM_CLASSES
    if recipe.model_class is None:
        # a copy: some model classes fill in the block tables they are given
        arguments = copy.deepcopy({**recipe.narrowing, **changes})
    else:
        module = importlib.import_module(f"timm.models.{model_type.replace('-', '_')}")
        arguments = {**recipe.arguments(module), **changes}
    # a model narrowed to a smaller image records that size, as its saved config would
    overlay = {"input_size": (3, arguments["img_size"], arguments["img_size"])} if "img_size" in arguments else None
    if recipe.model_class is None:
        model = timm.create_model(recipe.architecture, pretrained=False, num_classes=classes,
                                  pretrained_cfg_overlay=overlay, **arguments)
    else:
        model = build_model_with_cfg(getattr(module, recipe.model_class), recipe.architecture, pretrained=False,
                                     pretrained_cfg_overlay=overlay, num_classes=classes, **arguments)
    _calibrate_batch_norms(model)
    shown = (f"{name}={_shown(value)}" for name, value in arguments.items())
    return model, describe(model, recipe.architecture, *shown)


def _shown(value) -> str:
    """An argument as the model's description shows it: a config object by its type alone."""
    text = str(getattr(value, "__name__", value))
    return text if len(text) <= 80 else f"{type(value).__name__}(...)"


def _calibrate_batch_norms(model) -> None:
    if not any(isinstance(module, torch.nn.modules.batchnorm._BatchNorm) for module in model.modules()):
        return
    facts = model_facts(model)
    calibrate_batch_norms(model, torch.randn(4, facts.num_channels, *facts.image_size))
