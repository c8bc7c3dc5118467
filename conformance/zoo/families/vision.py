"""Vision models: classifiers, backbones, detectors, segmenters, depth estimators."""

from __future__ import annotations

from typing import Any

OVERRIDES: dict[str, dict[str, Any]] = {
    # Four stages keep the real 32x downsampling; bottleneck blocks divide widths by 4.
    "resnet": {"embedding_size": 16, "hidden_sizes": (16, 32, 64, 128), "depths": (1, 1, 1, 1)},
    # ConvNeXt's four stages keep their 32x downsampling with narrow stages of one block.
    "convnext": {"hidden_sizes": (16, 32, 64, 128), "depths": (1, 1, 1, 1)},
    # Swin attends in windows that must fit its last stage's feature map: 64 / 4 / 2**3 = 2.
    # Its num_layers counts its stages (len(depths)) and its hidden size is the last stage's width
    # (24 * 2**3): the masked-image decoder reads both.
    "swin": {"image_size": 64, "window_size": 2, "encoder_stride": 32, "num_layers": 4, "hidden_size": 192},
    # DETR's default backbone is timm's resnet50; a tiny transformers ResNet stands in.
    # Its mask head normalises hidden size + heads channels in groups of 8: 32 + 8.
    "detr": {"num_queries": 8, "encoder_attention_heads": 8, "decoder_attention_heads": 8, "backbone_config": {
        "model_type": "resnet", "embedding_size": 16, "hidden_sizes": [16, 32, 64, 128], "depths": [1, 1, 1, 1],
        "out_features": ["stage1", "stage2", "stage3", "stage4"]}},  # the mask head reads every stage
    # EfficientNet's top batch norm has hidden_dim channels, which must be its top convolution's
    # round_filters(1280) at the width coefficient: 128 at 0.1.
    "efficientnet": {"width_coefficient": 0.1, "hidden_dim": 128},
    # BEiT's segmentation head reads four of its layers; DPT's neck one per reassembled layer.
    "beit": {"num_hidden_layers": 4, "out_indices": [1, 2, 3, 4]},
    "dpt": {"num_hidden_layers": 4, "backbone_out_indices": [0, 1, 2, 3], "neck_hidden_sizes": [8, 16, 32, 32],
            "fusion_hidden_size": 16},
}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "resnet": {"downsample-in-first-stage": {"downsample_in_first_stage": True},
               "basic-blocks": {"layer_type": "basic"}},
}

KNOWN_FAILURES: list = []
