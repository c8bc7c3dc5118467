"""Vision models: transformers ViT, ResNet, DETR and their kin (timm models: ``timm_modules``)."""

import builtins
import sys

import torch

from ....axes import Axis, opaque
from ....tasks import register
from ..config import VisionOnnxConfig
from ..patcher import PatchingSpec


@register(("vit", "deit"), "feature-extraction", "image-classification")
class ViTOnnxConfig(VisionOnnxConfig):
    # Position embeddings are learned for one image size: height and width are static.
    DYNAMIC_IMAGE_SIZE = False
    ATOL_FOR_VALIDATION = 1e-4


@register("resnet", "feature-extraction", "image-classification")
class ResNetOnnxConfig(VisionOnnxConfig):
    DYNAMIC_IMAGE_SIZE = True
    ATOL_FOR_VALIDATION = 1e-3
    _TASK_TO_OUTPUTS = {
        "feature-extraction": {"last_hidden_state": ("batch_size", None, "feature_height", "feature_width")},
        "image-classification": {"logits": ("batch_size", None)},
    }

    def total_stride(self) -> int:
        return self.stride_of(self._config)

    @staticmethod
    def stride_of(config) -> int:
        # stem: a stride-2 convolution and a stride-2 max pool; then every stage halves the
        # size but the first, which halves it only with downsample_in_first_stage
        stages = len(config.hidden_sizes)
        return 4 * 2 ** (stages - 1) * (2 if config.downsample_in_first_stage else 1)

    def axis_table(self):
        return {**super().axis_table(), "feature_height": opaque("feature_height"), "feature_width": opaque("feature_width")}


class DetrOnnxConfig(VisionOnnxConfig):
    """DETR-like detectors: a convolutional backbone and sine position embeddings over its
    feature map, so any image size its stride divides into two or more positions; a fixed
    number of object queries."""

    DYNAMIC_IMAGE_SIZE = True
    ATOL_FOR_VALIDATION = 1e-4

    @property
    def IMAGE_SIZE_STEP_IS_STRIDE(self) -> bool:  # noqa: N802 (the class attribute's name)
        # the mask head adds each upsampled map to the backbone stage of its size: torch.export
        # proves them equal only for multiples of the total stride
        return self.task == "image-segmentation"

    def total_stride(self) -> int:
        # a transformers ResNet backbone: the ResNet stem and stages; timm's (the default,
        # ResNet-50 or -101): 32, halved by a dilated last stage
        backbone = getattr(self._config, "backbone_config", None)
        if backbone is not None and getattr(backbone, "model_type", None) == "resnet":
            return ResNetOnnxConfig.stride_of(backbone)
        return 16 if getattr(self._config, "dilation", False) else 32


class DeformableDetrOnnxConfig(DetrOnnxConfig):
    """Deformable DETR: DETR's backbone under multi-scale deformable attention, which normalises its
    sampling offsets by each feature map's size: a table of sizes built in the graph
    (:func:`size_table_patches`)."""

    def patching_specs(self, model):
        return super().patching_specs(model) + size_table_patches(model)


class TimmBackboneOnnxConfig(VisionOnnxConfig):
    """A timm model's feature maps through transformers (``TimmBackbone``): one map per out index,
    ``feature_maps.{i}``, of a convnet that takes any size (timm's default backbones are)."""

    DYNAMIC_IMAGE_SIZE = True
    TOTAL_STRIDE = 32
    # the strided stages of timm's ResNets halve sizes by rounding that torch.export proves for
    # multiples of the total stride only
    IMAGE_SIZE_STEP_IS_STRIDE = True
    _TASK_TO_OUTPUTS = {"feature-extraction": {"feature_maps": ("batch_size", None, None, None)}}

    @property
    def output_specs(self):
        table = self.axis_table()
        return {f"feature_maps.{index}": self._spec(f"feature_maps.{index}", ("batch_size", None, None, None), table)
                for index in range(len(self._config.out_indices))}

    def flatten_outputs(self, model_output):
        return {f"feature_maps.{index}": feature_map for index, feature_map in enumerate(model_output.feature_maps)}


class VideoOnnxConfig(VisionOnnxConfig):
    """Video transformers taking a clip, ``pixel_values`` (or ``pixel_values_videos``) of (batch,
    frames, channels, height, width): their position embeddings are learned for the config's
    frame count and image size."""

    INPUTS = {"pixel_values": ("batch_size", "num_frames", "num_channels", "height", "width")}

    def axis_table(self) -> dict[str, Axis]:
        nc = self._normalized_config
        frames = nc.num_frames if nc.has("num_frames") else getattr(self._config, "num_frames", None)
        # a config naming no frame count: a model taking clips of any length
        axis = Axis.static("num_frames", int(frames)) if frames else Axis("num_frames", default=4, min=2, max=16)
        return {**super().axis_table(), "num_frames": axis}


# Depth Anything's heads -> whether they scale the depth by max_depth (the prompted one does not)
DEPTH_HEADS = {"DepthAnythingDepthEstimationHead": True, "PromptDepthAnythingDepthEstimationHead": False}


def _depth_head_forward(head: torch.nn.Module, scaled: bool):
    """A Depth Anything head that resizes its map to the image size without ``int()``: the
    modelling code casts ``patch_height * patch_size`` to a Python int, which fixes the size the
    export was captured at (torch.export specialises it, TorchScript's tracer makes it a constant).
    The same layers on the same size: only the cast is gone."""

    def forward(hidden_states, patch_height, patch_width):
        depth = head.conv1(hidden_states[head.head_in_index if scaled else -1])
        depth = torch.nn.functional.interpolate(depth, (patch_height * head.patch_size, patch_width * head.patch_size),
                                                mode="bilinear", align_corners=True)
        depth = head.activation2(head.conv3(head.activation1(head.conv2(depth))))
        return (depth * head.max_depth if scaled else depth).squeeze(dim=1)

    return forward


def depth_head_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    return [PatchingSpec(o=module, name="forward", custom_op=_depth_head_forward(module, DEPTH_HEADS[type(module).__name__]))
            for module in model.modules() if type(module).__name__ in DEPTH_HEADS]


class DepthAnythingOnnxConfig(VisionOnnxConfig):
    """Depth Anything and Prompt Depth Anything, their heads patched to keep the image size
    dynamic (:func:`_depth_head_forward`)."""

    def patching_specs(self, model):
        return super().patching_specs(model) + depth_head_patches(model)


def _sine_position_embedding_forward(module: torch.nn.Module):
    """RT-DETR's 2D sine position embedding, built for the feature map's own size: the modelling
    code casts the size to a Python int (``torch_int``), which torch.export specialises to the size
    captured, and looks the table up in a cache keyed by it. The same table, uncached and uncast."""
    build = type(module)._cached_build_2d_sinusoidal_position_embedding.__wrapped__

    def forward(width, height, device, dtype):
        return build(height=height, width=width, embed_dim=module.embed_dim, temperature=module.temperature,
                     device=device, dtype=dtype).unsqueeze(0)

    return forward


def _length(obj):
    """``len()``, but a tensor's length is its first size as the tensor holds it: symbolic under
    torch.export, where ``len()`` makes a Python int of it and so specialises the batch size."""
    return obj.shape[0] if isinstance(obj, torch.Tensor) else builtins.len(obj)


def rt_detr_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """RT-DETR and its heirs (RT-DETRv2, D-FINE, PP-DocLayout) keep the image size and batch dynamic:
    their anchors and position tables are built in the graph for the image's own feature maps
    instead of looked up in a cache keyed by sizes (a cache hit is a constant to a tracer, the key
    a specialised size to torch.export), and the batch size is read as a size, not through ``len()``."""
    specs, namespaces = [], set()
    for module in model.modules():
        cls = type(module)
        if hasattr(cls, "_cached_build_2d_sinusoidal_position_embedding"):
            specs.append(PatchingSpec(o=module, name="forward", custom_op=_sine_position_embedding_forward(module)))
        if hasattr(cls, "_cached_generate_anchors"):
            specs.append(PatchingSpec(o=module, name="_cached_generate_anchors",
                                      custom_op=cls._cached_generate_anchors.__wrapped__))
            namespaces.add(cls.__module__)
    specs += [PatchingSpec(o=sys.modules[namespace], name="len", custom_op=_length) for namespace in sorted(namespaces)]
    # RT-DETRv2's deformable attention checks that its spatial shapes add up to the encoder's length,
    # which they do by construction; the check's tensor becomes aten::_is_all_true, which the dynamo
    # exporter cannot translate
    specs += [PatchingSpec(o=sys.modules[namespace], name="torch_compilable_check", custom_op=_shapes_hold)
              for namespace in sorted(namespaces) if hasattr(sys.modules[namespace], "torch_compilable_check")]
    return specs


def _shapes_hold(cond, msg, error_type=ValueError) -> None:
    """transformers' ``torch_compilable_check`` left out of a graph, for checks that hold by construction."""


def _holds_traced_sizes(data) -> bool:
    """Rows of sizes (a feature map's height and width per level) of which some are symbolic
    (torch.export's SymInts) or traced (TorchScript's tracer hands sizes out as tensors)."""
    return (isinstance(data, (list, tuple)) and builtins.len(data) > 0
            and all(isinstance(row, (list, tuple)) and builtins.len(row) == builtins.len(data[0]) for row in data)
            and any(isinstance(value, (torch.SymInt, torch.Tensor)) for row in data for value in row))


def _size_table(original):
    """``torch.tensor`` / ``torch.as_tensor`` that build a table of feature-map sizes in the graph:
    made from a list of sizes, the table is a constant of the size captured (TorchScript) or a
    specialisation of it (torch.export), so deformable attention would normalise its sampling
    offsets by the captured image's feature maps. Any other data goes to the original."""

    def build(data, *args, dtype=None, device=None, **kwargs):
        if args or kwargs or not _holds_traced_sizes(data):
            return original(data, *args, dtype=dtype, device=device, **kwargs)
        table = torch.empty((builtins.len(data), builtins.len(data[0])), dtype=dtype or torch.int64, device=device)
        for row_index, row in enumerate(data):
            for column, value in enumerate(row):
                table[row_index, column] = value
        return table

    return build


def _reference_points(spatial_shapes_list, valid_ratios, device):
    """Deformable DETR's encoder reference points (each feature map's pixel centres, scaled by its
    valid ratios) from ``arange``: ``torch.linspace`` takes its step count as a Python int, which
    torch.export specialises to the size captured. ``linspace(0.5, n - 0.5, n)`` is ``arange(n) + 0.5``."""
    reference_points_list = []
    for level, (height, width) in enumerate(spatial_shapes_list):
        ref_y, ref_x = torch.meshgrid(torch.arange(height, dtype=valid_ratios.dtype, device=device) + 0.5,
                                      torch.arange(width, dtype=valid_ratios.dtype, device=device) + 0.5,
                                      indexing="ij")
        ref_y = ref_y.reshape(-1)[None] / (valid_ratios[:, None, level, 1] * height)
        ref_x = ref_x.reshape(-1)[None] / (valid_ratios[:, None, level, 0] * width)
        reference_points_list.append(torch.stack((ref_x, ref_y), -1))
    reference_points = torch.cat(reference_points_list, 1)
    return reference_points[:, :, None] * valid_ratios[:, None]


def size_table_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Deformable attention's tables of feature-map sizes built in the graph (:func:`_size_table`),
    and Deformable DETR's encoder reference points from ``arange`` (:func:`_reference_points`)."""
    return [PatchingSpec(o=torch, name=name, op_wrapper=_size_table) for name in ("tensor", "as_tensor")] + [
        PatchingSpec(o=module, name="get_reference_points", custom_op=_reference_points)
        for module in model.modules() if type(module).__name__ == "DeformableDetrEncoder"]


class RtDetrOnnxConfig(VisionOnnxConfig):
    """Real-time detection transformers over a convolutional backbone's last three stages (8, 16, 32):
    their anchors generated for the image's own size (:func:`rt_detr_patches`). Their feature
    pyramid concatenates each stage with the next upsampled 2x, which agree in size on multiples of
    the total stride only (the model itself fails on any other size)."""

    DYNAMIC_IMAGE_SIZE = True
    TOTAL_STRIDE = 32
    IMAGE_SIZE_STEP_IS_STRIDE = True

    def patching_specs(self, model):
        return super().patching_specs(model) + rt_detr_patches(model)


# MaskFormer and Mask2Former name their outputs their own way: the last states of the backbone,
# the pixel decoder (maps) and the transformer decoder (one per query); per query, class logits
# and a mask at a quarter of the image size
MASKFORMER_OUTPUTS = {
    "feature-extraction": {"encoder_last_hidden_state": ("batch_size", None, None, None),
                           "pixel_decoder_last_hidden_state": ("batch_size", None, None, None),
                           "transformer_decoder_last_hidden_state": ("batch_size", None, None)},
    "image-segmentation": {"class_queries_logits": ("batch_size", None, None),
                           "masks_queries_logits": ("batch_size", None, None, None)},
}


# model type -> what the derivation cannot know (collected by auto.declared_facts)
DECLARED = {
    "detr": {"base": DetrOnnxConfig},
    # convnets that take any image size: no image_size in their configs, a stride of 32
    "regnet": {"DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 32},  # stem 2, four stages of 2
    "segformer": {"DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 32},  # patch embeddings 4, 2, 2, 2
    # its image_size is the preprocessor's (600 for B7), not a limit: stem 2, blocks 2, 2, 2, 2
    "efficientnet": {"DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 32},
    # a ResNet (stem 4, stages 1, 2, 2, 2) whose unnormalised features round apart by 1.1e-5
    "bit": {"DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 32, "ATOL_FOR_VALIDATION": 1e-4},
    "poolformer": {"DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 32},  # patch embeddings 4, 2, 2, 2
    # a SegFormer encoder; its decoder concatenates maps upsampled from each stage, which agree in
    # size on multiples of the total stride only
    "glpn": {"DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 32, "IMAGE_SIZE_STEP_IS_STRIDE": True},
    # convolutional embeddings 4, 2, 2, each padded: torch.export proves their sizes on multiples only
    "cvt": {"DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 16, "IMAGE_SIZE_STEP_IS_STRIDE": True},
    # the DINOv2 backbone interpolates its position table to any multiple of its 14-pixel patches
    **dict.fromkeys(("depth-anything", "prompt-depth-anything"), {
        "base": DepthAnythingOnnxConfig, "DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 14, "IMAGE_SIZE_STEP_IS_STRIDE": True}),
    # TIPSv2's DPT head: its backbone's 14-pixel patches, the last of four maps downsampled twice
    # more by a stride-2 convolution, whose size the fusion proves equal to the next map's on even
    # patch counts only
    "tipsv2-dpt": {"DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 28, "IMAGE_SIZE_STEP_IS_STRIDE": True},
    # DETR's kin: a convolutional backbone under the same detection transformer
    "conditional-detr": {"base": DetrOnnxConfig},
    "table-transformer": {"base": DetrOnnxConfig},
    "dab-detr": {"base": DetrOnnxConfig},
    "deformable-detr": {"base": DeformableDetrOnnxConfig},
    # hierarchical transformers whose configs list stage widths, returning tokens
    "focalnet": {"features": "tokens"},
    "pvt": {"features": "tokens"},
    "levit": {"features": "tokens"},
    # DINOv3's ConvNeXt returns its last map flattened to tokens, after a pooled one
    "dinov3-convnext": {"features": "tokens"},
    # transformers returning maps: ViTDet's plain backbone for detection, Swin2SR's restoration
    "vitdet": {"features": "maps"},
    "swin2sr": {"features": "maps"},
    # vision towers of promptable segmenters and Gemma 3n: their last hidden state is a map
    "sam-vision-model": {"features": "maps"},
    "sam-hq-vision-model": {"features": "maps"},
    # RepViT through timm (stride 32), its feature pyramid adding each map to the next upsampled:
    # torch.export proves their sizes equal on multiples of the total stride only
    "edgetam-vision-model": {"features": "maps", "DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 32,
                             "IMAGE_SIZE_STEP_IS_STRIDE": True},
    "gemma3n-vision": {"features": "maps"},
    **dict.fromkeys(("maskformer", "mask2former"), {"_TASK_TO_OUTPUTS": MASKFORMER_OUTPUTS}),
    # PP-OCR's text detectors return a text probability map (batch, 1, height, width) as their
    # detection output, under the name last_hidden_state; their neck adds each backbone stage to the
    # next upsampled, which torch.export proves equal in size on multiples of the total stride only
    **dict.fromkeys(("pp-ocrv5-server-det", "pp-ocrv5-mobile-det"), {
        "DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 32, "IMAGE_SIZE_STEP_IS_STRIDE": True,
        "_TASK_TO_OUTPUTS": {"object-detection": {"last_hidden_state": ("batch_size", None, None, None)}}}),
    "videomae": {"base": VideoOnnxConfig},
    "vivit": {"base": VideoOnnxConfig},
    "timesformer": {"base": VideoOnnxConfig},
    # convnets without an image size in their configs: stems and stages halving to a stride of 32
    "hgnet-v2": {"DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 32},
    "pp-lcnet": {"DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 32},
    # a timm model saved through transformers (a ResNet-50 by default): timm's convnets take any size
    "timm-wrapper": {"DYNAMIC_IMAGE_SIZE": True, "TOTAL_STRIDE": 32, "features": "maps"},
    "timm-backbone": {"base": TimmBackboneOnnxConfig},
    # real-time detection transformers over a convolutional backbone's last three stages (8, 16, 32),
    # their anchors generated for the image's own size
    **dict.fromkeys(("rt-detr", "rt-detr-v2", "d-fine", "pp-doclayout-v3", "pp-doclayout-v4"), {"base": RtDetrOnnxConfig}),
}
