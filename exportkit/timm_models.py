"""What exportkit reads from timm: the module an architecture belongs to (a timm model's
registry model type), and the input facts of a model instance, read off the model itself.

timm groups its architectures in modules (``resnet``, ``vision_transformer``, ...), one model
class and its builders each; ``resnet50.a1_in1k`` belongs to ``resnet``, ``vit_tiny_patch16_224``
to ``vision_transformer``. The module is timm's own grouping, so it is exact where a name prefix
is not (``resnet50_clip`` is in ``byobnet``, ``seresnext26d_32x4d`` in ``resnet``).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from .errors import ModelLoadingError


def module_names() -> list[str]:
    """Every timm model module, as registry model types (``vision-transformer``)."""
    import timm

    return sorted(_as_model_type(name) for name in timm.list_modules())


def module_of(architecture: str) -> str:
    """``resnet50.a1_in1k`` -> ``resnet``; ``vit_tiny_patch16_224`` -> ``vision-transformer``."""
    import timm
    from timm.models import is_model, model_entrypoint, split_model_name_tag

    name, _tag = split_model_name_tag(architecture)
    if not is_model(name):
        raise ModelLoadingError(f"timm {timm.__version__} has no architecture {name!r}")
    return _as_model_type(model_entrypoint(name).__module__)


def module_of_model(model: Any) -> str:
    """The module of a timm model instance: that of the architecture it was built as, else its class's."""
    architecture = (getattr(model, "pretrained_cfg", None) or {}).get("architecture")
    if architecture:
        try:
            return module_of(architecture)
        except ModelLoadingError:
            pass  # a class built directly, under a name timm does not register
    module = type(model).__module__
    if not module.startswith("timm.models."):
        raise ModelLoadingError(f"{type(model).__name__} is not a timm model class")
    return _as_model_type(module)


def _as_model_type(module: str) -> str:
    return module.rsplit(".", 1)[-1].replace("_", "-")


def model_facts(model: Any) -> SimpleNamespace:
    """The config an export config is built from: the image the model takes and what it returns.

    The image size is the model's own: that of its first module recording one (its patch
    embedding, where it has one), else its pretrained config's input size. Other sizes are
    taken unless the model fixes them (a strict patch embedding, or ``fixed_input_size`` in its
    pretrained config without ``dynamic_img_size``); a patch embedding that does not pad takes
    multiples of its patch only (``patch_step``). The feature map's rank is measured by running
    ``forward_features`` on a fake image (no compute), which also proves the size read.
    """
    pretrained_cfg = getattr(model, "pretrained_cfg", None) or {}
    channels = int(pretrained_cfg.get("input_size", (3,))[0])
    (height, width), (features, pools) = _image_size_taken(model, pretrained_cfg, channels)
    return SimpleNamespace(
        model_type=module_of_model(model),
        architecture=pretrained_cfg.get("architecture", type(model).__name__),
        num_channels=channels,
        image_size=(height, width),
        dynamic_image_size=_takes_other_sizes(model, pretrained_cfg),
        patch_step=_patch_step(model),
        total_stride=_total_stride(model, features, height),
        feature_rank=len(features) if features is not None else None,
        pools=pools,
        num_classes=getattr(model, "num_classes", None),
    )


def _image_size_taken(model: Any, pretrained_cfg: dict, channels: int):
    """The first image size the model records that it takes, with its feature shapes there."""
    candidates = []
    recorded = next((module.img_size for module in model.modules() if getattr(module, "img_size", None)), None)
    if recorded is not None:  # a model built with img_size=... keeps its pretrained config's size
        candidates.append((recorded, recorded) if isinstance(recorded, int) else tuple(recorded)[-2:])
    candidates.append(tuple(pretrained_cfg.get("input_size", (3, 224, 224)))[-2:])
    for size in dict.fromkeys(candidates):
        try:
            return size, _feature_shapes(model, channels, *size)
        except Exception as error:  # noqa: BLE001  a size the model does not take
            refusal = f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
    sizes = " or ".join(f"{channels}x{h}x{w}" for h, w in dict.fromkeys(candidates))
    raise ModelLoadingError(f"{type(model).__name__} takes no {sizes} image ({refusal})")


def _patch_step(model: Any) -> int:
    """The patch size of the model's patch embedding where it cuts whole patches only (it does not
    pad the image to a multiple), else 1."""
    for module in model.modules():
        if hasattr(module, "patch_size") and hasattr(module, "dynamic_img_pad"):
            if module.dynamic_img_pad:
                return 1
            size = module.patch_size
            return int(size if isinstance(size, int) else size[0])
    return 1


def _takes_other_sizes(model: Any, pretrained_cfg: dict) -> bool:
    if getattr(model, "dynamic_img_size", False):
        return True  # its position embeddings are resampled to the image's grid
    if getattr(getattr(model, "patch_embed", None), "strict_img_size", False):
        return False
    return not pretrained_cfg.get("fixed_input_size", False)


def _feature_shapes(model: Any, channels: int, height: int, width: int):
    """The shape of ``forward_features`` (None where it is not one tensor), and whether it pools them."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    training = model.training
    model.eval()  # a model in training mode would normalise one fake image's batch, and refuse to
    try:
        with torch.no_grad(), FakeTensorMode(allow_non_fake_inputs=True):
            features = model.forward_features(torch.empty(1, channels, height, width))
            try:
                pooled = model.forward_head(features, pre_logits=True)
            except NotImplementedError:  # an encoder without a head (Gemma 4's): its features only
                pooled = None
    finally:
        model.train(training)
    if pooled is not None and (not isinstance(pooled, torch.Tensor) or pooled.dim() != 2):
        raise ModelLoadingError(f"{type(model).__name__}.forward_head(pre_logits=True) returns no (batch, features)")
    if pooled is None and not isinstance(features, torch.Tensor):
        raise ModelLoadingError(f"{type(model).__name__} returns neither pooled features nor one feature tensor")
    return (tuple(features.shape) if isinstance(features, torch.Tensor) else None), pooled is not None


def _total_stride(model: Any, features: tuple[int, ...] | None, height: int) -> int | None:
    """Pixels per position of the last feature map: its ``feature_info``, else measured from the map."""
    info = getattr(model, "feature_info", None)
    if isinstance(info, list) and info and isinstance(info[-1], dict) and info[-1].get("reduction"):
        return int(info[-1]["reduction"])
    if features is not None and len(features) == 4:
        rows = features[1] if getattr(model, "output_fmt", "NCHW") == "NHWC" else features[2]
        return height // rows if rows else None
    return None
