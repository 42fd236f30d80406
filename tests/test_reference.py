"""The reference fused_moe against a per-route loop, and the runner on it: eager and compiled."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from runners import AiterMoeQuantInfo, AiterRunnerCore, AiterRunnerInput, MoeRunnerConfig
from runners.reference import fused_moe

E, H, INTER, K = 6, 16, 8, 2


def _swiglu(gate: torch.Tensor, up: torch.Tensor | None, limit: float) -> torch.Tensor:
    gate = gate.clamp(max=limit)
    out = gate * torch.sigmoid(1.702 * gate)
    return out if up is None else out * (up.clamp(-limit, limit) + 1)


def per_route(x, w1, w2, weight, ids, *, activation="Silu", mask=None, doweight=False, b1=None, b2=None, gate_mode="separated", no_combine=False, limit=7.0):  # type: ignore[no-untyped-def]
    """The obvious loop: one route at a time, in float64."""
    m_, k_ = ids.shape
    inter = w2.shape[2]
    out = torch.zeros(m_, k_, w2.shape[1], dtype=torch.float64)
    for m, k in itertools.product(range(m_), range(k_)):
        e = int(ids[m, k])
        if mask is not None:
            if mask[e] == 0:
                continue
            e = int(mask[:e].sum())
        h = w1[e].double() @ x[m].double() + (0 if b1 is None else b1[e].double())
        if h.shape[0] == inter:
            gate, up = h, None
        elif gate_mode == "interleave":
            gate, up = h[0::2], h[1::2]
        else:
            gate, up = h[:inter], h[inter:]
        if activation == "Swiglu":
            a = _swiglu(gate, up, limit)
        else:
            a = {"Silu": F.silu, "Gelu": F.gelu}[activation](gate) * (1 if up is None else up)
        if doweight:
            a = a * weight[m, k]
        y = w2[e].double() @ a + (0 if b2 is None else b2[e].double())
        out[m, k] = y if (doweight or no_combine) else y * weight[m, k]
    return out if no_combine else out.sum(1)


def _data(m: int, up: bool = True, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "x": torch.randn(m, H, generator=g),
        "w1": torch.randn(E, (2 if up else 1) * INTER, H, generator=g) / 4,
        "w2": torch.randn(E, H, INTER, generator=g) / 4,
        "weight": torch.rand(m, K, generator=g),
        "ids": torch.stack([torch.randperm(E, generator=g)[:K] for _ in range(m)]).to(torch.int32),
        "b1": torch.randn(E, (2 if up else 1) * INTER, generator=g),
        "b2": torch.randn(E, H, generator=g),
    }


CASES = {
    f"{act}-{gm}-{'dw' if dw else 'nodw'}-{'bias' if bias else 'nobias'}-{'up' if up else 'noup'}": (act, gm, dw, bias, up)
    for act, gm, dw, bias, up in itertools.product(
        ["Silu", "Gelu", "Swiglu"], ["separated", "interleave"], [False, True], [False, True], [True, False]
    )
    if up or gm == "separated"
}


@pytest.mark.parametrize("m", [1, 7], ids=["gather-path", "dense-path"])  # M*topk below / above E
@pytest.mark.parametrize(("act", "gate_mode", "doweight", "bias", "up"), CASES.values(), ids=CASES.keys())
def test_reference_matches_the_per_route_loop(m: int, act: str, gate_mode: str, doweight: bool, bias: bool, up: bool) -> None:
    d = _data(m, up)
    b1, b2 = (d["b1"], d["b2"]) if bias else (None, None)
    got = fused_moe(d["x"], d["w1"], d["w2"], d["weight"], d["ids"], activation=act, doweight_stage1=doweight, bias1=b1, bias2=b2, gate_mode=gate_mode)
    want = per_route(d["x"], d["w1"], d["w2"], d["weight"], d["ids"], activation=act, doweight=doweight, b1=b1, b2=b2, gate_mode=gate_mode)
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("m", [1, 7], ids=["gather-path", "dense-path"])
@pytest.mark.parametrize(("doweight", "no_combine"), [(False, False), (True, False), (False, True), (True, True)])
def test_expert_mask(m: int, doweight: bool, no_combine: bool) -> None:
    d = _data(m)
    mask = torch.tensor([1, 0, 1, 1, 0, 1], dtype=torch.int32)
    local = mask.nonzero().flatten()
    got = fused_moe(d["x"], d["w1"][local], d["w2"][local], d["weight"], d["ids"], expert_mask=mask, doweight_stage1=doweight, bias2=d["b2"][local], no_combine=no_combine)
    want = per_route(d["x"], d["w1"][local], d["w2"][local], d["weight"], d["ids"], mask=mask, doweight=doweight, b2=d["b2"][local], no_combine=no_combine)
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("m", [1, 7], ids=["gather-path", "dense-path"])
def test_no_combine_with_doweight_stage1_weights_routes_in_stage_one(m: int) -> None:
    """AITER's native no_combine refuses doweight_stage1; the reference defines it (the
    runner's emulation delivers it): each route's output, weighted inside stage 1."""
    d = _data(m)
    got = fused_moe(d["x"], d["w1"], d["w2"], d["weight"], d["ids"], doweight_stage1=True, bias2=d["b2"], no_combine=True)
    want = per_route(d["x"], d["w1"], d["w2"], d["weight"], d["ids"], doweight=True, b2=d["b2"], no_combine=True)
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5)
    combined = fused_moe(d["x"], d["w1"], d["w2"], d["weight"], d["ids"], doweight_stage1=True, bias2=d["b2"])
    torch.testing.assert_close(got.sum(1), combined)


def test_swiglu_limit_and_output_dtype() -> None:
    d = _data(3)
    got = fused_moe(d["x"] * 10, d["w1"], d["w2"], d["weight"], d["ids"], activation="Swiglu", swiglu_limit=0.5, dtype=torch.bfloat16)
    assert got.dtype == torch.bfloat16
    want = per_route(d["x"] * 10, d["w1"], d["w2"], d["weight"], d["ids"], activation="Swiglu", limit=0.5)
    torch.testing.assert_close(got.double(), want, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quant_type": "per_1x128"}, "computes QuantType.No, per_Tensor and per_Token, not per_1x128"),
        ({"quant_type": "per_Tensor"}, "computes QuantType.per_Tensor from given scales"),
        ({"w1_scale": torch.ones(1)}, "takes no quantisation scales"),
        ({"activation": "No"}, "has no activation 'No'"),
    ],
)
def test_reference_refuses_what_it_does_not_compute(kwargs: dict[str, Any], message: str) -> None:
    d = _data(2)
    with pytest.raises(NotImplementedError, match=message):
        fused_moe(d["x"], d["w1"], d["w2"], d["weight"], d["ids"], **kwargs)


# --- the runner on the reference -------------------------------------------------------


def _runner_io(m: int) -> tuple[AiterRunnerInput, AiterMoeQuantInfo]:
    d = _data(m, seed=3)
    ri = AiterRunnerInput(hidden_states=d["x"], topk_ids=d["ids"], topk_weights=d["weight"])
    return ri, AiterMoeQuantInfo(w13_weight=d["w1"], w2_weight=d["w2"], b13=d["b1"])


@pytest.mark.parametrize("activation", ["silu", "gelu", "swiglu"])
@pytest.mark.parametrize("m", [1, 7])
def test_no_combine_weighted_sum_equals_combined_output(fake_aiter: Any, activation: str, m: int) -> None:
    # A fake installed AITER whose fused_moe *is* the reference: the aiter backend, end to end.
    fake_aiter(
        params=[("hidden_states", None), ("w1", None), ("w2", None), ("topk_weight", None), ("topk_ids", None),
                ("activation", None), ("quant_type", None), ("bias1", "None"), ("no_combine", "False")],
        body="from runners.reference import fused_moe as ref\nreturn ref(**{k: v for k, v in locals().items() if k != 'ref'})",
    )  # fmt: skip
    ri, qi = _runner_io(m)
    routes = AiterRunnerCore(MoeRunnerConfig(activation=activation, no_combine=True)).run(ri, qi).hidden_states
    combined = AiterRunnerCore(MoeRunnerConfig(activation=activation)).run(ri, qi).hidden_states
    assert routes.shape == (m, K, H) and combined.shape == (m, H)
    torch.testing.assert_close((routes * ri.topk_weights.unsqueeze(-1)).sum(1), combined, rtol=1e-5, atol=1e-5)
    reference = AiterRunnerCore(MoeRunnerConfig(activation=activation, backend="reference")).run(ri, qi).hidden_states
    torch.testing.assert_close(reference, combined)


class _MoeLayer(torch.nn.Module):
    def __init__(self, runner: AiterRunnerCore, qi: AiterMoeQuantInfo) -> None:
        super().__init__()
        self.runner, self.qi = runner, qi

    def forward(self, x: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return self.runner.run(AiterRunnerInput(hidden_states=x, topk_ids=ids, topk_weights=weights), self.qi).hidden_states


# Tracing is what fullgraph checks (a graph break raises), so the eager backend is enough;
# one case goes through inductor to show the real compiler takes the graph too.
@pytest.mark.slow  # torch.compile
@pytest.mark.parametrize(("no_combine", "backend"), [(False, "inductor"), (True, "eager")])
def test_run_compiles_with_fullgraph_and_matches_eager(no_combine: bool, backend: str) -> None:
    torch._dynamo.reset()
    ri, qi = _runner_io(7)
    layer = _MoeLayer(AiterRunnerCore(MoeRunnerConfig(backend="reference", no_combine=no_combine)), qi)
    eager = layer(ri.hidden_states, ri.topk_ids, ri.topk_weights)
    compiled = torch.compile(layer, fullgraph=True, backend=backend)  # a graph break raises here
    got = compiled(ri.hidden_states, ri.topk_ids, ri.topk_weights)
    torch.testing.assert_close(got, eager, rtol=1e-4, atol=1e-4)


# --- the reference backend: no_combine served natively, AITER's tuning hints taken and ignored ------


@pytest.mark.parametrize(
    "qi_kw",
    [{}, {"doweight_stage1": True}, {"expert_mask": torch.tensor([1, 1, 0, 1, 1, 1, 1], dtype=torch.int32)}],
    ids=["plain", "doweight-stage1", "expert-mask"],
)
def test_the_reference_backend_serves_no_combine_natively(qi_kw: dict[str, Any]) -> None:
    """Its body reads no_combine, so the runner sends it (fallback='refuse' has nothing to
    refuse), for every request it computes: AITER's native limits are AITER's."""
    ri, qi = _runner_io(5)
    qi = AiterMoeQuantInfo(w13_weight=qi.w13_weight, w2_weight=qi.w2_weight, b13=qi.b13, **qi_kw)
    runner = AiterRunnerCore(MoeRunnerConfig(backend="reference", no_combine=True, fallback="refuse"))
    assert runner.report.features["no_combine"].used is True
    assert runner.offers()["no_combine"].how == "native"
    plan = runner.plan(qi)
    assert (plan.strategy, plan.kwargs.get("no_combine")) == ("native", True)
    got = runner.run(ri, qi).hidden_states
    want = fused_moe(ri.hidden_states, qi.w13_weight, qi.w2_weight, ri.topk_weights, ri.topk_ids, bias1=qi.b13,
                     doweight_stage1=qi.doweight_stage1, expert_mask=qi.expert_mask, no_combine=True)  # fmt: skip
    assert got.shape == (5, K, H) and torch.equal(got, want)


def test_the_reference_takes_aiter_tuning_hints_and_names_them_ignored_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from capabilities import IgnoredOptionWarning, _gate

    monkeypatch.setattr(_gate, "_warned", set())  # "once" is per process: start this one afresh

    ri, qi = _runner_io(4)
    runner = AiterRunnerCore(MoeRunnerConfig(activation="silu", no_combine=True, backend="reference"))
    hints = {"moe_sorting_dispatch_policy": 1, "splitk": 2, "block_size_M": 64}
    fresh = AiterMoeQuantInfo(w13_weight=qi.w13_weight, w2_weight=qi.w2_weight, fused_moe_kwargs=hints)
    import warnings

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        got = runner.run(ri, fresh).hidden_states
        again = AiterMoeQuantInfo(w13_weight=qi.w13_weight, w2_weight=qi.w2_weight, fused_moe_kwargs={"splitk": 4})
        runner.run(ri, again)
    ignored = sorted(str(w.message).split("'")[1] for w in said if w.category is IgnoredOptionWarning)
    assert ignored == sorted(hints)  # each named once, whatever later quant infos pass
    assert all("accepted and ignored by aiter-capabilities reference" in str(w.message) for w in said)
    plain = AiterRunnerCore(MoeRunnerConfig(no_combine=True, backend="reference")).run(ri, AiterMoeQuantInfo(w13_weight=qi.w13_weight, w2_weight=qi.w2_weight))
    assert torch.equal(got, plain.hidden_states)  # they change nothing


def test_the_reference_refuses_an_aiter_kwarg_that_changes_the_result_with_its_own_fix() -> None:
    from runners import InvalidKwargsError

    ri, qi = _runner_io(2)
    runner = AiterRunnerCore(MoeRunnerConfig(backend="reference"))
    bad = AiterMoeQuantInfo(w13_weight=qi.w13_weight, w2_weight=qi.w2_weight, fused_moe_kwargs={"beta": 0.5, "splitK": 1})
    with pytest.raises(InvalidKwargsError) as info:
        runner.run(ri, bad)
    message = str(info.value)
    assert "beta: not a parameter of fused_moe in aiter-capabilities reference 1\n" in message
    assert "splitK: not a parameter of fused_moe in aiter-capabilities reference 1 (did you mean 'splitk'?)" in message
    assert "run backend='aiter' on an AITER build that has it" in message and "install an AITER build" not in message


def test_a_function_the_report_cannot_read_the_body_of_leaves_used_unknown() -> None:
    import functools

    from capabilities import report_for

    @functools.wraps(fused_moe)
    def wrapper(*args: Any, **kwargs: Any) -> torch.Tensor:
        return fused_moe(*args, **{k: v for k, v in kwargs.items() if k != "no_combine"})

    report = report_for(wrapper, distribution="wrapped", version="1", enums={})
    assert report.features["no_combine"].used is None  # its own body is not fused_moe's
    assert report_for(fused_moe, distribution="plain", version="1", enums={}).features["no_combine"].used is True
