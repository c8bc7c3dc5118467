"""Every built-in ONNX config, registered on import: one module per declared model family,
then every other pair a transformers Auto class backs, with a derived config (``auto``).

A family module registers the config classes it declares, and in ``DECLARED`` (model type ->
class attributes) what the derivation of its other model types cannot know.
"""

from . import audio, decoders, diffusion, encoders, multimodal, seq2seq, sentence_embedding, timm_modules, vision  # noqa: F401
from .auto import register_auto_pairs

FAMILIES = (audio, decoders, encoders, multimodal, seq2seq, vision)

register_auto_pairs()
