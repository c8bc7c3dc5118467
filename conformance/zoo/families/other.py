"""Models outside the modalities exportkit's middle-ends export: time series, decision making,
robotics, and models whose inputs come from a modality-specific preprocessor."""

from __future__ import annotations

from ...known_failures import KnownFailure

TIME_SERIES = ("autoformer", "informer", "patchtsmixer", "patchtst", "time-series-transformer", "timesfm",
               "timesfm2-5")

KNOWN_FAILURES: list[KnownFailure] = [
    *[KnownFailure(f"transformers/{model_type}/onnx-*/feature-extraction",
                   "a time-series model (past_values, time features and observed masks in, a forecast "
                   "distribution out): exportkit has no time-series middle-end") for model_type in TIME_SERIES],
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
