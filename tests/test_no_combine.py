"""no_combine on every build: native inside AITER's limits, emulated through the same fused
kernel elsewhere, refused only when the caller says so."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import torch

from runners import (
    AiterMoeQuantInfo,
    InvalidInputError,
    AiterQuantType,
    AiterRunnerCore,
    AiterRunnerInput,
    MoeRunnerConfig,
    UnsupportedFeatureError,
)
from runners.reference import fused_moe as reference

E, H, INTER, K = 8, 32, 16, 2
# A fake AITER whose fused_moe is the reference, with or without no_combine.
KERNEL = """
import runners.reference as _r

def fused_moe(hidden_states, w1, w2, topk_weight, topk_ids, expert_mask=None, activation=None, quant_type=None,
              doweight_stage1=False{extra}):
    return _r.fused_moe(hidden_states, w1, w2, topk_weight, topk_ids, expert_mask=expert_mask, activation=activation,
                        quant_type=quant_type, doweight_stage1=doweight_stage1{forward})
"""
WITHOUT = KERNEL.format(extra="", forward="")
WITH = KERNEL.format(extra=", no_combine=False", forward=", no_combine=no_combine")


def _io(m: int, dtype: torch.dtype = torch.bfloat16, **qi_kw: Any) -> tuple[AiterRunnerInput, AiterMoeQuantInfo]:
    g = torch.Generator().manual_seed(m)
    ids = torch.stack([torch.randperm(E, generator=g)[:K] for _ in range(m)]) if m else torch.zeros(0, K)
    ri = AiterRunnerInput(
        hidden_states=torch.randn(m, H, generator=g).to(dtype),
        topk_ids=ids.to(torch.int32),
        topk_weights=torch.rand(m, K, generator=g),
    )
    qi = AiterMoeQuantInfo(
        w13_weight=(torch.randn(E, 2 * INTER, H, generator=g) / 4).to(dtype),
        w2_weight=(torch.randn(E, H, INTER, generator=g) / 4).to(dtype),
        **qi_kw,
    )
    return ri, qi


def _native(ri: AiterRunnerInput, qi: AiterMoeQuantInfo) -> torch.Tensor:
    return reference(
        ri.hidden_states, qi.w13_weight, qi.w2_weight, ri.topk_weights, ri.topk_ids,
        expert_mask=qi.expert_mask, doweight_stage1=qi.doweight_stage1, no_combine=True,
    )  # fmt: skip


MASK = torch.tensor([1, 0, 1, 1, 1, 0, 1, 1], dtype=torch.int32)


@pytest.mark.parametrize("m", [0, 1, 7, 64])
@pytest.mark.parametrize(
    "qi_kw",
    [{}, {"expert_mask": MASK}, {"doweight_stage1": True}],
    ids=["plain", "expert-mask", "doweight-stage1"],
)
def test_emulated_equals_the_reference_native_output_bitwise(fake_aiter: Any, m: int, qi_kw: dict[str, Any]) -> None:
    fake_aiter(fused_moe_source=WITHOUT)
    ri, qi = _io(m, **qi_kw)
    if "expert_mask" in qi_kw:  # local experts only
        local = MASK.nonzero().flatten()
        qi = AiterMoeQuantInfo(w13_weight=qi.w13_weight[local], w2_weight=qi.w2_weight[local], expert_mask=MASK)
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True))
    assert runner.plan(qi).strategy == "emulated"
    got = runner.run(ri, qi).hidden_states
    assert got.shape == (m, K, H)
    assert torch.equal(got, _native(ri, qi))


def test_doweight_stage1_means_routes_weighted_in_stage_one(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source=WITHOUT)
    ri, qi = _io(5, torch.float32, doweight_stage1=True)
    routes = AiterRunnerCore(MoeRunnerConfig(no_combine=True)).run(ri, qi).hidden_states
    unweighted = AiterRunnerCore(MoeRunnerConfig(no_combine=True)).run(ri, _io(5, torch.float32)[1]).hidden_states
    # No bias: weighting in stage 1 is the route weight times the unweighted route.
    torch.testing.assert_close(routes, unweighted * ri.topk_weights.unsqueeze(-1), rtol=1e-5, atol=1e-5)


def test_native_inside_the_limits_emulated_outside(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source=WITH)
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True))
    ri, qi = _io(7)
    plan = runner.plan(qi)
    assert (plan.strategy, plan.kwargs.get("no_combine")) == ("native", True)
    assert torch.equal(runner.run(ri, qi).hidden_states, _native(ri, qi))
    for outside, why in [
        ({"quant_type": AiterQuantType.PER_TOKEN}, "QuantType.per_Token"),
        ({"doweight_stage1": True}, "doweight_stage1=True"),
        ({"expert_mask": MASK}, "an expert_mask"),
    ]:
        other = AiterMoeQuantInfo(w13_weight=qi.w13_weight, w2_weight=qi.w2_weight, **outside)
        plan = runner.plan(other)
        assert plan.strategy == "emulated" and why in plan.why and "no_combine" not in plan.kwargs
    assert runner.plan(_io(7, torch.float32)[1]).strategy == "emulated"  # float32 weights


def test_the_emulated_call_is_one_kernel_call_with_routes_as_rows(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, w1, w2, topk_weight, topk_ids, activation=None, quant_type=None",
               body="CALLS.append(dict(locals()))\nreturn hidden_states.new_zeros(hidden_states.shape)")  # fmt: skip
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True))
    ri, qi = _io(3, quant_type=AiterQuantType.PER_TOKEN)  # quantised: emulation serves it too
    out = runner.run(ri, qi).hidden_states
    import aiter.fused_moe

    (call,) = aiter.fused_moe.CALLS  # type: ignore[attr-defined]
    assert out.shape == (3, K, H)
    assert call["hidden_states"].shape == (3 * K, H) and torch.equal(call["hidden_states"][1], ri.hidden_states[0])
    assert call["topk_ids"].shape == (3 * K, 1) and torch.equal(call["topk_ids"].flatten(), ri.topk_ids.flatten())
    assert torch.equal(call["topk_weight"], torch.ones(3 * K, 1))


def test_fallback_refuse_keeps_the_error_before_any_call(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source=WITHOUT)
    with pytest.raises(UnsupportedFeatureError, match="no_combine: unsupported"):
        AiterRunnerCore(MoeRunnerConfig(no_combine=True, fallback="refuse"))


def test_the_strategy_is_visible(fake_aiter: Any, caplog: pytest.LogCaptureFixture) -> None:
    fake_aiter(fused_moe_source=WITHOUT)
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True))
    assert "no_combine=emulated" in repr(runner)
    offers = runner.offers()
    assert offers["no_combine"].how == "emulated"
    assert offers["quant_type=PER_1X32"].how == "native" and offers["gate_mode"].how == "unsupported"
    with caplog.at_level(logging.INFO, logger="runners"):
        for m in (1, 2, 3):
            runner.run(*_io(m))  # three quant infos, one reason: said once
    said = [r for r in caplog.records if r.name == "runners"]
    assert len(said) == 1 and said[0].getMessage().startswith("no_combine is emulated: ")


@pytest.mark.slow  # torch.compile
def test_emulated_compiles_with_fullgraph(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source=WITHOUT)
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True))
    ri, qi = _io(6)

    def layer(x: torch.Tensor, ids: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return runner.run(AiterRunnerInput(hidden_states=x, topk_ids=ids, topk_weights=w), qi).hidden_states

    eager = layer(ri.hidden_states, ri.topk_ids, ri.topk_weights)
    torch._dynamo.reset()
    compiled = torch.compile(layer, fullgraph=True, backend="eager")  # a graph break raises here
    assert torch.equal(compiled(ri.hidden_states, ri.topk_ids, ri.topk_weights), eager)


def test_the_text_report_says_the_runner_can_emulate_it(fake_aiter: Any) -> None:
    import io

    from capabilities._cli import main

    fake_aiter(fused_moe_source=WITHOUT)
    out = io.StringIO()
    assert main([], stdout=out, stderr=io.StringIO()) == 0
    (line,) = [line for line in out.getvalue().splitlines() if line.startswith("no_combine")]
    assert "unsupported natively; runners.AiterRunnerCore emulates it through the same fused kernel" in line


# --- accepted is not honoured, and every per-token input follows its token --------------------

FORWARDING = """
import runners.reference as _r

def fused_moe(hidden_states, w1, w2, topk_weight, topk_ids, expert_mask=None, activation=None, quant_type=None,
              doweight_stage1=False, w1_scale=None, w2_scale=None, a1_scale=None, a2_scale=None,
              num_local_tokens=None{extra}):
    _read = ({touch})
    return _r.fused_moe(hidden_states, w1, w2, topk_weight, topk_ids, expert_mask=expert_mask, activation=activation,
                        quant_type=quant_type, doweight_stage1=doweight_stage1, w1_scale=w1_scale, w2_scale=w2_scale,
                        a1_scale=a1_scale, a2_scale=a2_scale, num_local_tokens=num_local_tokens)
"""
# A build that takes no_combine and never reads it: it returns [M, hidden] whatever was asked.
IGNORING = FORWARDING.format(extra=", no_combine=False", touch="")


def test_a_no_combine_the_body_never_reads_is_emulated(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source=IGNORING)
    ri, qi = _io(5)
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True))
    plan = runner.plan(qi)
    assert plan.strategy == "emulated" and "never reads it" in plan.why
    assert "no_combine" not in plan.kwargs
    got = runner.run(ri, qi).hidden_states
    assert got.shape == (5, K, H)
    assert torch.equal(got, _native(ri, qi))


def test_refuse_names_a_no_combine_that_is_accepted_and_ignored(fake_aiter: Any) -> None:
    import capabilities

    fake_aiter(fused_moe_source=IGNORING)
    with pytest.raises(UnsupportedFeatureError, match=r"accepted, not honoured: .* its body never reads it") as info:
        AiterRunnerCore(MoeRunnerConfig(no_combine=True, fallback="refuse"))
    # The refusal SGLang's recipe raises says the same, and neither calls it supported.
    recipe = capabilities.errors.unsupported_error(capabilities.probe(), ["no_combine"], requested_by="no_combine=True")
    for message in (str(info.value), str(recipe)):
        assert "no_combine: accepted, not honoured: " in message and "supported:" not in message


def test_refuse_says_when_whether_it_is_read_cannot_be_told(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source=FORWARDING.format(extra=", no_combine=False", touch="eval(input())"))
    with pytest.raises(UnsupportedFeatureError, match="accepted, not honoured: .*whether its body reads it cannot be told") as info:
        AiterRunnerCore(MoeRunnerConfig(no_combine=True, fallback="refuse"))
    assert "supported:" not in str(info.value)


def _quantised(m: int) -> tuple[AiterRunnerInput, AiterMoeQuantInfo, torch.Tensor]:
    """Per-token int8-style inputs: values and scales, the scales one per token and per channel."""
    g = torch.Generator().manual_seed(100 + m)
    ids = torch.stack([torch.randperm(E, generator=g)[:K] for _ in range(m)]).to(torch.int32)
    x = torch.randint(-8, 8, (m, H), generator=g).float()
    scale = torch.rand(m, 1, generator=g) + 0.5
    ri = AiterRunnerInput(hidden_states=x, topk_ids=ids, topk_weights=torch.rand(m, K, generator=g), a1_scale=scale)
    qi = AiterMoeQuantInfo(
        w13_weight=torch.randint(-4, 4, (E, 2 * INTER, H), generator=g).float(),
        w2_weight=torch.randint(-4, 4, (E, H, INTER), generator=g).float(),
        w13_scale=torch.rand(E, 2 * INTER, 1, generator=g) / 8,
        w2_scale=torch.rand(E, H, 1, generator=g) / 8,
        quant_type=AiterQuantType.PER_TOKEN,
    )
    return ri, qi, scale


@pytest.mark.parametrize("m", [1, 6, 33])
def test_per_token_scales_follow_their_tokens_bitwise(fake_aiter: Any, m: int) -> None:
    fake_aiter(fused_moe_source=FORWARDING.format(extra="", touch=""))
    ri, qi, scale = _quantised(m)
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True))
    assert runner.plan(qi).strategy == "emulated"
    got = runner.run(ri, qi).hidden_states
    want = reference(
        ri.hidden_states, qi.w13_weight, qi.w2_weight, ri.topk_weights, ri.topk_ids, quant_type="per_Token",
        w1_scale=qi.w13_scale, w2_scale=qi.w2_scale, a1_scale=scale, no_combine=True,
    )  # fmt: skip
    assert got.shape == (m, K, H)
    assert torch.equal(got, want)


@pytest.mark.parametrize(("m", "local"), [(8, 3), (8, 8), (8, 0), (1, 1)])
def test_num_local_tokens_keeps_every_real_token_bitwise(fake_aiter: Any, m: int, local: int) -> None:
    fake_aiter(fused_moe_source=FORWARDING.format(extra="", touch=""))
    ri, qi = _io(m)
    n = torch.tensor([local], dtype=torch.int32)
    ri.num_local_tokens = n
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True))
    got = runner.run(ri, qi).hidden_states
    want = reference(ri.hidden_states, qi.w13_weight, qi.w2_weight, ri.topk_weights, ri.topk_ids, num_local_tokens=n, no_combine=True)
    assert torch.equal(got, want)
    assert bool(got[:local].abs().sum() > 0) is (local > 0)  # real tokens are not zeros
    assert not got[local:].any()


def test_a_per_token_scale_without_a_row_per_token_is_refused(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source=FORWARDING.format(extra="", touch=""))
    ri, qi, _ = _quantised(4)
    ri.a1_scale = torch.ones(1)
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True))
    with pytest.raises(InvalidInputError, match=r"a1_scale of shape \(1,\) has no row per token for M=4"):
        runner.run(ri, qi)


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [({"shared_expert_id": 3}, "shared_expert_id: whether it holds a value per token"),
     ({"stage2_scatter": True}, "stage2_scatter: whether it holds a value per token")],
)
def test_options_emulation_cannot_expand_are_refused_at_plan_time(fake_aiter: Any, kwargs: dict[str, Any], said: str) -> None:
    names = "".join(f", {k}=None" for k in kwargs)
    fake_aiter(fused_moe_source=FORWARDING.format(extra=names, touch=", ".join(kwargs) + ","))
    ri, qi = _io(3)
    qi = AiterMoeQuantInfo(w13_weight=qi.w13_weight, w2_weight=qi.w2_weight, fused_moe_kwargs=kwargs)
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True))
    with pytest.raises(InvalidInputError, match=said):
        runner.plan(qi)
    assert AiterRunnerCore(MoeRunnerConfig()).plan(qi).strategy == "combined"  # without no_combine they pass
