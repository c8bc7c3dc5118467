"""Speech and audio models."""

from __future__ import annotations

from typing import Any

from conformance.known_failures import KnownFailure

OVERRIDES: dict[str, dict[str, Any]] = {
    # Moshi's gated feed-forwards halve ffn_dim: it must be even (its depth decoder's too)
    "moshi": {"ffn_dim": 64, "depth_decoder_config": {"ffn_dim": 64}},
    "kyutai-speech-to-text": {"ffn_dim": 64},
    # the quantizer has no projections: its codebooks are as wide as the model
    "wavtokenizer": {"codebook_dim": 32},
    "wavtokenizer-encoder": {"codebook_dim": 32},
    # the codec's upsampling convolution is depthwise: one group per channel of the model's width
    "mimi": {"upsample_groups": 32},
    "pocket-tts-audio-tokenizer": {"upsample_groups": 32},
    # flow heads conditioned on the backbone's hidden states, and a diarization head on the audio
    # encoder's: their widths must be the tiny backbone's
    "gradium-phonon-tts": {"flow_head_config": {"condition_dim": 32}},
    "pocket-tts": {"flow_head_config": {"condition_dim": 32}},
    "nemotron3-diarization": {"head_config": {"audio_hidden_size": 32}},
    # their configs leave the CTC vocabulary unset (a checkpoint's tokenizer sets it)
    "wav2vec2-bert": {"vocab_size": 99},
    "wav2vec2-conformer": {"vocab_size": 99},
}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "wav2vec2": {"stable-layer-norm": {"do_stable_layer_norm": True, "feat_extract_norm": "layer"}},
    "hubert": {"stable-layer-norm": {"do_stable_layer_norm": True, "feat_extract_norm": "layer"}},
}

# Speech recognisers that AutoModelForSpeechSeq2Seq maps but whose main input is text ids (an
# audio-language model: the audio enters as embeddings among the tokens) or a generic "inputs",
# which no middle-end takes: an audio tower on raw audio or without a log-mel size, a tower
# exportkit cannot call apart (the audio-language middle-end's refusal says which), or a model
# of its own kind. The -with-past export of what they generate cannot be built (their
# cache-less cell fails at build too). Voxtral, Voxtral Realtime, Qwen3-ASR and Fun-ASR-Nano
# export through the audio-language middle-end.
AUDIO_LANGUAGE_MODELS = ("dia", "granite-speech", "granite-speech-plus", "kyutai-speech-to-text", "omniasr",
                         "pop2piano", "vibevoice", "vibevoice-asr", "speech-encoder-decoder")

# Audio encoders whose class says nothing of how many frames come out of a given input (neither
# _get_feat_extract_output_lengths nor a config subsampling_factor): the output axis cannot be sized.
UNSIZED_OUTPUT_FRAMES = ("fun-asr-nano-encoder", "gemma4-audio", "nemotron3-diarization", "qwen3-asr-encoder",
                         "univnet", "voxtral-realtime-encoder")
# ... and speech encoder-decoders recognising with such an encoder (their text tasks export)
UNSIZED_RECOGNISERS = ("seamless-m4t", "seamless-m4t-v2", "speecht5")
# Raw-waveform models whose configs name no conv_kernel / conv_stride feature encoder, from which
# exportkit derives a waveform model's minimum length and output frames.
NO_CONV_FEATURE_ENCODER = ("muse-spark-audio", "omniasr-ctc", "pe-audio-encoder", "pe-audio-video-encoder",
                           "vibevoice-acoustic-tokenizer")
# Transducer and streaming recognisers keeping their sizes in encoder / decoder sub-configs.
SIZES_IN_SUB_CONFIGS = ("nemotron-asr-streaming", "nemotron3-5-asr", "parakeet-rnnt", "parakeet-tdt")

KNOWN_FAILURES: list = [
    *(KnownFailure(f"transformers/{model_type}/onnx-*/feature-extraction",
                   "transformers' AutoModel maps it to a decoder model built from the decoder's sub-config: the "
                   "composite config its checkpoints carry has no decoder attributes (no dropout), so AutoModel "
                   "cannot build it") for model_type in ("musicgen", "musicgen-melody")),
    *(KnownFailure(f"transformers/{model_type}/onnx-*/*",
                   "its model class says neither how many frames its encoder makes of an input "
                   "(_get_feat_extract_output_lengths) nor its subsampling factor: exportkit cannot size the "
                   "output frames axis") for model_type in UNSIZED_OUTPUT_FRAMES),
    *(KnownFailure(f"transformers/{model_type}/onnx-*/automatic-speech-recognition*",
                   "its speech encoder's class says neither how many frames it makes of an input "
                   "(_get_feat_extract_output_lengths) nor its subsampling factor: exportkit cannot size the "
                   "encoder frames axis") for model_type in UNSIZED_RECOGNISERS),
    *(KnownFailure(f"transformers/{model_type}/onnx-*/*",
                   "a raw-waveform model whose config names no conv_kernel / conv_stride feature encoder, from "
                   "which exportkit derives the minimum audio length and the output frames")
      for model_type in NO_CONV_FEATURE_ENCODER),
    *(KnownFailure(f"transformers/{model_type}/onnx-*/feature-extraction",
                   "a transducer or streaming recogniser keeping its sizes in encoder and decoder sub-configs, "
                   "which the derivation does not read (no hidden_size at the top level)")
      for model_type in SIZES_IN_SUB_CONFIGS),
    KnownFailure("transformers/nemotron3-5-transcribe-audio/onnx-*/feature-extraction",
                 "its config names no feature size (num_mel_bins or kin) for its log-mel input"),
    KnownFailure("transformers/fastspeech2-conformer-with-hifigan/onnx-*/feature-extraction",
                 "text to speech through a vocoder: its config keeps the vocabulary in the model sub-config, "
                 "which the text derivation does not read"),
    *(KnownFailure(f"transformers/{model_type}/onnx-*/automatic-speech-recognition-with-past",
                   "an audio-language model (main input input_ids or inputs) that no middle-end takes: "
                   "the observed build error says what keeps it out")
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
