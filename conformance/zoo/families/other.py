"""Models outside the modalities exportkit's middle-ends export: time series, decision making,
robotics, and models whose inputs come from a modality-specific preprocessor."""

from __future__ import annotations

from ...known_failures import KnownFailure

OVERRIDES = {
    # several series per window, as real multivariate checkpoints take (their default is one)
    **{model_type: {"num_input_channels": 3} for model_type in ("patchtst", "patchtsmixer")},
}

# forecasters that take time features and observed masks with their past values, and decode the
# future as a sequence-to-sequence model; TimesFM takes its series' frequencies and padding too
FORECASTERS = ("autoformer", "informer", "time-series-transformer", "timesfm", "timesfm2-5")

KNOWN_FAILURES: list[KnownFailure] = [
    *[KnownFailure(f"transformers/{model_type}/onnx-*/feature-extraction",
                   "a forecaster (past values with time features, observed masks or frequencies in, a "
                   "forecast out): exportkit's time-series middle-end takes past values alone (PatchTST, "
                   "PatchTSMixer)") for model_type in FORECASTERS],
    KnownFailure("transformers/decision-transformer/onnx-*/feature-extraction",
                 "takes states, actions, returns-to-go and timesteps of a trajectory: exportkit has no "
                 "middle-end for reinforcement-learning trajectories"),
    KnownFailure("transformers/pi0/onnx-*/feature-extraction",
                 "a robot policy (robot state, camera images and a flow-matching action chunk in): exportkit "
                 "has no middle-end for it"),
    KnownFailure("transformers/muse-glimmer-assistant/onnx-*/feature-extraction",
                 "takes noise embeddings of a diffusion step as its main input: exportkit has no middle-end "
                 "for it"),
    KnownFailure("transformers/perceiver/onnx-*/*",
                 "Perceiver takes `inputs` through a task-specific preprocessor (byte ids for text, pixel "
                 "patches for images): exportkit's middle-ends feed input_ids or pixel_values"),
]
