"""Speech models taking raw audio."""

from ....tasks import register
from ..config import AudioOnnxConfig


@register(("wav2vec2", "hubert"), "feature-extraction", "automatic-speech-recognition", "audio-classification")
class Wav2Vec2OnnxConfig(AudioOnnxConfig):
    ATOL_FOR_VALIDATION = 1e-4
