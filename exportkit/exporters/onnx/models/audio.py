"""Speech models taking raw audio or log-mel features."""

from ....tasks import register
from ..config import AudioOnnxConfig, SpectrogramOnnxConfig

# Whisper's encoder takes (batch, mel bins, frames), always padded to 30 s (twice its position
# table), and no mask: its forward takes attention_mask only for compatibility and ignores it.
WHISPER_ENCODER = {"CHANNELS_FIRST": True, "FIXED_FRAMES": True, "AUDIO_MASK": False}

DECLARED = {
    # wav2vec 2.0's feature encoder and transformer, wav2vec 2.0's tolerance
    "data2vec-audio": {"ATOL_FOR_VALIDATION": 1e-4},
    "whisper": WHISPER_ENCODER,
    # Whisper's encoder, ahead of a language model (two input frames per position)
    "moss-transcribe-diarize-audio": {**WHISPER_ENCODER, "SUBSAMPLING_FACTOR": 2},
    # Whisper's convolutions, rotary positions: any length
    "glmasr-encoder": {"CHANNELS_FIRST": True, "SUBSAMPLING_FACTOR": 2},
    # codecs: outputs whose rank is not (batch, codebooks or channels, frames or samples)
    "encodec": {"OUTPUT_RANKS": {"audio_codes": 4}},  # (chunks, batch, codebooks, frames)
    "dac": {"OUTPUT_RANKS": {"audio_values": 2}},  # (batch, samples)
    # a log-mel spectrogram (batch, frames, mel bins) under the name input_values, of the fixed
    # length its patch position table was made for; its attention_mask would be over patches
    # (its feature extractor makes none)
    "audio-spectrogram-transformer": {
        "base": SpectrogramOnnxConfig, "FIXED_FRAMES_FIELD": "max_length",
        "AUDIO_MASK": False,
    },
}


@register(("wav2vec2", "hubert"), "feature-extraction", "automatic-speech-recognition", "audio-classification")
class Wav2Vec2OnnxConfig(AudioOnnxConfig):
    ATOL_FOR_VALIDATION = 1e-4
