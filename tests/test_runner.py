"""The runner against fake installed AITERs: checked before any kernel call, then dispatched."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch

from runners import (
    AiterMoeQuantInfo,
    AiterQuantType,
    AiterRunnerCore,
    AiterRunnerInput,
    AiterUnavailableError,
    InvalidConfigError,
    InvalidInputError,
    InvalidKwargsError,
    KwargCollisionError,
    MoeRunnerConfig,
    UnsupportedFeatureError,
    UnverifiedFeatureWarning,
)
from capabilities.testing import DEFAULT_ENUMS
from tests.conftest import HISTORY

LATEST = [tuple(p) for p in HISTORY[-1]["fused_moe_params"]]  # v0.1.20.post1
FIRST = [tuple(p) for p in HISTORY[0]["fused_moe_params"]]  # v0.1.1
WITH_NO_COMBINE = [*LATEST, ("no_combine", "False")]
# Records the call and returns a tensor of the shape AITER would.
BODY = """
CALLS.append(dict(locals()))
m, h = hidden_states.shape
return hidden_states.new_zeros((m, h))
"""
# The same for a build whose body reads no_combine (and so honours it).
BODY_NC = """
CALLS.append(dict(locals()))
m, h = hidden_states.shape
if no_combine:
    return hidden_states.new_zeros((m, topk_ids.shape[1], h))
return hidden_states.new_zeros((m, h))
"""
M, E, H, INTER, K = 5, 6, 16, 8, 2


def _calls() -> list[dict[str, Any]]:
    import aiter.fused_moe

    return aiter.fused_moe.CALLS  # type: ignore[no-any-return]


def _quant_info(dtype: torch.dtype = torch.float32, **kw: Any) -> AiterMoeQuantInfo:
    g = torch.Generator().manual_seed(1)
    w1 = (torch.randn(E, 2 * INTER, H, generator=g) / 4).to(dtype)
    w2 = (torch.randn(E, H, INTER, generator=g) / 4).to(dtype)
    return AiterMoeQuantInfo(w13_weight=w1, w2_weight=w2, **kw)


def _input(m: int = M, **kw: Any) -> AiterRunnerInput:
    g = torch.Generator().manual_seed(2)
    ids = torch.stack([torch.randperm(E, generator=g)[:K] for _ in range(m)]) if m else torch.zeros(0, K)
    weights = torch.rand(m, K, generator=g)
    return AiterRunnerInput(
        hidden_states=torch.randn(m, H, generator=g), topk_ids=ids.to(torch.int32), topk_weights=weights, **kw
    )


# --- the three upstream scenarios ----------------------------------------------


def test_forwards_no_combine_and_extra_kwargs(fake_aiter: Any) -> None:
    fake_aiter(params=WITH_NO_COMBINE, body=BODY_NC, version="0.1.21.dev1")
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True))
    qi = _quant_info(torch.bfloat16, fused_moe_kwargs={"splitk": 2, "moe_sorting_dispatch_policy": 1})
    assert runner.plan(qi).strategy == "native"  # bf16, QuantType.No, g1u1: inside AITER's limits
    out = runner.run(_input(), qi)
    assert out.hidden_states.shape == (M, K, H)
    (call,) = _calls()
    import aiter

    assert call["no_combine"] is True
    assert (call["splitk"], call["moe_sorting_dispatch_policy"]) == (2, 1)
    assert call["activation"] is aiter.ActivationType.Silu  # type: ignore[attr-defined]
    assert call["quant_type"] is aiter.QuantType.No  # type: ignore[attr-defined]
    assert call["w1"] is qi.w13_weight and call["w2"] is qi.w2_weight


def test_rejects_no_combine_when_unsupported(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=BODY, version="0.1.20.post1")
    with pytest.raises(UnsupportedFeatureError) as info:
        AiterRunnerCore(MoeRunnerConfig(no_combine=True, fallback="refuse"))
    err = info.value
    assert isinstance(err, NotImplementedError)
    assert (err.feature, err.distribution, err.version) == ("no_combine", "amd-aiter", "0.1.20.post1")
    message = str(err)
    assert message.startswith("MoeRunnerConfig(no_combine=True, fallback='refuse') needs 1 feature(s) not supported by amd-aiter 0.1.20.post1")
    assert "no_combine: unsupported: not a parameter of fused_moe in amd-aiter 0.1.20.post1" in message
    assert "Fix: install an AITER build whose fused_moe takes no_combine (ROCm/aiter#3361), set fallback='emulate'" in message
    assert _calls() == []


@pytest.mark.parametrize(("no_combine", "shape"), [(True, (0, K, H)), (False, (0, H))])
def test_empty_input_calls_no_kernel_and_keeps_rank(fake_aiter: Any, no_combine: bool, shape: tuple[int, ...]) -> None:
    fake_aiter(params=WITH_NO_COMBINE, body=BODY_NC)
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=no_combine))
    ri = _input(0)
    ri.hidden_states = ri.hidden_states.to(torch.bfloat16)
    out = runner.run(ri, _quant_info())
    assert out.hidden_states.shape == shape
    assert out.hidden_states.dtype == torch.bfloat16 and out.hidden_states.device == ri.hidden_states.device
    assert _calls() == []


def test_empty_input_is_still_checked_before_it_is_answered(fake_aiter: Any) -> None:
    fake_aiter(params=WITH_NO_COMBINE, body=BODY_NC)  # native no_combine: the runner is made
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True, fallback="refuse"))
    # fp32 weights are outside the native limits, and refuse forbids emulating: even with no
    # tokens the request is refused, as it would be with tokens.
    with pytest.raises(UnsupportedFeatureError, match="no_combine: not served natively: outside the native limits"):
        runner.run(_input(0), _quant_info(torch.float32))
    with pytest.raises(InvalidKwargsError, match="zz"):
        AiterRunnerCore(MoeRunnerConfig()).run(_input(0), _quant_info(fused_moe_kwargs={"zz": 1}))
    assert _calls() == []


# --- kwargs -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "suggestion"),
    [({"split_k": 1}, "did you mean 'splitk'?"), ({"linearbeta": 1.0}, "did you mean 'linear_beta'?"), ({"zzz": 1}, "")],
)
def test_misspelt_kwarg_is_a_type_error_before_the_call(fake_aiter: Any, kwargs: dict[str, Any], suggestion: str) -> None:
    fake_aiter(params=LATEST, body=BODY, version="0.1.20.post1")
    runner = AiterRunnerCore(MoeRunnerConfig())
    with pytest.raises(InvalidKwargsError) as info:
        runner.run(_input(), _quant_info(fused_moe_kwargs=kwargs))
    err = info.value
    assert isinstance(err, TypeError) and err.kwarg == next(iter(kwargs))
    message = str(err)
    assert f"fused_moe in amd-aiter 0.1.20.post1 does not accept fused_moe_kwargs {list(kwargs)}" in message
    assert suggestion in message
    assert "It accepts by keyword (beyond the runner's own): block_size_M, moe_sorting_dispatch_policy" in message
    assert _calls() == []


def test_every_bad_kwarg_is_named_sorted(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=BODY)
    with pytest.raises(InvalidKwargsError) as info:
        AiterRunnerCore(MoeRunnerConfig()).run(_input(), _quant_info(fused_moe_kwargs={"zz": 1, "aa": 2, "splitk": 1}))
    assert info.value.kwargs == ("aa", "zz")


@pytest.mark.parametrize(
    ("key", "owner"),
    [
        ("no_combine", "MoeRunnerConfig.no_combine"),
        ("quant_type", "AiterMoeQuantInfo.quant_type"),
        ("hidden_states", "AiterRunnerInput.hidden_states"),
        ("w1", "AiterMoeQuantInfo.w13_weight"),
    ],
)
def test_a_kwarg_never_sets_what_the_runner_computes(fake_aiter: Any, key: str, owner: str) -> None:
    fake_aiter(params=WITH_NO_COMBINE, body=BODY_NC)
    runner = AiterRunnerCore(MoeRunnerConfig())
    with pytest.raises(KwargCollisionError, match=f"'{key}' is set by the runner from {owner}") as info:
        runner.run(_input(), _quant_info(fused_moe_kwargs={key: None}))
    assert isinstance(info.value, ValueError) and info.value.kwarg == key
    assert _calls() == []


@pytest.mark.parametrize(
    ("config", "qi_kw", "key", "value"),
    [
        ({}, {}, "activation", "an ActivationType member"),
        ({}, {}, "swiglu_limit", 7.0),
        ({}, {"swiglu_limit": 0.0}, "swiglu_limit", 7.0),  # 0.0 is off: the kwarg wins
        ({}, {}, "hidden_pad", 64),
        ({}, {}, "gate_mode", "interleave"),
        ({}, {"hidden_pad": 64}, "hidden_pad", 64),  # both set, to the same value
    ],
)
def test_a_kwarg_wins_where_the_runner_leaves_its_option_at_the_default(
    fake_aiter: Any, config: dict[str, Any], qi_kw: dict[str, Any], key: str, value: Any
) -> None:
    fake_aiter(params=LATEST, body=BODY)
    AiterRunnerCore(MoeRunnerConfig(**config)).run(_input(), _quant_info(fused_moe_kwargs={key: value}, **qi_kw))
    (call,) = _calls()
    assert call[key] == value


@pytest.mark.parametrize(
    ("config", "qi_kw", "key", "value", "named"),
    [
        ({"activation": "gelu"}, {}, "activation", None, "MoeRunnerConfig.activation='gelu'"),
        ({"gate_mode": "separated"}, {}, "gate_mode", "interleave", "MoeRunnerConfig.gate_mode='separated'"),
        ({}, {"swiglu_limit": 5.0}, "swiglu_limit", 7.0, "AiterMoeQuantInfo.swiglu_limit"),
        ({}, {"b13": torch.zeros(1)}, "bias1", torch.zeros(1), "AiterMoeQuantInfo.b13"),
    ],
)
def test_both_sides_set_to_different_values_is_an_error_naming_both(
    fake_aiter: Any, config: dict[str, Any], qi_kw: dict[str, Any], key: str, value: Any, named: str
) -> None:
    fake_aiter(params=LATEST, body=BODY)
    runner = AiterRunnerCore(MoeRunnerConfig(**config))
    with pytest.raises(KwargCollisionError, match="set twice, to different values") as info:
        runner.run(_input(), _quant_info(fused_moe_kwargs={key: value}, **qi_kw))
    assert f"fused_moe_kwargs[{key!r}] and {named}" in str(info.value)
    assert info.value.kwargs == (key,)
    assert _calls() == []


@pytest.mark.parametrize(("qi_kw", "kwargs"), [({"swiglu_limit": 0.0}, {}), ({"swiglu_limit": None}, {}), ({}, {"splitk": 0}), ({}, {"swiglu_limit": 0.0})])
def test_an_option_at_its_off_value_is_neither_sent_nor_refused(fake_aiter: Any, qi_kw: dict[str, Any], kwargs: dict[str, Any]) -> None:
    fake_aiter(params=FIRST, body=BODY, version="0.1.1")  # v0.1.1: no swiglu_limit, no splitk
    AiterRunnerCore(MoeRunnerConfig()).run(_input(), _quant_info(fused_moe_kwargs=kwargs or None, **qi_kw))
    (call,) = _calls()
    assert "swiglu_limit" not in call and "splitk" not in call


def test_an_option_on_is_refused_by_a_build_without_it(fake_aiter: Any) -> None:
    fake_aiter(params=FIRST, body=BODY, version="0.1.1")
    with pytest.raises(UnsupportedFeatureError, match="swiglu_limit"):
        AiterRunnerCore(MoeRunnerConfig()).run(_input(), _quant_info(swiglu_limit=7.0))
    with pytest.raises(InvalidKwargsError, match="splitk"):
        AiterRunnerCore(MoeRunnerConfig()).run(_input(), _quant_info(fused_moe_kwargs={"splitk": 2}))


def test_kwargs_catch_all_forwards_with_one_warning(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, w1, w2, topk_weight, topk_ids, activation=None, quant_type=None, **kwargs", body=BODY, version="9.9.kw")
    qi = _quant_info(fused_moe_kwargs={"brand_new": 7})
    with pytest.warns(UnverifiedFeatureWarning, match="forwarding 'brand_new' unverified to amd-aiter 9.9.kw: brand_new: unknown"):
        AiterRunnerCore(MoeRunnerConfig()).run(_input(), qi)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runner = AiterRunnerCore(MoeRunnerConfig())
        runner.run(_input(), _quant_info(fused_moe_kwargs={"brand_new": 8}))  # the same name: no second warning
        runner.run(_input(), _quant_info(fused_moe_kwargs={"brand_new": 9}))
    assert [c["kwargs"]["brand_new"] for c in _calls()] == [7, 8, 9]


def test_kwargs_are_frozen_at_construction(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=BODY)
    raw = {"splitk": 1}
    qi = _quant_info(fused_moe_kwargs=raw)
    runner = AiterRunnerCore(MoeRunnerConfig())
    runner.run(_input(), qi)
    raw["not_a_parameter"] = 1  # the caller's dict: copied, so this changes nothing
    raw["splitk"] = 99
    runner.run(_input(), qi)
    assert [c["splitk"] for c in _calls()] == [1, 1]
    with pytest.raises(TypeError):
        qi.fused_moe_kwargs["splitk"] = 2  # type: ignore[index]
    with pytest.raises(AttributeError):
        qi.fused_moe_kwargs = {"zz": 1}  # type: ignore[misc]


def test_plan_is_built_once_per_quant_info(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=BODY)
    runner = AiterRunnerCore(MoeRunnerConfig())
    qi = _quant_info(fused_moe_kwargs={"splitk": 1})
    first = runner.plan(qi)
    runner.run(_input(), qi)
    assert runner.plan(qi) is first
    assert runner.plan(_quant_info()) is not first


# --- options the runner derives ------------------------------------------------


def test_derived_options_are_forwarded_where_supported(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=BODY)
    runner = AiterRunnerCore(MoeRunnerConfig(activation="swiglu", gate_mode="interleave"))
    b13 = torch.zeros(E, 2 * INTER)
    qi = _quant_info(swiglu_limit=7.0, b13=b13, hidden_pad=0)
    nlt = torch.tensor([M])
    runner.run(_input(output_dtype=torch.bfloat16, num_local_tokens=nlt), qi)
    (call,) = _calls()
    assert (call["swiglu_limit"], call["gate_mode"], call["bias1"] is b13) == (7.0, "interleave", True)
    assert call["dtype"] is torch.bfloat16 and call["num_local_tokens"] is nlt


@pytest.mark.parametrize(
    ("config", "qi_kw", "input_kw", "feature"),
    [
        ({}, {"swiglu_limit": 7.0}, {}, "swiglu_limit"),
        ({"gate_mode": "interleave"}, {}, {}, "gate_mode"),
        ({}, {"b13": torch.zeros(1)}, {}, "bias1"),
        ({}, {"hidden_pad": 64}, {}, "hidden_pad"),
        ({}, {}, {"output_dtype": torch.bfloat16}, "dtype"),
        ({}, {}, {"num_local_tokens": torch.tensor([1])}, "num_local_tokens"),
        ({"activation": "swiglu"}, {}, {}, "ActivationType.Swiglu"),
        ({}, {"quant_type": AiterQuantType.PER_256X128}, {}, "QuantType.per_256x128"),
        ({}, {}, {"quant_type": AiterQuantType.PER_1X32}, "QuantType.per_1x32"),
    ],
)
def test_derived_options_fail_early_on_an_old_build(
    fake_aiter: Any, config: dict[str, Any], qi_kw: dict[str, Any], input_kw: dict[str, Any], feature: str
) -> None:
    fake_aiter(params=FIRST, body=BODY, version="0.1.1", enums=HISTORY[0]["enums"])
    with pytest.raises(UnsupportedFeatureError, match=f"{feature}: unsupported") as info:
        AiterRunnerCore(MoeRunnerConfig(**config)).run(_input(**input_kw), _quant_info(**qi_kw))
    assert info.value.feature == feature and info.value.version == "0.1.1"
    assert _calls() == []


# --- malformed input ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda ri: setattr(ri, "hidden_states", ri.hidden_states[None]), "hidden_states must be [M, hidden] (rank 2), got rank 3"),
        (lambda ri: setattr(ri, "topk_ids", ri.topk_ids[:, 0]), "topk_ids must be [M, topk] (rank 2), got rank 1"),
        (lambda ri: setattr(ri, "hidden_states", ri.hidden_states[:-1]), "M differs: hidden_states has 4 rows, topk_ids 5"),
        (lambda ri: setattr(ri, "topk_ids", ri.topk_ids.long()), "topk_ids must be int32, got torch.int64"),
    ],
    ids=["hidden-rank", "ids-rank", "m-mismatch", "ids-int64"],
)
def test_malformed_input_is_a_value_error_before_the_call(fake_aiter: Any, change: Any, message: str) -> None:
    fake_aiter(params=LATEST, body=BODY)
    ri = _input()
    change(ri)
    with pytest.raises(InvalidInputError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")):
        AiterRunnerCore(MoeRunnerConfig()).run(ri, _quant_info())
    assert _calls() == []


# --- config and backend ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"activation": "no such"}, "activation"), ({"backend": "triton"}, "backend"), ({"no_combine": 1}, "no_combine"), ({"gate_mode": "x"}, "gate_mode")],
)
def test_invalid_config_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidConfigError, match=f"MoeRunnerConfig.{field} must be") as info:
        MoeRunnerConfig(**kwargs)
    assert isinstance(info.value, ValueError) and info.value.field == field


def test_aiter_backend_never_falls_back(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=BODY, import_error='RuntimeError("ROCm version file not found")')
    with pytest.raises(AiterUnavailableError, match="RuntimeError: ROCm version file not found.*backend='reference'"):
        AiterRunnerCore(MoeRunnerConfig())


def test_aiter_backend_on_an_impostor(fake_aiter: Any) -> None:
    fake_aiter(impostor=True)
    with pytest.raises(AiterUnavailableError, match="AMD's AITER is the distribution 'amd-aiter'"):
        AiterRunnerCore(MoeRunnerConfig())


def test_reference_backend_rejects_an_aiter_report(fake_aiter: Any) -> None:
    import capabilities

    fake_aiter()
    with pytest.raises(InvalidConfigError, match="applies to backend='aiter'"):
        AiterRunnerCore(MoeRunnerConfig(backend="reference"), report=capabilities.probe())


def test_quant_type_override_per_call(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=BODY)
    runner = AiterRunnerCore(MoeRunnerConfig())
    qi = _quant_info(quant_type=AiterQuantType.PER_TOKEN)
    runner.run(_input(quant_type=AiterQuantType.PER_TOKEN), qi)  # its own: no override
    runner.run(_input(quant_type=AiterQuantType.PER_1X32), qi)
    runner.run(_input(), qi)
    import aiter

    expected = [aiter.QuantType.per_Token, aiter.QuantType.per_1x32, aiter.QuantType.per_Token]  # type: ignore[attr-defined]
    assert [c["quant_type"] for c in _calls()] == expected
    assert runner.plan(qi, AiterQuantType.PER_TOKEN) is runner.plan(qi)
    assert runner.plan(qi, AiterQuantType.PER_1X32) is not runner.plan(qi)


# --- bad arguments get clear errors, before any kernel call ------------------------------


@pytest.mark.parametrize("bad", [None, {"w13_weight": None}, "qi"], ids=["none", "dict", "str"])
def test_a_bad_quant_info_is_named_on_a_fresh_runner(fake_aiter: Any, bad: Any) -> None:
    fake_aiter(params=LATEST, body=BODY)
    runner = AiterRunnerCore(MoeRunnerConfig())
    with pytest.raises(TypeError, match=f"quant_info must be an AiterMoeQuantInfo, not {type(bad).__name__}"):
        runner.run(_input(), bad)
    assert _calls() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda ri: setattr(ri, "topk_weights", None), r"topk_weights NoneType \(not a tensor\)"),
        (lambda ri: setattr(ri, "topk_ids", None), r"AiterRunnerInput.topk_ids must be a torch.Tensor int32 \[M, topk\], not NoneType"),
        (lambda ri: setattr(ri, "output_dtype", "bf16"), "output_dtype must be a torch.dtype such as torch.bfloat16, not 'bf16'"),
    ],
    ids=["weights-none-with-bad-ids", "ids-none", "dtype-string"],
)
def test_the_error_path_survives_odd_values(fake_aiter: Any, change: Any, message: str) -> None:
    fake_aiter(params=LATEST, body=BODY)
    ri = _input()
    if "weights" in message:
        ri.topk_ids = ri.topk_ids.long()  # the error path must describe the None beside it
    change(ri)
    with pytest.raises(InvalidInputError, match=message):
        AiterRunnerCore(MoeRunnerConfig()).run(ri, _quant_info())
    assert _calls() == []


def test_no_combine_with_doweight_stage1_is_refused_at_plan_time(fake_aiter: Any) -> None:
    """AITER's native no_combine cannot weight routes in stage 1; with fallback='refuse' that
    is said at plan time (emulation serves it: tests/test_no_combine.py)."""
    fake_aiter(params=WITH_NO_COMBINE, body=BODY_NC)
    runner = AiterRunnerCore(MoeRunnerConfig(no_combine=True, fallback="refuse"))
    with pytest.raises(UnsupportedFeatureError, match=r"no_combine: not served natively: outside the native limits \(doweight_stage1=True\)"):
        runner.plan(_quant_info(torch.bfloat16, doweight_stage1=True))
    assert _calls() == []


def test_the_unverified_warning_points_at_the_callers_line(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, w1, w2, topk_weight, topk_ids, activation=None, quant_type=None, **kwargs", body=BODY, version="9.9.line")
    runner = AiterRunnerCore(MoeRunnerConfig())
    with pytest.warns(UnverifiedFeatureWarning) as record:
        runner.run(_input(), _quant_info(fused_moe_kwargs={"pointed": 1}))
    assert record[0].filename == __file__


def test_only_what_differs_from_the_defaults_is_planned(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=BODY)
    runner = AiterRunnerCore(MoeRunnerConfig())
    plain = runner.plan(_quant_info(hidden_pad=0, doweight_stage1=False))
    assert sorted(plain.kwargs) == ["activation", "quant_type"]
    b13 = torch.zeros(E, 2 * INTER)
    rich = runner.plan(_quant_info(hidden_pad=64, doweight_stage1=True, b13=b13, swiglu_limit=7.0))
    assert sorted(rich.kwargs) == ["activation", "bias1", "doweight_stage1", "hidden_pad", "quant_type", "swiglu_limit"]
    assert (rich.kwargs["hidden_pad"], rich.kwargs["doweight_stage1"], rich.kwargs["bias1"] is b13) == (64, True, True)


def test_forwarding_an_option_the_body_never_reads_warns_once(fake_aiter: Any) -> None:
    from capabilities import IgnoredOptionWarning

    fake_aiter(params=LATEST, body="return hidden_states.new_zeros(hidden_states.shape)", version="0.1.20.post1")
    runner = AiterRunnerCore(MoeRunnerConfig())
    with pytest.warns(IgnoredOptionWarning, match=r"fused_moe_kwargs\['splitk'\]: 'splitk' is accepted and ignored by amd-aiter 0.1.20.post1") as record:
        runner.run(_input(), _quant_info(fused_moe_kwargs={"splitk": 2}))
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runner.run(_input(), _quant_info(fused_moe_kwargs={"splitk": 4}))  # once per build and name


# --- plans by value -------------------------------------------------------------------------


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per recipe the runner builds (validates)."""
    from runners import _core

    count: list[int] = []
    real = _core.build_recipe
    monkeypatch.setattr(_core, "build_recipe", lambda *a: count.append(1) or real(*a))
    return count


def test_a_fresh_quant_info_with_the_same_options_reuses_the_validation(fake_aiter: Any, built: list[int]) -> None:
    fake_aiter(params=LATEST, body=BODY)
    runner = AiterRunnerCore(MoeRunnerConfig())
    w1 = []
    for i in range(3):  # a new quant info every forward, as SGLang builds it
        qi = _quant_info(fused_moe_kwargs={"splitk": 1}, b13=torch.full((E, 2 * INTER), float(i)))
        runner.run(_input(), qi)
        w1.append(qi.w13_weight)
    assert len(built) == 1
    calls = _calls()
    assert [c["bias1"][0, 0].item() for c in calls] == [0.0, 1.0, 2.0]  # each call's own tensors
    assert all(c["w1"] is w for c, w in zip(calls, w1))
    runner.run(_input(), _quant_info(fused_moe_kwargs={"splitk": 2}))  # another value: validated again
    runner.run(_input(), _quant_info(fused_moe_kwargs={"splitk": [1]}))  # unhashable: validated on its own
    runner.run(_input(), _quant_info(torch.bfloat16, fused_moe_kwargs={"splitk": 1}))  # other weight dtypes
    assert len(built) == 4


def test_an_unhashable_kwarg_is_validated_once_per_quant_info(fake_aiter: Any, built: list[int]) -> None:
    fake_aiter(params=LATEST, body=BODY)
    runner = AiterRunnerCore(MoeRunnerConfig())
    qi = _quant_info(fused_moe_kwargs={"splitk": [1]})
    for _ in range(3):
        runner.run(_input(), qi)
    assert len(built) == 1


@pytest.mark.parametrize(("activation", "member"), [("silu", "Silu"), ("swiglu", "Swiglu"), ("situv2", "Situv2"), ("situ", "Situv2")])
def test_activations_come_from_the_builds_header(fake_aiter: Any, activation: str, member: str) -> None:
    fake_aiter(params=LATEST, body=BODY, enums={**DEFAULT_ENUMS, "ActivationType": ["No", "Silu", "Gelu", "Swiglu", "Situv2"]})
    AiterRunnerCore(MoeRunnerConfig(activation=activation)).run(_input(), _quant_info())
    (call,) = _calls()
    assert call["activation"].name == member


def test_an_activation_the_build_lacks_is_refused_with_its_history(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=BODY, enums={**DEFAULT_ENUMS, "ActivationType": ["No", "Silu", "Gelu", "Swiglu"]})
    with pytest.raises(UnsupportedFeatureError, match=r"ActivationType.Situv2.*has no member Situv2 \(first released in v0.1.19\)"):
        AiterRunnerCore(MoeRunnerConfig(activation="situv2"))
    with pytest.raises(UnsupportedFeatureError, match="has no member Relu"):
        AiterRunnerCore(MoeRunnerConfig(activation="relu"))


def test_a_versionless_activation_is_not_guessed_between_two_versions(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=BODY, enums={**DEFAULT_ENUMS, "ActivationType": ["No", "Silu", "Situv2", "Situv3"]})
    with pytest.raises(UnsupportedFeatureError, match="has no member Situ"):
        AiterRunnerCore(MoeRunnerConfig(activation="situ"))


def test_a_per_call_option_and_a_kwarg_with_different_values_is_an_error(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=BODY)
    runner = AiterRunnerCore(MoeRunnerConfig())
    qi = _quant_info(fused_moe_kwargs={"dtype": torch.float32})
    runner.run(_input(), qi)  # the kwarg alone: sent
    runner.run(_input(output_dtype=torch.float32), qi)  # the same value twice: fine
    with pytest.raises(KwargCollisionError, match=r"fused_moe_kwargs\['dtype'\] and AiterRunnerInput.output_dtype"):
        runner.run(_input(output_dtype=torch.bfloat16), qi)
    assert [c["dtype"] for c in _calls()] == [torch.float32, torch.float32]


def test_a_fresh_quant_info_of_the_same_objects_takes_the_last_plan_by_identity(fake_aiter: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from runners import _core

    fake_aiter(params=LATEST, body=BODY)
    runner = AiterRunnerCore(MoeRunnerConfig())
    base = _quant_info()
    options = {"splitk": 1, "moe_sorting_dispatch_policy": 0}

    def fresh(**kw: Any) -> AiterMoeQuantInfo:  # built in every forward, from the layer's own objects
        return AiterMoeQuantInfo(**{"w13_weight": base.w13_weight, "w2_weight": base.w2_weight, "fused_moe_kwargs": options, **kw})

    runner.run(_input(), fresh())
    bound: list[int] = []
    real = _core.bind
    monkeypatch.setattr(_core, "bind", lambda *a: bound.append(1) or real(*a))
    for _ in range(3):
        runner.run(_input(), fresh())
    assert bound == []  # the same objects: the last plan, by identity
    runner.run(_input(), fresh(fused_moe_kwargs={"moe_sorting_dispatch_policy": 1, "splitk": 0}))  # values swapped between keys
    runner.run(_input(), fresh(fused_moe_kwargs={"splitk": 0, "moe_sorting_dispatch_policy": 1}))  # same order, other values
    bias = torch.ones(E, 2 * INTER)
    runner.run(_input(), fresh(b13=bias))  # one more option
    runner.run(_input(), fresh(b13=bias.clone()))  # an equal tensor that is another object
    runner.run(_input(), fresh(quant_type=AiterQuantType.PER_TOKEN))
    assert len(bound) == 5
    calls = _calls()
    assert [(c["splitk"], c["moe_sorting_dispatch_policy"]) for c in calls[:6]] == [(1, 0)] * 4 + [(0, 1)] * 2
    assert calls[6]["bias1"] is bias and calls[7]["bias1"] is not bias and calls[0]["bias1"] is None
    assert all(c["w1"] is base.w13_weight for c in calls)


def test_threads_with_their_own_quant_infos_each_get_their_own_weights(fake_aiter: Any) -> None:
    """Two layers' fresh quant infos from two threads: a plan found by identity is never
    another layer's (the options and the plan they gave are kept as one)."""
    import sys
    import threading

    fake_aiter(params=LATEST, body="return hidden_states.new_full(hidden_states.shape, float(w1.flatten()[0]))")
    runner = AiterRunnerCore(MoeRunnerConfig())
    layers = [(torch.full((E, 2 * INTER, H), float(i)), torch.zeros(E, H, INTER)) for i in (1, 2)]
    wrong: list[tuple[int, float]] = []
    ri = _input(2)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:

        def work(i: int) -> None:
            w1, w2 = layers[i]
            for _ in range(3000):
                got = float(runner.run(ri, AiterMoeQuantInfo(w13_weight=w1, w2_weight=w2)).hidden_states[0, 0])
                if got != float(i + 1):
                    wrong.append((i, got))

        threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []
