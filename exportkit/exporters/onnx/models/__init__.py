"""Every built-in ONNX config, registered on import: one module per declared model family,
then every other pair a transformers Auto class backs, with a derived config (``auto``)."""

from . import audio, decoders, diffusion, encoders, multimodal, seq2seq, sentence_embedding, vision  # noqa: F401
from .auto import register_auto_pairs

register_auto_pairs()
