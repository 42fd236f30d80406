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
