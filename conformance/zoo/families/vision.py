"""Vision models: classifiers, backbones, detectors, segmenters, depth estimators."""

from __future__ import annotations

from typing import Any

from conformance.known_failures import KnownFailure

DETR_LIKE = {"num_queries": 8, "encoder_attention_heads": 8, "decoder_attention_heads": 8, "backbone_config": {
    "model_type": "resnet", "embedding_size": 16, "hidden_sizes": [16, 32, 64, 128], "depths": [1, 1, 1, 1],
    "out_features": ["stage1", "stage2", "stage3", "stage4"]}}  # the mask head reads every stage

# A DPT-style neck's backbone: four layers read, as token sequences; the neck one size per layer read.
# The real 14-pixel patches: these take any image size up to 512 pixels, 36 patches a side at 14
# but 128 at the general rule's 4, which makes attention over 16k tokens.
DPT_NECK_BACKBONE = {"num_hidden_layers": 4, "out_features": ["stage1", "stage2", "stage3", "stage4"],
                     "reshape_hidden_states": False, "patch_size": 14}
DPT_NECK = {"neck_hidden_sizes": [8, 16, 32, 32], "fusion_hidden_size": 16}

# PP-OCR's text detectors: their config classes leave None what every checkpoint's config sets,
# PaddleOCR's values: the intra-class blocks' convolutions (kernel, stride, padding: 7, 5 and 3
# pixels long, vertical, horizontal and square, each keeping the map's size), the neck's upsampling
# of its four maps to the first's size, and the DB head's kernels
PP_OCR_DETECTOR = {
    "intraclass_block_config": {
        "reduce_channel": [1, 1, 0], "return_channel": [1, 1, 0],
        "vertical_long_to_small_conv_longratio": [[7, 1], [1, 1], [3, 0]],
        "vertical_long_to_small_conv_midratio": [[5, 1], [1, 1], [2, 0]],
        "vertical_long_to_small_conv_shortratio": [[3, 1], [1, 1], [1, 0]],
        "horizontal_small_to_long_conv_longratio": [[1, 7], [1, 1], [0, 3]],
        "horizontal_small_to_long_conv_midratio": [[1, 5], [1, 1], [0, 2]],
        "horizontal_small_to_long_conv_shortratio": [[1, 3], [1, 1], [0, 1]],
        "symmetric_conv_long_longratio": [[7, 7], [1, 1], [3, 3]],
        "symmetric_conv_long_midratio": [[5, 5], [1, 1], [2, 2]],
        "symmetric_conv_long_shortratio": [[3, 3], [1, 1], [1, 1]],
    },
    "scale_factor_list": [1, 2, 4, 8], "kernel_list": [3, 2, 2],
}
# PP-OCRv5 server det's HGNetV2 backbone narrowed (its default is 2048 channels wide), and its neck
PP_OCRV5_SERVER_DETECTOR = {**PP_OCR_DETECTOR, "neck_out_channels": 32, "backbone_config": {
    "stem_channels": [3, 16, 16], "stage_in_channels": [16, 32, 64, 128], "stage_mid_channels": [16, 16, 32, 32],
    "stage_out_channels": [32, 64, 128, 256], "stage_num_blocks": [1, 1, 1, 1], "stage_numb_of_layers": [2, 2, 2, 2]}}

# RT-DETR and its heirs: the encoder reads the backbone's last three stages (encoder_in_channels,
# their widths) and projects them to encoder_hidden_dim, which the decoder reads (decoder_in_channels);
# the general rule shrinks none of these widths (2048 channels at the last stage), so a tiny model
# takes minutes to export. Narrowed together: a ResNet of widths 16-128 or PP-OCRv5's narrowed HGNetV2.
RT_DETR_WIDTHS = {"encoder_hidden_dim": 32, "decoder_in_channels": [32, 32, 32]}
RT_DETR_RESNET = {**RT_DETR_WIDTHS, "encoder_in_channels": [32, 64, 128], "backbone_config": {
    "model_type": "rt_detr_resnet", "embedding_size": 16, "hidden_sizes": [16, 32, 64, 128], "depths": [1, 1, 1, 1],
    "out_features": ["stage2", "stage3", "stage4"]}}
RT_DETR_HGNET = {**RT_DETR_WIDTHS, "encoder_in_channels": [64, 128, 256],
                 "backbone_config": {"model_type": "hgnet_v2", **PP_OCRV5_SERVER_DETECTOR["backbone_config"],
                                     "hidden_sizes": [32, 64, 128, 256], "out_features": ["stage2", "stage3", "stage4"]}}
# PP-DocLayoutV3's mask head reads the first stage too (x4_feat_dim, its width)
PP_DOCLAYOUT_V3 = {**RT_DETR_HGNET, "x4_feat_dim": 32, "backbone_config": {
    **RT_DETR_HGNET["backbone_config"], "out_features": ["stage1", "stage2", "stage3", "stage4"]}}

EDGETAM_BACKBONE = {"model_type": "timm_wrapper", "architecture": "repvit_m1", "num_classes": 2,
                    "model_args": {"in_chans": 3, "features_only": True, "out_indices": [0, 1, 2, 3]}}

OVERRIDES: dict[str, dict[str, Any]] = {
    # video clips: a few frames of a few patches (V-JEPA 2 crops 256 pixels, 64 frames a clip;
    # VideoPrism's tubelets are 18 pixels a side, more than the tiny image)
    "vjepa2": {"crop_size": 32, "frames_per_clip": 4},
    "videoprism-vision-model": {"num_frames": 4, "tubelet_size": [1, 4, 4]},
    # its windowed backbone splits the image into num_windows windows, num_windows_side a side
    "lw-detr": {"backbone_config": {"num_windows": 4, "num_windows_side": 2}},
    # Four stages keep the real 32x downsampling; bottleneck blocks divide widths by 4.
    "resnet": {"embedding_size": 16, "hidden_sizes": (16, 32, 64, 128), "depths": (1, 1, 1, 1)},
    # ConvNeXt's four stages keep their 32x downsampling with narrow stages of one block.
    "convnext": {"hidden_sizes": (16, 32, 64, 128), "depths": (1, 1, 1, 1)},
    # Swin attends in windows that must fit its last stage's feature map: 64 / 4 / 2**3 = 2.
    # Its num_layers counts its stages (len(depths)) and its hidden size is the last stage's width
    # (24 * 2**3): the masked-image decoder reads both.
    "swin": {"image_size": 64, "window_size": 2, "encoder_stride": 32, "num_layers": 4, "hidden_size": 192},
    # a timm model's feature maps through transformers: timm's own tiny ResNet (built without weights)
    "timm-backbone": {"backbone": "test_resnet"},
    # DETR's default backbone is timm's resnet50; a tiny transformers ResNet stands in.
    # Its mask head normalises hidden size + heads channels in groups of 8: 32 + 8.
    "detr": DETR_LIKE,
    "conditional-detr": DETR_LIKE,
    "table-transformer": DETR_LIKE,
    "dab-detr": DETR_LIKE,
    "deformable-detr": DETR_LIKE,
    # BiT normalises in groups of num_groups channels: stage widths it divides
    "bit": {"embedding_size": 16, "hidden_sizes": (16, 32, 64, 128), "num_groups": 4},
    # Donut's Swin encoder: Swin's windows on Swin's four stages
    "donut-swin": {"image_size": 64, "window_size": 2, "num_layers": 4, "depths": (1, 1, 1, 1), "hidden_size": 192},
    # Hiera's 7-pixel patch kernel (padding 3, stride 4) keeps a quarter of the image size; masked
    # units of 8 tokens need 16 tokens a side to pool over its stages
    "hiera": {"patch_size": (7, 7), "image_size": (64, 64)},
    # LeViT's 16-pixel patch embedding sizes its attention biases: 64 / 16 = 4 positions a side
    "levit": {"patch_size": 16, "image_size": 64},
    # MobileViTv2 unfolds 2x2 patches of its last (1/32) feature map
    "mobilevitv2": {"image_size": 64},
    # EfficientNet's top batch norm has hidden_dim channels, which must be its top convolution's
    # round_filters(1280) at the width coefficient: 128 at 0.1.
    "efficientnet": {"width_coefficient": 0.1, "hidden_dim": 128},
    # BEiT's segmentation head reads four of its layers; DPT's neck one per reassembled layer.
    "beit": {"num_hidden_layers": 4, "out_indices": [1, 2, 3, 4]},
    "data2vec-vision": {"num_hidden_layers": 4, "out_indices": [1, 2, 3, 4]},
    "dpt": {"num_hidden_layers": 4, "backbone_out_indices": [0, 1, 2, 3], "neck_hidden_sizes": [8, 16, 32, 32],
            "fusion_hidden_size": 16},
    # Depth Anything's neck reads four backbone layers (its default: the last four of twelve) as
    # token sequences (its default backbone does not reshape them to maps) and projects them from
    # reassemble_hidden_size, the backbone's width; its head resizes to its own patch_size, the backbone's
    **dict.fromkeys(("depth-anything", "prompt-depth-anything"), {
        "backbone_config": DPT_NECK_BACKBONE, "reassemble_hidden_size": 32, "patch_size": 14, **DPT_NECK}),
    # TIPSv2's DPT head reads the same (its default: every third of twelve layers)
    "tipsv2-dpt": {"backbone_config": DPT_NECK_BACKBONE, **DPT_NECK},
    "pp-ocrv5-server-det": PP_OCRV5_SERVER_DETECTOR,
    "pp-ocrv6-medium-det": PP_OCR_DETECTOR,
    # Sapiens2's key/value heads per layer (its default: 16, 8 in its middle third, 16) cut to the
    # tiny depth stay 16, over the 4 query heads; one multi-head and one grouped-query layer, as the
    # real model has. Its segmentation head's config leaves its blocks' widths None, which every
    # checkpoint sets: two 2x transposed-convolution upsamplings and one refining convolution.
    "sapiens2": {"num_key_value_heads_per_layer": [4, 2],
                 "head_config": {"upsample_out_channels": [16, 16], "conv_out_channels": [16]}},
    # EdgeTAM's RepViT backbone, through timm: the zoo's shrinking of the timm_wrapper sub-config
    # leaves its bare model type, which transformers cannot build from a dict without its class
    # count; the default names its architecture under a misspelled key (so it would be a ResNet-50,
    # whose widths do not match the backbone_channel_list, RepViT-M1's); its neck as wide as the
    # tiny mask decoder EdgeTAM's vision tower feeds
    "edgetam-vision-model": {"backbone_config": EDGETAM_BACKBONE, "fpn_hidden_size": 32},
    # RT-DETR and its heirs narrowed
    **dict.fromkeys(("rt-detr", "rt-detr-v2"), RT_DETR_RESNET),
    **dict.fromkeys(("d-fine", "pp-doclayout-v4"), RT_DETR_HGNET),
    "pp-doclayout-v3": PP_DOCLAYOUT_V3,
    # Mask2Former's hidden_dim is its transformer decoder's width, split among its heads (the
    # general rule's 37 is a feed-forward width elsewhere); its pixel decoder as narrow
    "mask2former": {"hidden_dim": 32, "feature_size": 32, "mask_feature_size": 32, "encoder_feedforward_dim": 37,
                    "dim_feedforward": 37},
}

# RT-DETR and its heirs draw their batch norms' weights as small as their linear layers'
# (initializer_range, 0.01) over fresh statistics: each norm shrinks its input a hundredfold, the
# encoder's features reach 1e-15 and every anchor scores alike, so which queries the top-k keeps
# among equal scores is arbitrary. Statistics from the model's own activations keep them apart.
CALIBRATED_BATCH_NORMS = {"rt-detr", "rt-detr-v2", "d-fine", "pp-doclayout-v3", "pp-doclayout-v4"}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "resnet": {"downsample-in-first-stage": {"downsample_in_first_stage": True},
               "basic-blocks": {"layer_type": "basic"}},
}

KNOWN_FAILURES: list = [
    *(KnownFailure(f"transformers/{family}/onnx-*/*",
                   f"{name}: the tiny zoo cannot build it from its config class's defaults yet ({why})")
      for family, name, why in (
          ("deimv2", "DEIMv2", "its config has no image size, and its default backbone is DINOv3's, sized for "
                               "640-pixel images"),
          ("lw-detr", "LW-DETR", "its architecture validator rejects the shrunk sizes"),
          ("zoedepth", "ZoeDepth", "its config has no image size, and its BEiT backbone's position table is "
                                   "sized for 384-pixel images"))),
    KnownFailure("transformers/pp-ocrv6-medium-det/onnx-*/*",
                 "PP-OCRv6 medium det: the tiny zoo cannot build a runnable model from its config class's "
                 "defaults: their backbone (PP-LCNetV4 with (2, 1) strides, a recognition backbone halving only "
                 "the height, its last stage its only output) does not fit the detection neck, which reads four "
                 "stages and adds each to the next one upsampled 2x in both dimensions"),
    KnownFailure("transformers/upernet/onnx-*/semantic-segmentation",
                 "UPerNet's pyramid pooling runs adaptive_avg_pool2d over an image size the export does not "
                 "know: neither engine translates it (as for BEiT's UPerNet head under TorchScript)"),
    KnownFailure("transformers/imagegpt/onnx-*/image-classification",
                 "ImageGPT classifies sequences of colour-cluster ids (input_ids), not pixel_values: the "
                 "image-classification middle-end feeds pixels, and no middle-end quantises images to clusters"),
    KnownFailure("transformers/dinat/onnx-*/*",
                 "DiNAT's neighbourhood attention runs in the natten package's kernels, which transformers "
                 "requires and exportkit does not install: no model can be built here"),
    *(KnownFailure(f"transformers/{family}/onnx-torchscript/semantic-segmentation",
                   "the TorchScript exporter cannot translate adaptive_avg_pool2d over an image size it does "
                   "not know (the pyramid pooling of the UPerNet head)")
      for family in ("beit", "data2vec-vision")),
    KnownFailure("transformers/dinov2-with-registers/onnx-torchscript/*",
                 "the TorchScript exporter has no symbolic for aten::_upsample_bicubic2d_aa (the antialiased "
                 "interpolation of the position table)"),
    KnownFailure("transformers/rf-detr/onnx-torchscript/*",
                 "the TorchScript exporter has no symbolic for aten::_upsample_bicubic2d_aa (RF-DETR's DINOv2 "
                 "backbone interpolates its position table to the image size with antialiasing)"),
    KnownFailure("transformers/tipsv2-dpt/onnx-torchscript/*",
                 "the TorchScript exporter has no symbolic for aten::_upsample_bilinear2d_aa (TIPSv2's backbone "
                 "interpolates its position table to the image size with antialiasing)"),
    KnownFailure("transformers/sapiens2/onnx-torchscript/semantic-segmentation",
                 "the TorchScript exporter cannot translate instance_norm over a channel count it does not know "
                 "(the group norm after each transposed convolution of Sapiens2's upsampling head)"),
    KnownFailure("transformers/vit-mae/onnx-*/feature-extraction",
                 "ViTMAEModel masks a random 75% of the patches in every forward, evaluation too: two calls on "
                 "one image differ unless its noise is an input, which the export does not take yet"),
]
