"""The AV-LLM bench on tiny models: paired differences to the blind baseline, controls, speed, probes."""

from __future__ import annotations

from avikit.eval.llm_bench import run_llm_bench
from avikit.models.baselines import ChanceModel
from avikit.models.encoders.trunk import load_encoder
from avikit.models.language.baselines import TextPriorModel
from avikit.models.language.encoder_llm import EncoderLLMConfig, build_encoder_llm
from tests.models.language.conftest import tiny_loader


def test_llm_bench_compares_archetypes_with_the_blind_baseline(tiny_encoder, tmp_path):
    lm, tokenizer = tiny_loader()()
    archetype = build_encoder_llm(EncoderLLMConfig(lora_rank=2), load_encoder(tiny_encoder), lm, tokenizer)
    lm, tokenizer = tiny_loader(seed=1)()
    blind = build_encoder_llm(
        EncoderLLMConfig(use_media=False, lora_rank=2, model_id="blind"), None, lm, tokenizer
    )
    prior = TextPriorModel.fit([("Is a <class> visible? Answer yes or no.", "no")])
    models = {"encoder-llm": archetype, "blind-lm-sft": blind, "text-prior": prior, "chance": ChanceModel()}
    results = run_llm_bench(
        tmp_path,
        num_samples=3,
        models=models,
        tasks=("av-hallucination",),
        counterfactual_clips=0,
        generation_clips=0,
        model_names=tuple(models),
    )
    rows = {r["model"]: r for r in results["comparison"]}
    assert set(rows) == set(models) and rows["encoder-llm"]["metric"] == "accuracy"
    assert "vs_blind" in rows["text-prior"] and "vs_blind" not in rows["blind-lm-sft"]
    low, high = rows["encoder-llm"]["vs_blind_ci"]
    assert low <= rows["encoder-llm"]["vs_blind"] <= high
    assert {"audio_only", "video_only"} <= set(rows["encoder-llm"])
    assert set(results["speed"]) == {"encoder-llm", "blind-lm-sft"}
    assert results["speed"]["encoder-llm"]["tokens_per_second"] > 0
    assert "| av-hallucination | accuracy | encoder-llm |" in (tmp_path / "results.md").read_text()
