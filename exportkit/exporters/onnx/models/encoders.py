"""BERT and its close family: encoder-only text models."""

import torch

from ....axes import Axis
from ....normalized_config import NormalizedCanineConfig, NormalizedTextConfig
from ....tasks import register
from ...base import without
from ..config import TEXT_ENCODER_OUTPUTS, TextEncoderOnnxConfig
from ..patcher import PatchingSpec

ENCODER_TASKS = tuple(TEXT_ENCODER_OUTPUTS)


def _block_local_attention(attention: torch.nn.Module):
    """CANINE's local attention as one masked attention: each position attends to the positions
    of its own ``stride``-wide chunk, as the chunk loop computes it. The loop's chunk count and
    bounds are Python ints taken from the sequence length, which an export keeps as constants."""
    stride = attention.attend_from_chunk_stride

    def forward(hidden_states, attention_mask=None, output_attentions=False):
        scores_dtype = hidden_states.dtype
        positions = torch.arange(hidden_states.shape[1], device=hidden_states.device) // stride
        same_chunk = positions[:, None] == positions[None, :]
        # in its chunk a position keeps the model's own additive mask; outside it, it attends to nothing
        if attention_mask is None:
            attention_mask = hidden_states.new_ones(hidden_states.shape[:2]).unsqueeze(1)
        additive = (1.0 - attention_mask.float()).unsqueeze(1) * torch.finfo(scores_dtype).min
        additive = additive.masked_fill(~same_chunk, float("-inf"))
        self_outputs = attention.self(hidden_states, hidden_states, additive, output_attentions)
        return (attention.output(self_outputs[0], hidden_states), *self_outputs[1:])

    return forward


def _repeat_molecules_by_index(rate: int):
    """CANINE's upsampling as one gather: character ``i`` takes molecule ``1 + i // rate``, and the
    characters past the last full molecule take the last one, as the model's repeats lay them out.
    The model computes those repeat counts from the sequence length in Python."""

    def repeat_molecules(molecules, char_seq_length):
        positions = torch.arange(char_seq_length, device=molecules.device)
        index = torch.clamp(positions // rate + 1, max=molecules.shape[1] - 1)
        return molecules.index_select(1, index)

    return repeat_molecules


class CanineOnnxConfig(TextEncoderOnnxConfig):
    """CANINE: it reads Unicode code points (hashed into its embeddings) and downsamples them
    ``downsampling_rate`` to one position of its deep encoder."""

    def axis_table(self):
        table = super().axis_table()
        sequence = table["sequence_length"]
        # fewer characters than one downsampled position: its max-pooled mask is empty
        rate = self._config.downsampling_rate
        table["sequence_length"] = Axis("sequence_length", default=max(sequence.default, rate), min=rate,
                                        max=sequence.max)
        return table

    def patching_specs(self, model):
        specs = super().patching_specs(model)
        for module in model.modules():
            if (getattr(module, "local", False) and hasattr(module, "attend_from_chunk_stride")
                    and not module.always_attend_to_first_position and not module.first_position_attends_to_all
                    and module.attend_from_chunk_width == module.attend_from_chunk_stride
                    == module.attend_to_chunk_width == module.attend_to_chunk_stride):
                specs.append(PatchingSpec(o=module, name="forward", custom_op=_block_local_attention(module)))
            if callable(getattr(type(module), "_repeat_molecules", None)):
                specs.append(PatchingSpec(o=module, name="_repeat_molecules",
                                          custom_op=_repeat_molecules_by_index(module.config.downsampling_rate)))
        return specs


# model type -> what the derivation cannot know (collected by auto.declared_facts)
DECLARED = {
    # X-MOD routes each row through its language's adapters: without lang_ids it needs a default
    # language its checkpoints do not set, so the language is a graph input
    "xmod": {"extra_inputs": {"lang_ids": ("batch_size",)}},
    # document models place each token on its page: without bbox they would embed every token at
    # the page's corner, and the export could not take a layout at all
    **{model_type: {"extra_inputs": {"bbox": ("batch_size", "sequence_length", "box_coordinates")}}
       for model_type in ("layoutlm", "lilt", "layoutlmv3", "bros")},
    # FNet mixes tokens by a 2-D Fourier transform: ONNX's DFT and torch's FFT round apart by more
    # than the default 1e-5 (1.1e-5 at 27 tokens, 1.2e-4 at 224: the error grows with the length);
    # BERT's tolerance, not more
    "fnet": {"ATOL_FOR_VALIDATION": 1e-4},
    # TAPAS types each token by its table structure: its token_type_ids hold one id per type
    "tapas": {"extra_inputs": {"token_type_ids": ("batch_size", "sequence_length", "token_type_columns")}},
    # CANINE's ids are Unicode code points (its config has no vocab_size), and its local attention
    # and downsampling constrain its sequence axis
    "canine": {"base": CanineOnnxConfig, "NORMALIZED_CONFIG_CLASS": NormalizedCanineConfig},
    # Longformer's global attention is the caller's choice: without global_attention_mask its
    # question-answering and multiple-choice heads derive one from the positions of exactly three
    # separator tokens (failing without them) and its classifier attends globally from the first
    # token, so the mask is a graph input
    "longformer": {"extra_inputs": {"global_attention_mask": ("batch_size", "sequence_length")}},
}


@register(("bert", "electra"), *ENCODER_TASKS)
class BertOnnxConfig(TextEncoderOnnxConfig):
    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig
    ATOL_FOR_VALIDATION = 1e-4


@register(("roberta", "xlm-roberta", "camembert"), *ENCODER_TASKS)
class RobertaOnnxConfig(BertOnnxConfig):
    def reserved_positions(self) -> int:
        # position ids start after the padding id
        return (getattr(self._config, "pad_token_id", None) or 0) + 1


@register("albert", *ENCODER_TASKS)
class AlbertOnnxConfig(BertOnnxConfig):
    pass


@register("distilbert", *ENCODER_TASKS)
class DistilBertOnnxConfig(BertOnnxConfig):
    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig.with_args(
        hidden_size="dim", num_layers="n_layers", num_attention_heads="n_heads")
    INPUTS = without(BertOnnxConfig.INPUTS, "token_type_ids")
