"""Every built-in ONNX config, registered on import: one module per model family."""

from . import audio, decoders, diffusion, encoders, multimodal, seq2seq, sentence_embedding, vision  # noqa: F401
