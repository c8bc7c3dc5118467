"""sentence-transformers pipelines: registered over their encoders' facts, loaded and exported from a directory."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
import torch

from exportkit.cli import main
from exportkit.errors import UnsupportedTaskError
from exportkit.exporters.onnx.models.sentence_embedding import (
    ENCODER_MODEL_TYPES,
    RANKING_MODEL_TYPES,
    SPARSE_MODEL_TYPES,
    SentenceTransformersOnnxConfig,
    encoder_config_class,
)
from exportkit.loading import infer_task, load_model, model_class_for_task
from exportkit.task_names import Task
from exportkit.tasks import TasksManager
from conformance.zoo import build_tiny_model

PIPELINE_TASKS = {
    "sentence-similarity": ENCODER_MODEL_TYPES,
    "feature-extraction": ENCODER_MODEL_TYPES,
    "sparse-embedding": SPARSE_MODEL_TYPES,
    "text-ranking": RANKING_MODEL_TYPES,
}


def test_every_pipeline_kind_is_registered_for_its_model_types():
    for task, model_types in PIPELINE_TASKS.items():
        registered = {entry.model_type for entry in TasksManager.list_registrations(
            library="sentence_transformers", task=task)}
        assert registered == set(model_types), task


@pytest.mark.parametrize("model_type", ["qwen3", "roberta", "distilbert"])
def test_a_pipeline_config_keeps_its_encoders_export_facts(model_type):
    tiny = build_tiny_model("sentence_transformers", model_type, "sentence-similarity")
    pipeline = SentenceTransformersOnnxConfig(tiny.config, task="sentence-similarity")
    encoder = encoder_config_class(model_type)(tiny.config, task="feature-extraction")
    assert isinstance(pipeline, type(encoder))
    assert list(pipeline.input_specs) == list(encoder.input_specs)
    assert pipeline.PADDING_SIDES == encoder.PADDING_SIDES  # a decoder's embedding pads on the left
    assert pipeline.reserved_positions() == encoder.reserved_positions()  # RoBERTa's padding offset
    assert list(pipeline.output_specs) == ["sentence_embedding"]


def test_a_task_without_a_pipeline_is_refused():
    with pytest.raises(UnsupportedTaskError, match="no pipeline"):
        model_class_for_task(Task.parse("fill-mask"), "sentence_transformers")


SENTENCES = ["w1 w2 w3 w4 w5 w6 w7", "w8 w9", "w10 w11 w12 w13"]  # padded to the longest
PAIRS = [("w1 w2", "w3 w4 w5 w6 w7"), ("w8", "w9 w10"), ("w11 w12 w13", "w14")]


def library_output(model, task: str) -> np.ndarray:
    """What the library itself returns: encode() for embeddings (a sparse tensor for SPLADE), predict() for scores."""
    if task == "text-ranking":
        return np.asarray(model.predict(PAIRS)).reshape(len(PAIRS), -1)
    embeddings = model.encode(SENTENCES, convert_to_tensor=True)
    return (embeddings.to_dense() if embeddings.is_sparse else embeddings).numpy()


@pytest.mark.slow
@pytest.mark.parametrize("task, output", [("sentence-similarity", "sentence_embedding"),
                                          ("sparse-embedding", "sentence_embedding"),
                                          ("text-ranking", "scores")])
def test_a_saved_pipeline_exports_from_its_directory_and_matches_what_the_library_returns(
        tmp_path, capsys, task, output):
    tiny = build_tiny_model("sentence_transformers", "bert", task)
    source = tmp_path / "pipeline"
    tiny.model.save_pretrained(str(source))
    assert infer_task(source) == task
    loaded = load_model(source)
    assert type(loaded) is type(tiny.model)

    out = tmp_path / "onnx"
    assert main(["export", "onnx", "--model", str(source), "--engine", "torchscript", str(out)]) == 0, \
        capsys.readouterr().err
    features = loaded.preprocess(PAIRS if task == "text-ranking" else SENTENCES)
    assert len(set(features["attention_mask"].sum(dim=1).tolist())) == 3  # rows of three lengths, padded
    session = onnxruntime.InferenceSession(str(out / "model.onnx"))
    feeds = {i.name: (features[i.name] if i.name in features else torch.zeros_like(features["input_ids"])).numpy()
             for i in session.get_inputs()}
    (actual,) = session.run([output], feeds)
    expected = library_output(loaded, task)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, atol=1e-4)
