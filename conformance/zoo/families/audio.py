"""Speech and audio models."""

from __future__ import annotations

from typing import Any

from conformance.known_failures import KnownFailure

OVERRIDES: dict[str, dict[str, Any]] = {
    # their configs leave the CTC vocabulary unset (a checkpoint's tokenizer sets it)
    "wav2vec2-bert": {"vocab_size": 99},
    "wav2vec2-conformer": {"vocab_size": 99},
}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "wav2vec2": {"stable-layer-norm": {"do_stable_layer_norm": True, "feat_extract_norm": "layer"}},
    "hubert": {"stable-layer-norm": {"do_stable_layer_norm": True, "feat_extract_norm": "layer"}},
}

# Speech recognisers that AutoModelForSpeechSeq2Seq maps but whose main input is text ids (an
# audio-language model: the audio enters as embeddings among the tokens) or a generic "inputs":
# their recognition is derived as a text encoder, which has no KV cache, so the -with-past
# export of what they generate cannot be built (their cache-less cell fails at build too).
AUDIO_LANGUAGE_MODELS = ("dia", "fun-asr-nano", "granite-speech", "granite-speech-plus", "kyutai-speech-to-text",
                         "omniasr", "pop2piano", "qwen3-asr", "vibevoice", "vibevoice-asr", "voxtral",
                         "voxtral-realtime", "speech-encoder-decoder")

KNOWN_FAILURES: list = [
    *(KnownFailure(f"transformers/{model_type}/onnx-*/automatic-speech-recognition-with-past",
                   "an audio-language model (main input input_ids or inputs): no middle-end exports audio-"
                   "conditioned generation with a KV cache yet")
      for model_type in AUDIO_LANGUAGE_MODELS),
    KnownFailure("transformers/encodec/onnx-torchscript/feature-extraction",
                 "EnCodec's reflect padding zero-extends an input shorter than the padding first, a Python "
                 "branch on its length: the trace keeps the long-input branch, and ONNX Runtime's reflect Pad "
                 "refuses the shortest inputs (640 samples: pre-pad 6 over a length-2 axis)"),
    KnownFailure("transformers/wav2vec2-bert/onnx-torchscript/audio-xvector",
                 "the x-vector head pools each row over its TDNN output length (valid frames minus the "
                 "TDNN's 14-frame receptive field): a padded row shorter than that has no frames, and the "
                 "per-row Split gets a negative size"),
]
