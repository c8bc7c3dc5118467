"""Export configs: the seed's dict views, dummy inputs, KV-cache specs, seq2seq parts and axes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers

from exportkit import TasksManager
from exportkit.errors import ExportKitError
from exportkit.exporters.onnx import ConfigBehavior, OnnxConfigWithPast, OnnxSeq2SeqConfigWithPast
from exportkit.exporters.onnx.models.decoders import GPT2OnnxConfig, LlamaOnnxConfig
from exportkit.exporters.onnx.models.encoders import BertOnnxConfig, DistilBertOnnxConfig
from exportkit.exporters.onnx.models.seq2seq import T5OnnxConfig
from exportkit.exporters.onnx.models.vision import ResNetOnnxConfig, ViTOnnxConfig
from exportkit.exporters.onnx.wrapper import ExportableModule


def onnx_config(model_type: str, task: str, config, **kwargs):
    return TasksManager.get_exporter_config_constructor(
        "onnx", task=task, model_type=model_type, library_name="transformers")(config, **kwargs)


# ---- the seed usage example -------------------------------------------------------------------

def test_seed_usage_example_bert_text_classification():
    config = onnx_config("bert", "text-classification", transformers.BertConfig())
    seq = {0: "batch_size", 1: "sequence_length"}
    assert config.inputs == {"input_ids": seq, "attention_mask": seq, "token_type_ids": seq}
    assert list(config.inputs) == ["input_ids", "attention_mask", "token_type_ids"]
    assert config.outputs == {"logits": {0: "batch_size"}}
    assert isinstance(config, BertOnnxConfig)
    assert config.task == "text-classification"


@pytest.mark.parametrize(
    "task, outputs",
    [
        ("feature-extraction", {"last_hidden_state": {0: "batch_size", 1: "sequence_length"}}),
        ("fill-mask", {"logits": {0: "batch_size", 1: "sequence_length"}}),
        ("token-classification", {"logits": {0: "batch_size", 1: "sequence_length"}}),
        ("question-answering", {"start_logits": {0: "batch_size", 1: "sequence_length"},
                                "end_logits": {0: "batch_size", 1: "sequence_length"}}),
    ],
)
def test_bert_outputs_per_task(bert_config, task, outputs):
    assert BertOnnxConfig(bert_config, task=task).outputs == outputs


def test_config_rejects_bad_arguments(bert_config, gpt2_config):
    with pytest.raises(ValueError, match="does not support task"):
        BertOnnxConfig(bert_config, task="text-generation")
    with pytest.raises(ValueError, match="use_past=True"):
        GPT2OnnxConfig(gpt2_config, task="text-generation-with-past")
    with pytest.raises(ValueError, match="int_dtype"):
        BertOnnxConfig(bert_config, task="fill-mask", int_dtype="int16")
    with pytest.raises(ValueError, match="float_dtype"):
        BertOnnxConfig(bert_config, task="fill-mask", float_dtype="fp64")
    with pytest.raises(ValueError, match="use_past_in_inputs"):
        GPT2OnnxConfig(gpt2_config, task="text-generation", use_past=False, use_past_in_inputs=True)


def test_task_synonym_accepted_by_config(bert_config):
    assert BertOnnxConfig(bert_config, task="sequence-classification").task == "text-classification"


# ---- dummy inputs -------------------------------------------------------------------------------

def test_dummy_inputs_default_shapes_and_dtypes(bert_config):
    config = BertOnnxConfig(bert_config, task="text-classification")
    inputs = config.generate_dummy_inputs()
    assert list(inputs) == list(config.inputs)
    for name, tensor in inputs.items():
        assert tuple(tensor.shape) == (2, 16), name
        assert tensor.dtype == torch.int64, name
    # a ragged batch: the first row full, the second padded on the right (pad tokens under the padding)
    assert inputs["attention_mask"].tolist() == [[1] * 16, [1] * 12 + [0] * 4]
    assert torch.all(inputs["input_ids"][1, 12:] == config.pad_token_id)
    assert torch.all((inputs["token_type_ids"] >= 0) & (inputs["token_type_ids"] < bert_config.type_vocab_size))


def test_dummy_inputs_respect_seed_kwargs(bert_config):
    config = BertOnnxConfig(bert_config, task="text-classification")
    inputs = config.generate_dummy_inputs(batch_size=3, sequence_length=11)
    assert all(tuple(t.shape) == (3, 11) for t in inputs.values())
    ids = inputs["input_ids"]
    assert int(ids.min()) >= 0 and int(ids.max()) < bert_config.vocab_size


def test_dummy_inputs_deterministic_given_seed(bert_config):
    config = BertOnnxConfig(bert_config, task="text-classification")
    first = config.generate_dummy_inputs(seed=7, batch_size=4, sequence_length=32)
    again = config.generate_dummy_inputs(seed=7, batch_size=4, sequence_length=32)
    other = config.generate_dummy_inputs(seed=8, batch_size=4, sequence_length=32)
    for name in first:
        assert torch.equal(first[name], again[name]), name
    assert not torch.equal(first["input_ids"], other["input_ids"])
    # and the generator is local: the global torch RNG is not consulted
    torch.manual_seed(123)
    assert torch.equal(config.generate_dummy_inputs(seed=7, batch_size=4, sequence_length=32)["input_ids"],
                       first["input_ids"])


def test_dummy_inputs_numpy(bert_config):
    config = BertOnnxConfig(bert_config, task="text-classification")
    inputs = config.generate_dummy_inputs(framework="np", batch_size=1, sequence_length=4)
    assert all(isinstance(v, np.ndarray) and v.shape == (1, 4) for v in inputs.values())
    with pytest.raises(ValueError, match="framework"):
        config.generate_dummy_inputs(framework="tf")


def test_dummy_inputs_int32(bert_config):
    config = BertOnnxConfig(bert_config, task="text-classification", int_dtype="int32")
    assert all(t.dtype == torch.int32 for t in config.generate_dummy_inputs().values())


@pytest.mark.parametrize(
    "kwargs",
    [{"batch_size": 0}, {"batch_size": 65}, {"sequence_length": 0}, {"sequence_length": 65}],
)
def test_out_of_range_sizes_raise(bert_config, kwargs):
    # the tiny config has 64 positions; batch_size is capped at 64
    config = BertOnnxConfig(bert_config, task="text-classification")
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        config.generate_dummy_inputs(**kwargs)


def test_sequence_axis_bounded_by_position_embeddings(bert_config):
    config = BertOnnxConfig(bert_config, task="fill-mask")
    assert config.axes["sequence_length"].max == bert_config.max_position_embeddings
    assert config.generate_dummy_inputs(sequence_length=64)["input_ids"].shape == (2, 64)


# ---- decoders with a KV cache --------------------------------------------------------------------

def test_gpt2_without_past(gpt2_config):
    config = onnx_config("gpt2", "text-generation", gpt2_config)
    assert isinstance(config, OnnxConfigWithPast) and not config.use_past
    seq = {0: "batch_size", 1: "sequence_length"}
    assert config.inputs == {"input_ids": seq, "attention_mask": seq}
    assert config.outputs == {"logits": seq}


def test_gpt2_with_past_inputs_and_outputs(gpt2_config):
    config = onnx_config("gpt2", "causal-lm-with-past", gpt2_config)
    assert config.use_past and config.use_past_in_inputs
    past = {0: "batch_size", 2: "past_sequence_length"}
    present = {0: "batch_size", 2: "total_sequence_length"}
    assert config.inputs == {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "past_key_values.0.key": past, "past_key_values.0.value": past,
        "past_key_values.1.key": past, "past_key_values.1.value": past,
    }
    assert config.outputs == {
        "logits": {0: "batch_size", 1: "sequence_length"},
        "present.0.key": present, "present.0.value": present,
        "present.1.key": present, "present.1.value": present,
    }


def test_gpt2_with_past_dummy_inputs(gpt2_config):
    config = onnx_config("gpt2", "text-generation-with-past", gpt2_config)
    inputs = config.generate_dummy_inputs(batch_size=3, sequence_length=5, past_sequence_length=7)
    assert inputs["input_ids"].shape == (3, 5)
    assert inputs["attention_mask"].shape == (3, 12)  # the mask spans past + new tokens
    head_dim = gpt2_config.n_embd // gpt2_config.n_head
    for layer in range(gpt2_config.n_layer):
        for kind in ("key", "value"):
            tensor = inputs[f"past_key_values.{layer}.{kind}"]
            assert tensor.shape == (3, gpt2_config.n_head, 7, head_dim)
            assert tensor.dtype == torch.float32
    empty = config.generate_dummy_inputs(past_sequence_length=0)
    assert empty["past_key_values.0.key"].shape[2] == 0
    assert empty["attention_mask"].shape[1] == empty["input_ids"].shape[1]
    with pytest.raises(ValueError, match="past_sequence_length"):
        config.generate_dummy_inputs(past_sequence_length=-1)


def test_gpt2_present_only(gpt2_config):
    config = GPT2OnnxConfig(gpt2_config, task="text-generation", use_past=True, use_past_in_inputs=False)
    assert not any(name.startswith("past_key_values") for name in config.inputs)
    assert config.inputs["attention_mask"] == {0: "batch_size", 1: "sequence_length"}
    assert config.outputs["present.1.value"] == {0: "batch_size", 2: "sequence_length"}


def test_add_past_key_values_fills_seed_dict(gpt2_config):
    config = GPT2OnnxConfig(gpt2_config, task="text-generation", use_past=True)
    inputs = {"input_ids": {0: "batch_size", 1: "sequence_length"}}
    config.add_past_key_values(inputs, direction="inputs")
    assert inputs["input_ids"] == {0: "batch_size", 1: "sequence_length"}
    past_names = [n for n in inputs if n != "input_ids"]
    assert past_names == [f"past_key_values.{i}.{k}" for i in range(2) for k in ("key", "value")]
    assert all(inputs[n] == {0: "batch_size", 2: "past_sequence_length"} for n in past_names)
    outputs = {}
    config.add_past_key_values(outputs, direction="outputs")
    assert outputs == {f"present.{i}.{k}": {0: "batch_size", 2: "total_sequence_length"}
                       for i in range(2) for k in ("key", "value")}
    with pytest.raises(ValueError, match="direction"):
        config.add_past_key_values({}, direction="both")


def test_gpt2_cache_specs_match_the_model(gpt2_config, make_model):
    config = GPT2OnnxConfig(gpt2_config, task="text-generation", use_past=True)
    model = make_model(transformers.GPT2LMHeadModel, gpt2_config)
    dims = config.dims(batch_size=2, sequence_length=3, past_sequence_length=4)
    inputs = config.generate_dummy_inputs(**dims)
    wrapper = ExportableModule(model, config)
    with torch.no_grad():
        outputs = dict(zip(wrapper.output_names, wrapper(*wrapper.example_args(inputs))))
    assert list(outputs) == list(config.outputs)
    for name, spec in config.output_specs.items():
        expected = tuple(axis.size(dims) if axis.dynamic or axis.default is not None else tensor_dim
                         for axis, tensor_dim in zip(spec.axes, outputs[name].shape))
        assert tuple(outputs[name].shape) == expected, name
    assert outputs["present.0.key"].shape == (2, 4, 7, 8)
    assert outputs["logits"].shape == (2, 3, gpt2_config.vocab_size)


def test_llama_gqa_past_heads(llama_config, make_model):
    config = onnx_config("llama", "text-generation-with-past", llama_config)
    assert isinstance(config, LlamaOnnxConfig)
    assert config.num_key_value_heads == 2 != llama_config.num_attention_heads
    inputs = config.generate_dummy_inputs(batch_size=2, sequence_length=3, past_sequence_length=5)
    assert inputs["past_key_values.0.key"].shape == (2, 2, 5, 8)
    model = make_model(transformers.LlamaForCausalLM, llama_config)
    wrapper = ExportableModule(model, config)
    with torch.no_grad():
        outputs = dict(zip(wrapper.output_names, wrapper(*wrapper.example_args(inputs))))
    assert outputs["present.1.value"].shape == (2, 2, 8, 8)


def test_llama_without_gqa_uses_attention_heads(llama_config):
    llama_config.num_key_value_heads = None
    config = LlamaOnnxConfig(llama_config, task="text-generation", use_past=True)
    assert config.num_key_value_heads == llama_config.num_attention_heads


# ---- seq2seq --------------------------------------------------------------------------------------

def test_t5_submodels_with_past(t5_config):
    config = onnx_config("t5", "text2text-generation-with-past", t5_config)
    assert isinstance(config, OnnxSeq2SeqConfigWithPast) and config.use_past
    assert config.behavior is ConfigBehavior.MONOLITH
    parts = config.submodels()
    assert list(parts) == ["encoder_model", "decoder_model", "decoder_with_past_model"]
    encoder, decoder, decoder_with_past = parts.values()

    assert encoder.behavior is ConfigBehavior.ENCODER and not encoder.use_past
    assert encoder.inputs == {"input_ids": {0: "batch_size", 1: "encoder_sequence_length"},
                              "attention_mask": {0: "batch_size", 1: "encoder_sequence_length"}}
    assert encoder.outputs == {"last_hidden_state": {0: "batch_size", 1: "encoder_sequence_length"}}

    layers = range(t5_config.num_decoder_layers)
    assert decoder.behavior is ConfigBehavior.DECODER and decoder.use_past and not decoder.use_past_in_inputs
    assert list(decoder.inputs) == ["decoder_input_ids", "encoder_outputs", "encoder_attention_mask"]
    assert set(decoder.outputs) == {"logits"} | {
        f"present.{i}.{part}.{kind}" for i in layers for part in ("decoder", "encoder") for kind in ("key", "value")}
    assert decoder.outputs["present.0.decoder.key"] == {0: "batch_size", 2: "decoder_sequence_length"}
    assert decoder.outputs["present.0.encoder.key"] == {0: "batch_size", 2: "encoder_sequence_length"}

    assert decoder_with_past.use_past and decoder_with_past.use_past_in_inputs
    past_inputs = {n for n in decoder_with_past.inputs if n.startswith("past_key_values.")}
    assert past_inputs == {f"past_key_values.{i}.{part}.{kind}"
                           for i in layers for part in ("decoder", "encoder") for kind in ("key", "value")}
    assert decoder_with_past.inputs["past_key_values.1.decoder.value"] == {0: "batch_size", 2: "past_sequence_length"}
    assert decoder_with_past.inputs["past_key_values.1.encoder.value"] == {
        0: "batch_size", 2: "encoder_sequence_length"}
    # the cross-attention cache is an input only; the self-attention cache grows
    assert set(decoder_with_past.outputs) == {"logits"} | {
        f"present.{i}.decoder.{kind}" for i in layers for kind in ("key", "value")}
    assert decoder_with_past.outputs["present.0.decoder.key"] == {0: "batch_size", 2: "total_sequence_length"}


def test_t5_cache_head_dim_is_d_kv(t5_config):
    decoder = onnx_config("t5", "text2text-generation-with-past", t5_config).submodels()["decoder_with_past_model"]
    inputs = decoder.generate_dummy_inputs(batch_size=2, decoder_sequence_length=3, past_sequence_length=4,
                                           encoder_sequence_length=5)
    assert inputs["past_key_values.0.decoder.key"].shape == (2, t5_config.num_heads, 4, t5_config.d_kv)
    assert inputs["past_key_values.0.encoder.key"].shape == (2, t5_config.num_heads, 5, t5_config.d_kv)
    assert inputs["encoder_outputs"].shape == (2, 5, t5_config.d_model)
    assert inputs["encoder_attention_mask"].shape == (2, 5)


def test_t5_submodel_specs_match_the_model(t5_config, make_model):
    model = make_model(transformers.T5ForConditionalGeneration, t5_config)
    for stem, part in onnx_config("t5", "text2text-generation-with-past", t5_config).submodels().items():
        dims = part.dims()
        wrapper = ExportableModule(model, part)
        with torch.no_grad():
            values = wrapper(*wrapper.example_args(part.generate_dummy_inputs(**dims)))
        for (name, spec), value in zip(part.output_specs.items(), values):
            for axis, size in zip(spec.axes, value.shape):
                if axis.dynamic and (axis.derive is not None or axis.default is not None):
                    assert axis.size(dims) == size, (stem, name, axis.name)
                elif not axis.dynamic and axis.default is not None:
                    assert axis.default == size, (stem, name, axis.name)


def test_t5_without_past_has_no_decoder_with_past(t5_config):
    config = onnx_config("t5", "text2text-generation", t5_config)
    parts = config.submodels()
    assert list(parts) == ["encoder_model", "decoder_model"]
    assert parts["decoder_model"].outputs == {"logits": {0: "batch_size", 1: "decoder_sequence_length"}}


def test_t5_monolith_inputs(t5_config):
    config = onnx_config("t5", "text2text-generation", t5_config)
    assert list(config.inputs) == ["input_ids", "attention_mask", "decoder_input_ids"]
    assert config.outputs == {"logits": {0: "batch_size", 1: "decoder_sequence_length"}}


def test_with_behavior(t5_config):
    config = T5OnnxConfig(t5_config, task="text2text-generation", use_past=True, int_dtype="int32")
    encoder = config.with_behavior("encoder", use_past=True)
    assert encoder.behavior is ConfigBehavior.ENCODER
    assert not encoder.use_past and not encoder.use_past_in_inputs  # an encoder has no cache
    assert encoder.int_dtype == "int32" and encoder.task == "text2text-generation"
    decoder = config.with_behavior(ConfigBehavior.DECODER, use_past=True, use_past_in_inputs=True)
    assert decoder.behavior is ConfigBehavior.DECODER and decoder.use_past_in_inputs
    assert decoder.submodels() == {"model": decoder}
    assert config.behavior is ConfigBehavior.MONOLITH  # the original is unchanged
    with pytest.raises(ValueError):
        config.with_behavior("sideways")


def test_a_decoder_without_cross_attention_past_recomputes_it(t5_config, make_model):
    model = make_model(transformers.T5ForConditionalGeneration, t5_config)
    config = T5OnnxConfig(t5_config, task="text2text-generation", use_past=True)
    cached = config.submodels()["decoder_with_past_model"]
    recomputing = config.with_behavior(ConfigBehavior.DECODER, use_past=True, use_past_in_inputs=True,
                                       cross_attention_past=False)
    layers = range(t5_config.num_decoder_layers)
    self_attention = {f"past_key_values.{i}.decoder.{kind}" for i in layers for kind in ("key", "value")}
    assert set(recomputing.inputs) == {"decoder_input_ids", "encoder_outputs", "encoder_attention_mask"} | self_attention
    assert set(recomputing.outputs) == set(cached.outputs)
    # Given the cross-attention cache the first step computed, both decoders give the same next step.
    first = config.submodels()["decoder_model"]
    dims = {"batch_size": 2, "encoder_sequence_length": 5, "decoder_sequence_length": 3}
    start = first.generate_dummy_inputs(**dims)
    with torch.no_grad():
        wrapper = ExportableModule(model, first)
        present = dict(zip(wrapper.output_names, wrapper(*wrapper.example_args(start))))
        step = cached.generate_dummy_inputs(**dims, past_sequence_length=3)
        step.update({name.replace("present", "past_key_values"): value for name, value in present.items()
                     if name != "logits"})
        step["encoder_outputs"], step["encoder_attention_mask"] = start["encoder_outputs"], start["encoder_attention_mask"]
        results = []
        for part in (cached, recomputing):
            wrapper = ExportableModule(model, part)
            results.append(dict(zip(wrapper.output_names, wrapper(*wrapper.example_args(step)))))
    for name in cached.outputs:
        torch.testing.assert_close(results[1][name], results[0][name], atol=1e-5, rtol=0)


def test_seq2seq_add_past_key_values(t5_config):
    decoder = T5OnnxConfig(t5_config, task="text2text-generation", use_past=True, use_past_in_inputs=True,
                           behavior="decoder")
    outputs = {}
    decoder.add_past_key_values(outputs, "outputs")
    assert set(outputs) == {f"present.{i}.decoder.{k}" for i in range(2) for k in ("key", "value")}
    inputs = {}
    decoder.add_past_key_values(inputs, "inputs")
    assert len(inputs) == 8
    with pytest.raises(ValueError, match="direction"):
        decoder.add_past_key_values({}, "sideways")


# ---- other families ---------------------------------------------------------------------------------

def test_distilbert_has_no_token_type_ids():
    config = onnx_config("distilbert", "text-classification",
                         transformers.DistilBertConfig(vocab_size=100, dim=32, n_layers=2, n_heads=4, hidden_dim=37))
    assert isinstance(config, DistilBertOnnxConfig)
    assert list(config.inputs) == ["input_ids", "attention_mask"]
    assert set(config.generate_dummy_inputs()) == {"input_ids", "attention_mask"}
    assert config.axes["sequence_length"].max == 512


def test_multiple_choice_adds_num_choices_axis(bert_config):
    config = BertOnnxConfig(bert_config, task="multiple-choice")
    choice = {0: "batch_size", 1: "num_choices", 2: "sequence_length"}
    assert config.inputs == {"input_ids": choice, "attention_mask": choice, "token_type_ids": choice}
    assert config.outputs == {"logits": {0: "batch_size", 1: "num_choices"}}
    inputs = config.generate_dummy_inputs(batch_size=2, num_choices=3, sequence_length=5)
    assert all(t.shape == (2, 3, 5) for t in inputs.values())


def test_vit_image_size_is_static():
    vit = transformers.ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1,
                                 num_attention_heads=4, intermediate_size=37, num_channels=3)
    config = onnx_config("vit", "image-classification", vit)
    assert isinstance(config, ViTOnnxConfig)
    assert config.inputs == {"pixel_values": {0: "batch_size"}}
    assert set(config.axes) == {"batch_size"}
    spec = config.input_specs["pixel_values"]
    assert [axis.dynamic for axis in spec.axes] == [True, False, False, False]
    pixels = config.generate_dummy_inputs(batch_size=3, height=99, image_height=99)["pixel_values"]
    assert pixels.shape == (3, 3, 32, 32)  # height and width are not caller-chosen
    assert pixels.dtype == torch.float32


def test_resnet_height_width_dynamic():
    resnet = transformers.ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1])
    config = onnx_config("resnet", "image-classification", resnet)
    assert isinstance(config, ResNetOnnxConfig)
    assert config.inputs == {"pixel_values": {0: "batch_size", 2: "height", 3: "width"}}
    pixels = config.generate_dummy_inputs(batch_size=1, image_height=72, image_width=65)["pixel_values"]
    assert pixels.shape == (1, 3, 72, 65)
    assert config.generate_dummy_inputs(height=96)["pixel_values"].shape[2] == 96  # axis name also accepted
    with pytest.raises(ValueError, match="image_height"):
        config.generate_dummy_inputs(image_height=8)  # below min
    features = ResNetOnnxConfig(resnet, task="feature-extraction")
    assert features.outputs == {"last_hidden_state": {0: "batch_size", 2: "feature_height", 3: "feature_width"}}


def test_atol_for(bert_config):
    config = BertOnnxConfig(bert_config, task="fill-mask")
    assert config.atol_for() == BertOnnxConfig.ATOL_FOR_VALIDATION

    class PerTask(BertOnnxConfig):
        ATOL_FOR_VALIDATION = {"fill-mask": 1e-3, "text-classification": 1e-2}

    assert PerTask(bert_config, task="fill-mask").atol_for() == 1e-3
    assert PerTask(bert_config, task="token-classification").atol_for() == 1e-2  # the loosest, when unlisted


def test_unknown_axis_name_is_reported(bert_config):
    class Broken(BertOnnxConfig):
        INPUTS = {"input_ids": ("batch_size", "no_such_axis")}

    with pytest.raises(ExportKitError, match="no_such_axis"):
        Broken(bert_config, task="fill-mask").inputs


def test_input_without_generator_is_reported(bert_config):
    class Extra(BertOnnxConfig):
        INPUTS = {**BertOnnxConfig.INPUTS, "mystery": ("batch_size", "sequence_length")}

    with pytest.raises(ExportKitError, match="mystery"):
        Extra(bert_config, task="fill-mask").generate_dummy_inputs()


# ---- validation sizes ---------------------------------------------------------------------------

def _configs_for_validation_dims(bert_config, gpt2_config, llama_config, t5_config):
    resnet = transformers.ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1])
    yield BertOnnxConfig(bert_config, task="text-classification")
    yield BertOnnxConfig(bert_config, task="multiple-choice")
    yield GPT2OnnxConfig(gpt2_config, task="text-generation")
    yield GPT2OnnxConfig(gpt2_config, task="text-generation", use_past=True)
    yield LlamaOnnxConfig(llama_config, task="text-generation", use_past=True)
    yield ResNetOnnxConfig(resnet, task="image-classification")
    yield from T5OnnxConfig(t5_config, task="text2text-generation", use_past=True).submodels().values()


def test_validation_dims_differ_on_every_dynamic_axis(bert_config, gpt2_config, llama_config, t5_config):
    for config in _configs_for_validation_dims(bert_config, gpt2_config, llama_config, t5_config):
        export_dims, validation_dims = config.dims(), config.validation_dims()
        assert set(validation_dims) == set(export_dims) and export_dims, config
        for name, axis in config.axes.items():
            assert axis.dynamic
            assert validation_dims[name] != export_dims[name], (config, name)
            assert axis.accepts(validation_dims[name]), (config, name)
        # the validation sizes are usable as they are
        config.generate_dummy_inputs(**validation_dims)


def test_validation_dims_when_default_is_the_maximum():
    bert = transformers.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                                   intermediate_size=37, max_position_embeddings=16)
    config = BertOnnxConfig(bert, task="fill-mask")
    assert config.dims()["sequence_length"] == 16
    assert config.validation_dims()["sequence_length"] == 15


def test_half_precision_raises_the_tolerance_floor_only(bert_config):
    fp32 = BertOnnxConfig(bert_config, task="text-classification")
    fp16 = BertOnnxConfig(bert_config, task="text-classification", float_dtype="fp16")
    bf16 = BertOnnxConfig(bert_config, task="text-classification", float_dtype="bf16")
    assert fp32.atol_for() == BertOnnxConfig.ATOL_FOR_VALIDATION
    assert fp32.atol_for() < fp16.atol_for() < bf16.atol_for()
    # four spacings of the dtype at the output's magnitude: fp16 values in [2, 4) are 2**-9 apart
    assert fp16.atol_for(magnitude=3.0) == 4 * 2.0**-9
    assert fp16.atol_for(magnitude=300.0) == 4 * 2.0**-2
    assert fp32.atol_for(magnitude=300.0) == BertOnnxConfig.ATOL_FOR_VALIDATION


def _tiny_bart():
    return transformers.BartConfig(vocab_size=99, d_model=16, encoder_layers=1, decoder_layers=1,
                                   encoder_attention_heads=2, decoder_attention_heads=2,
                                   encoder_ffn_dim=8, decoder_ffn_dim=8, max_position_embeddings=64)


def test_an_encoder_decoder_classifier_gets_one_eos_per_row_on_its_last_real_position():
    from exportkit.padding import Padding

    bart = _tiny_bart()
    constructor = TasksManager.get_exporter_config_constructor("onnx", model_type="bart", task="text-classification")
    config = constructor(bart)
    assert config.EOS_ENDS_EACH_ROW
    padding = {"attention_mask": Padding("right", (0, 3, 9))}
    inputs = config.generate_dummy_inputs(seed=3, padding=padding, batch_size=3, sequence_length=10)
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    assert (ids == bart.eos_token_id).sum(dim=1).tolist() == [1, 1, 1]
    last_real = mask.sum(dim=1) - 1
    assert ids.gather(1, last_real[:, None]).flatten().tolist() == [bart.eos_token_id] * 3
    # an eos at the top of the vocabulary: the ids it replaces wrap round, never onto padding
    top = _tiny_bart()
    top.eos_token_id, top.pad_token_id = top.vocab_size - 1, 0
    inputs = constructor(top).generate_dummy_inputs(seed=1, batch_size=4, sequence_length=40)
    ids, real = inputs["input_ids"], inputs["attention_mask"].bool()
    assert (ids == top.eos_token_id).sum(dim=1).tolist() == [1] * 4
    assert not ((ids == top.pad_token_id) & real).any()
    # an encoder's classifier reads the first token: its ids are left as drawn
    bert = TasksManager.get_exporter_config_constructor("onnx", model_type="bert", task="text-classification")
    assert not bert(transformers.BertConfig()).EOS_ENDS_EACH_ROW


@pytest.mark.parametrize("length", [1, 2, 3, 7])
def test_the_exportable_shifts_right_are_the_modelling_code_s(length):
    from transformers.models.bart.modeling_bart import shift_tokens_right as bart_shift
    from transformers.models.mbart.modeling_mbart import shift_tokens_right as mbart_shift

    from exportkit.exporters.onnx.patcher import shift_right_patches

    ids = torch.randint(3, 50, (3, length), generator=torch.Generator().manual_seed(length))
    if length > 1:  # (a row of padding alone has no last real token)
        ids[0, 0] = -100  # labels' ignore index becomes padding
        ids[1, length - 1] = 1  # a padded row
    bart = transformers.BartForConditionalGeneration(_tiny_bart())
    (spec,) = shift_right_patches(bart)
    assert torch.equal(spec.custom_op(ids, 1, 2), bart_shift(ids, 1, 2))
    mbart = transformers.MBartForConditionalGeneration(transformers.MBartConfig(**_tiny_bart().to_diff_dict()))
    (spec,) = shift_right_patches(mbart)
    assert torch.equal(spec.custom_op(ids, 1), mbart_shift(ids, 1))
    t5 = transformers.T5ForConditionalGeneration(transformers.T5Config(
        vocab_size=99, d_model=16, d_kv=4, d_ff=8, num_layers=1, num_heads=2, decoder_start_token_id=0))
    specs = {spec.name: spec for spec in shift_right_patches(t5)}
    assert torch.equal(specs["_shift_right"].custom_op(ids), t5._shift_right(ids))
    # T5Gemma's decoder starts from its decoder sub-config's bos token (no decoder_start_token_id)
    from conformance.zoo.transformers_zoo import build

    t5gemma, _ = build("t5gemma", "text-classification")
    specs = {spec.name: spec for spec in shift_right_patches(t5gemma) if spec.o is t5gemma}
    assert torch.equal(specs["_shift_right"].custom_op(ids), t5gemma._shift_right(ids))


@pytest.mark.parametrize("model_type", ["depth-anything", "prompt-depth-anything"])
def test_the_patched_depth_heads_are_the_modelling_code_s(model_type):
    from conformance.zoo.transformers_zoo import build
    from exportkit.exporters.onnx.models.vision import depth_head_patches

    model, _ = build(model_type, "depth-estimation")
    model.eval()
    (spec,) = depth_head_patches(model)
    pixels = torch.randn(2, 3, 42, 70, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = model.backbone(pixels).feature_maps
        maps = model.neck(list(features), 3, 5)
        assert torch.equal(spec.custom_op(maps, 3, 5), spec.o.forward(maps, 3, 5))


@pytest.mark.parametrize("module_name", ["mamba", "falcon_mamba", "jamba", "zamba"])
@pytest.mark.parametrize("length", [1, 5])
def test_the_selective_scan_over_time_is_the_modelling_code_s(module_name, length):
    import importlib
    import inspect

    from exportkit.exporters.onnx.patcher import SELECTIVE_SCAN_PARAMETERS, _selective_scan_over_time

    module = importlib.import_module(f"transformers.models.{module_name}.modeling_{module_name}")
    rng = torch.Generator().manual_seed(length)
    batch, channels, state = 2, 6, 4
    hidden = torch.randn(batch, channels, length, generator=rng)
    dt = torch.randn(batch, channels, length, generator=rng)
    A = -torch.rand(channels, state, generator=rng)
    B, C = torch.randn(batch, state, length, generator=rng), torch.randn(batch, state, length, generator=rng)
    kwargs = {"D": torch.randn(channels, generator=rng), "z": torch.randn(batch, channels, length, generator=rng),
              "delta_bias": torch.randn(channels, generator=rng), "delta_softplus": True, "return_last_state": True}
    assert tuple(inspect.signature(module.mamba_selective_scan).parameters)[:len(SELECTIVE_SCAN_PARAMETERS)] == (
        SELECTIVE_SCAN_PARAMETERS)
    expected_output, expected_state = module.mamba_selective_scan(hidden, dt, A, B, C, **kwargs)
    output, last_state = _selective_scan_over_time(hidden, dt, A, B, C, **kwargs)
    torch.testing.assert_close(output, expected_output, rtol=0, atol=1e-6)
    torch.testing.assert_close(last_state, expected_state, rtol=0, atol=1e-6)
    assert torch.equal(_selective_scan_over_time(hidden, dt, A, B, C), module.mamba_selective_scan(hidden, dt, A, B, C))


@pytest.mark.parametrize("shape, mask_shape", [
    ((2, 3, 4, 5, 8), None), ((2, 3, 4, 5, 8), (2, 3, 1, 5, 5)), ((2, 3, 4, 5, 8), (5, 5)),
    ((6, 5, 8), None), ((6, 5, 8), (6, 5, 5)), ((2, 2, 5, 8), (5, 5)),
])
def test_attention_of_any_rank_is_the_same_as_a_four_dimensional_call(shape, mask_shape):
    import torch.nn.functional as F

    from exportkit.exporters.onnx.patcher import _attention_in_four_dimensions

    rng = torch.Generator().manual_seed(len(shape))
    query, key, value = (torch.randn(shape, generator=rng) for _ in range(3))
    mask = torch.randn(mask_shape, generator=rng) if mask_shape else None
    calls = []

    def four_dimensional_only(query, key, value, attn_mask=None, **kwargs):
        calls.append(query.dim())
        return F.scaled_dot_product_attention(query, key, value, attn_mask, **kwargs)

    attention = _attention_in_four_dimensions(four_dimensional_only)
    torch.testing.assert_close(attention(query, key, value, mask, scale=0.5),
                               F.scaled_dot_product_attention(query, key, value, mask, scale=0.5))
    assert calls == [4]


def test_a_video_model_taking_pixel_values_videos_exports_a_clip_of_its_config_frames_and_size():
    from conformance.zoo import transformers_zoo
    from exportkit.exporters.onnx.models.auto import AutoOnnxConfig
    from exportkit.exporters.onnx.models.vision import VideoOnnxConfig

    # V-JEPA 2 names its clip's frames and size frames_per_clip and crop_size
    tiny = transformers_zoo.tiny_config("vjepa2", "feature-extraction")
    config = AutoOnnxConfig(tiny, task="feature-extraction")
    assert isinstance(config, VideoOnnxConfig)
    assert list(config.inputs) == ["pixel_values_videos"]
    clip = config.generate_dummy_inputs()["pixel_values_videos"]
    assert tuple(clip.shape[1:]) == (tiny.frames_per_clip, 3, tiny.crop_size, tiny.crop_size)
    assert config.inputs["pixel_values_videos"] == {0: "batch_size"}  # frames and size as the position table's


def test_a_patch_based_time_series_encoder_exports_its_context_window_with_the_scaling_it_applied():
    from conformance.zoo import transformers_zoo
    from exportkit.exporters.onnx.config import TimeSeriesOnnxConfig
    from exportkit.exporters.onnx.models.auto import AutoOnnxConfig, DerivedConfigError, derived_config_class

    model, _ = transformers_zoo.build("patchtst", "feature-extraction")
    config = AutoOnnxConfig(model.config, task="feature-extraction")
    assert isinstance(config, TimeSeriesOnnxConfig)
    window = config.generate_dummy_inputs()["past_values"]
    assert tuple(window.shape[1:]) == (model.config.context_length, model.config.num_input_channels)
    assert config.inputs["past_values"] == {0: "batch_size"}
    with torch.no_grad():
        outputs = config.flatten_outputs(config.call_model(model.eval(), config.model_kwargs({"past_values": window})))
    assert set(outputs) == {"last_hidden_state", "loc", "scale"}
    # a forecaster taking time features and observed masks besides its values is refused
    with pytest.raises(DerivedConfigError, match="past_time_features"):
        derived_config_class("informer", "feature-extraction")
