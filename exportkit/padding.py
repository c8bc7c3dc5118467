"""Padded batches: which positions of a batch hold no token, and what follows from that.

Real batches are padded: rows of different lengths, padded on the right (encoders) or on
the left (batched generation). A mask input (``attention_mask``, ...) marks each row's real
positions. A :class:`Padding` says, per row, how many positions are padding and on which
side; from it come the mask's values, the pad-token ids under the mask, and the output
positions a config declares undefined (a left-padded position of a causal decoder attends
to nothing, so what it computes there is arbitrary and is not compared).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

SIDES = ("right", "left")

# Mask input -> the id inputs under it, whose padded positions hold padding values.
MASKED_INPUTS: dict[str, tuple[str, ...]] = {
    "attention_mask": ("input_ids", "token_type_ids"),
    "decoder_attention_mask": ("decoder_input_ids",),
    "encoder_attention_mask": (),
    "input_features_mask": (),  # over audio feature frames
}
# What a tokenizer writes at a padded position of each id input (None: the pad token id).
PAD_VALUES: dict[str, int | None] = {"input_ids": None, "decoder_input_ids": None, "token_type_ids": 0}


@dataclass(frozen=True)
class Padding:
    """How many positions of each row are padding, and on which side.

    ``pads`` has one entry per row of the mask (every axis but the last, flattened); an empty
    ``pads`` means no padding at all. Every row keeps at least one real position.
    """

    side: str = "right"
    pads: tuple[int, ...] = ()

    def __post_init__(self):
        if self.side not in SIDES:
            raise ValueError(f"padding side must be one of {SIDES}, got {self.side!r}")
        if any(not isinstance(pad, int) or pad < 0 for pad in self.pads):
            raise ValueError(f"pads must be non-negative ints, got {self.pads}")

    @classmethod
    def none(cls) -> Padding:
        return cls()

    @classmethod
    def typical(cls, rows: int, length: int, side: str = "right") -> Padding:
        """A ragged batch: the first row full, the others a quarter shorter (one row: that row shortened).

        Export dummies use it, so that a model that skips its mask when nothing is padded
        still traces the masked code path.
        """
        if length < 2:
            return cls.none()
        pad = max(1, length // 4)
        return cls(side, (0,) + (pad,) * (rows - 1) if rows > 1 else (pad,))

    @property
    def kind(self) -> str:
        """``none``, ``right``, ``left``, or ``ragged-right`` / ``ragged-left`` for rows of different lengths."""
        if not any(self.pads):
            return "none"
        return f"ragged-{self.side}" if len(set(self.pads)) > 1 else self.side

    def describe(self) -> str:
        """``"ragged-left [0, 3]"``: the kind and the padded positions of each row (a range past 8 rows)."""
        if self.kind == "none":
            return "none"
        if len(self.pads) <= 8:
            return f"{self.kind} {list(self.pads)}"
        return f"{self.kind} [{len(self.pads)} rows, {min(self.pads)}-{max(self.pads)} padded]"

    def valid(self, shape: tuple[int, ...]) -> np.ndarray:
        """Boolean array of ``shape`` (rows..., length): True where a row has a real token."""
        *leading, length = shape
        rows = math.prod(leading)
        pads = np.asarray(self.pads if self.pads else (0,) * rows, dtype=np.int64)
        if pads.size != rows:
            raise ValueError(f"padding has {pads.size} rows, the mask has {rows} ({shape})")
        if length and pads.max(initial=0) >= length:
            raise ValueError(f"padding {list(self.pads)} leaves a row of length {length} without a real token")
        positions = np.arange(length)
        if self.side == "right":
            valid = positions[None, :] < (length - pads)[:, None]
        else:
            valid = positions[None, :] >= pads[:, None]
        return valid.reshape(shape)


def undefined_positions(output_axes: tuple[str, ...], shape: tuple[int, ...], mask_axes: tuple[str, ...],
                        position_axes: set[str], valid: np.ndarray) -> np.ndarray | None:
    """Where an output holds no defined value under a padded mask, as a boolean array of ``shape``.

    The output's rows are its axes named like the mask's leading axes (``batch_size``); its
    positions are the one axis named in ``position_axes`` (the mask's own position axis or
    that of the ids under it). Positions are aligned from the right: a decoder's new tokens
    are the last positions of a mask that also covers the cache. None when the output has no
    such axes (a pooled embedding, classification logits).
    """
    *leading, _ = mask_axes
    try:
        row_index = [output_axes.index(name) for name in leading]
    except ValueError:
        return None
    position_index = next((i for i, name in enumerate(output_axes) if name in position_axes), None)
    if position_index is None or position_index in row_index:
        return None
    length = shape[position_index]
    if length > valid.shape[-1]:
        return None
    undefined = ~valid[..., valid.shape[-1] - length:]
    if tuple(undefined.shape[:-1]) != tuple(shape[i] for i in row_index):
        return None
    # place (rows..., position) at their output axes, broadcast over the others
    order = [*row_index, position_index]
    expanded = undefined.reshape(undefined.shape + (1,) * (len(shape) - len(order)))
    rest = [i for i in range(len(shape)) if i not in order]
    arranged = np.moveaxis(expanded, list(range(len(shape))), order + rest)
    return np.broadcast_to(arranged, shape)


def pad_token_id(normalized_config: Any) -> int:
    """The id a tokenizer writes at padded positions: the pad token, else the eos token, else 0."""
    for name in ("pad_token_id", "eos_token_id"):
        value = getattr(normalized_config, name) if normalized_config.has(name) else None
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return 0


def describe_all(padding: Mapping[str, Padding]) -> dict[str, str]:
    return {name: pad.describe() for name, pad in padding.items()}
