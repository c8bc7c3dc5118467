"""Size thresholds: sizes at which a model takes another code path.

A sliding window, a local-attention window, a sparse-attention block, a relative-position
bucket limit, a feed-forward chunk: below such a size one code path runs, above it another,
and an export traced on one side can be wrong on the other. A :class:`Threshold` names the
config field it comes from, its value, and the axes whose sizes cross it; export configs
read them from the model config (:meth:`ExporterConfig.thresholds`), and the certifier
always tries sizes on both sides of each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Axes over token positions. A threshold applies to those of them a config has.
TEXT_POSITION_AXES = ("sequence_length", "total_sequence_length", "encoder_sequence_length",
                      "decoder_sequence_length")

# Config field (dotted into sub-configs or dicts) -> the axes whose sizes cross it.
THRESHOLD_FIELDS: dict[str, tuple[str, ...]] = {
    "sliding_window": TEXT_POSITION_AXES,  # Mistral, Qwen2, Gemma 2/3, gpt-oss: local attention layers
    "attention_window": TEXT_POSITION_AXES,  # Longformer, LED
    "local_attention": TEXT_POSITION_AXES,  # ModernBERT's local attention layers
    "block_size": TEXT_POSITION_AXES,  # BigBird's block-sparse attention
    "local_transformer_stride": TEXT_POSITION_AXES,  # CANINE's chunked local attention over characters
    "chunk_size_feed_forward": TEXT_POSITION_AXES,  # chunked feed-forward
    "relative_attention_num_buckets": TEXT_POSITION_AXES,  # T5-style relative positions
    "relative_attention_max_distance": TEXT_POSITION_AXES,
    "rope_parameters.original_max_position_embeddings": TEXT_POSITION_AXES,  # dynamic / long RoPE
}

# The thresholds that are a local attention window: a padded position further than the window
# from every real token attends to padding only, so what it computes is arbitrary.
LOCAL_WINDOW_FIELDS = frozenset({"sliding_window", "attention_window", "local_attention"})


@dataclass(frozen=True)
class Threshold:
    field: str
    value: int
    axes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "value": self.value, "axes": list(self.axes)}


def read_field(config: Any, path: str) -> Any:
    """``config.a.b`` for ``"a.b"``, reading dicts by key; None where any part is missing."""
    value = config
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        else:
            value = getattr(value, part, None)
        if value is None:
            return None
    return value


def thresholds_of(config: Any, fields: Mapping[str, tuple[str, ...]], axis_names: set[str],
                  sub_configs: tuple[str, ...] = ("text_config",)) -> list[Threshold]:
    """Every positive integer threshold the config (or its text sub-config) sets, on axes it has."""
    found: dict[tuple[str, int], Threshold] = {}
    sources = [config, *(sub for name in sub_configs if (sub := getattr(config, name, None)) is not None)]
    for field, axes in fields.items():
        applicable = tuple(axis for axis in axes if axis in axis_names)
        if not applicable:
            continue
        for source in sources:
            value = read_field(source, field)
            values = value if isinstance(value, (list, tuple)) else [value]
            for item in values:  # a per-layer list (Longformer's attention_window) gives each distinct value
                if isinstance(item, int) and not isinstance(item, bool) and item > 0:
                    found.setdefault((field, item), Threshold(field, item, applicable))
    return sorted(found.values(), key=lambda t: (t.field, t.value))
