"""Misuse: a value that is not what a field must be gets the runner's own error, naming the
field and what it must be, before any kernel call, on every path (combined, native and
emulated no_combine, the reference backend). Never a bare AttributeError or TypeError from
inside."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from capabilities import UsageError
from runners import AiterMoeQuantInfo, AiterRunnerCore, AiterRunnerInput, InvalidConfigError, InvalidInputError, MoeRunnerConfig
from tests.test_runner import BODY_NC, WITH_NO_COMBINE, _calls, _input, _quant_info


class _TensorLike:
    """An array from another library that looks like a tensor: a shape and a torch dtype."""

    def __init__(self, shape: tuple[int, ...], dtype: torch.dtype) -> None:
        self.shape, self.dtype, self.device = torch.Size(shape), dtype, torch.device("cpu")

    def dim(self) -> int:
        return len(self.shape)


def _qi(dtype: torch.dtype, **kw: Any) -> AiterMoeQuantInfo:
    good = _quant_info(dtype)
    return AiterMoeQuantInfo(**{"w13_weight": good.w13_weight, "w2_weight": good.w2_weight, **kw})


def _numpy(shape: tuple[int, ...]) -> Any:
    np = pytest.importorskip("numpy")
    return np.zeros(shape, dtype=np.float32)


# Wrong values for a tensor field, each made for the field's shape and dtype.
WRONG_TENSORS: dict[str, Callable[[torch.Tensor], Any]] = {
    "none": lambda t: None,
    "list": lambda t: t.tolist(),
    "tensor-like": lambda t: _TensorLike(tuple(t.shape), t.dtype),
    "dtype": lambda t: t.dtype,
    "str": lambda t: "weights",
}
NUMPY: dict[str, Callable[[torch.Tensor], Any]] = {"numpy": lambda t: _numpy(tuple(t.shape))}

# Paths: (config, weights' dtype, the plan's strategy). One fake build serves the first three.
PATHS = [
    ("combined", {}, torch.float32, "combined"),
    ("native", {"no_combine": True}, torch.bfloat16, "native"),
    ("emulated", {"no_combine": True}, torch.float32, "emulated"),
    ("reference", {"backend": "reference"}, torch.float32, "combined"),
]
QI_TENSORS = ["w13_weight", "w2_weight", "w13_scale", "w2_scale", "a13_scale", "a2_scale", "b13", "b2", "expert_mask"]
OPTIONAL = {"w13_scale", "w2_scale", "a13_scale", "a2_scale", "b13", "b2", "expert_mask", "a1_scale", "num_local_tokens"}


def _runners(fake_aiter: Any) -> list[tuple[str, AiterRunnerCore, torch.dtype]]:
    fake_aiter(params=WITH_NO_COMBINE, body=BODY_NC)
    out = []
    for name, config, dtype, strategy in PATHS:
        runner = AiterRunnerCore(MoeRunnerConfig(**config))
        assert runner.plan(_quant_info(dtype)).strategy == strategy, name
        out.append((name, runner, dtype))
    return out


def _cases(optional: bool, with_numpy: bool) -> dict[str, Callable[[torch.Tensor], Any]]:
    cases = {**WRONG_TENSORS, **(NUMPY if with_numpy else {})}
    if optional:
        del cases["none"]  # None is what an optional field is when not set
    return cases


# Each test sweeps every field over every path (one fake build, four runners, for all of them).
@pytest.mark.parametrize("with_numpy", [False, True], ids=["", "numpy"])
def test_a_quant_info_field_that_is_not_a_tensor_is_named_at_plan_time(fake_aiter: Any, with_numpy: bool) -> None:
    fields = QI_TENSORS
    if with_numpy:
        pytest.importorskip("numpy")
    runners = _runners(fake_aiter)
    for (path, runner, dtype), field in [(r, f) for r in runners for f in fields]:
        like = getattr(_quant_info(dtype), field) if field.endswith("weight") else torch.ones(E_, 1, 1, dtype=dtype)
        for case, make in (NUMPY if with_numpy else _cases(field in OPTIONAL, False)).items():
            bad = make(like)
            what = "a torch.Tensor or None" if field in OPTIONAL else "a torch.Tensor"
            message = rf"AiterMoeQuantInfo: .*{field} must be {what}, not {type(bad).__name__ if bad is not None else 'None'}"
            qi = _qi(dtype, **{field: bad})
            for call in (lambda: runner.run(_input(), qi), lambda: runner.plan(qi)):
                with pytest.raises(InvalidInputError, match=message):
                    call()
            assert _calls() == [], (path, case)


E_ = 6  # experts in tests.test_runner's weights


RI_TENSORS = ["hidden_states", "topk_ids", "topk_weights", "a1_scale", "num_local_tokens"]


@pytest.mark.parametrize("with_numpy", [False, True], ids=["", "numpy"])
def test_a_runner_input_field_that_is_not_a_tensor_is_named_per_call(fake_aiter: Any, with_numpy: bool) -> None:
    fields = RI_TENSORS
    if with_numpy:
        pytest.importorskip("numpy")
    runners = _runners(fake_aiter)
    for (path, runner, dtype), field in [(r, f) for r in runners for f in fields]:
        qi = _quant_info(dtype)
        good = _input()
        good.hidden_states = good.hidden_states.to(dtype)
        like = getattr(good, field) if field not in OPTIONAL else torch.ones(1, dtype=torch.int32)
        for case, make in (NUMPY if with_numpy else _cases(field in OPTIONAL, False)).items():
            ri = _input()
            ri.hidden_states = ri.hidden_states.to(dtype)
            bad = make(like)
            setattr(ri, field, bad)
            name = "None" if bad is None else type(bad).__name__
            with pytest.raises(InvalidInputError, match=rf"AiterRunnerInput\.{field} must be a torch\.Tensor.*, not {name}"):
                runner.run(ri, qi)
            assert _calls() == [], (path, case)
        assert runner.run(good, qi).hidden_states.shape[0] == good.hidden_states.shape[0]  # the good input still runs
        _calls().clear()


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("doweight_stage1", torch.tensor(True), "doweight_stage1 must be a bool, not Tensor"),
        ("hidden_pad", "0", "hidden_pad must be an int, not str"),
        ("intermediate_pad", 1.5, "intermediate_pad must be an int, not float"),
        ("swiglu_limit", "7", "swiglu_limit must be a float or None, not str"),
    ],
)
def test_a_quant_info_option_of_the_wrong_type_is_named(fake_aiter: Any, field: str, bad: Any, message: str) -> None:
    for path, runner, dtype in _runners(fake_aiter):
        with pytest.raises(InvalidInputError, match=f"AiterMoeQuantInfo: {message}"):
            runner.run(_input(), _qi(dtype, **{field: bad}))
        assert _calls() == [], path


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("output_dtype", "bfloat16", "output_dtype must be a torch.dtype such as torch.bfloat16, not 'bfloat16'"),
        ("output_dtype", torch.zeros(1), "output_dtype must be a torch.dtype"),
        ("quant_type", "per_Token", "quant_type must be an AiterQuantType or None, not str 'per_Token'"),
        ("quant_type", 2, "quant_type must be an AiterQuantType or None, not int 2"),
    ],
)
def test_a_per_call_option_of_the_wrong_type_is_named(fake_aiter: Any, field: str, bad: Any, message: str) -> None:
    for path, runner, dtype in _runners(fake_aiter):
        ri = _input()
        setattr(ri, field, bad)
        with pytest.raises(InvalidInputError, match=message):
            runner.run(ri, _quant_info(dtype))
        assert _calls() == [], path


@pytest.mark.parametrize("bad", [None, {"hidden_states": None}, "input", (1, 2, 3)], ids=["none", "dict", "str", "tuple"])
def test_a_runner_input_that_is_not_one_is_named(fake_aiter: Any, bad: Any) -> None:
    for path, runner, dtype in _runners(fake_aiter):
        qi = _quant_info(dtype)
        runner.run(_input(), qi)  # the plan exists: the hot path meets the bad input
        _calls().clear()
        with pytest.raises(UsageError, match=f"runner_input must be an AiterRunnerInput, not {type(bad).__name__}"):
            runner.run(bad, qi)
        assert _calls() == [], path


def test_a_fresh_quant_info_with_a_bad_field_is_caught_after_a_good_one(fake_aiter: Any) -> None:
    """The plan found for a fresh quant info by identity never skips the check of a new value."""
    for path, runner, dtype in _runners(fake_aiter):
        good = _quant_info(dtype)
        runner.run(_input(), good)
        _calls().clear()
        bad = AiterMoeQuantInfo(w13_weight=good.w13_weight, w2_weight=None)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="w2_weight must be a torch.Tensor, not None"):
            runner.run(_input(), bad)
        assert _calls() == [], path


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: AiterRunnerCore(None), UsageError, "config must be a MoeRunnerConfig, not NoneType"),  # type: ignore[arg-type]
        (lambda: AiterRunnerCore({"no_combine": True}), UsageError, "config must be a MoeRunnerConfig, not dict"),  # type: ignore[arg-type]
        (lambda: AiterRunnerCore(MoeRunnerConfig(), report="x"), UsageError, "report= must be a CapabilityReport"),  # type: ignore[arg-type]
        (lambda: MoeRunnerConfig(activation=None), InvalidConfigError, "MoeRunnerConfig.activation must be the name"),  # type: ignore[arg-type]
        (lambda: MoeRunnerConfig(no_combine="yes"), InvalidConfigError, "MoeRunnerConfig.no_combine must be a bool, not str"),  # type: ignore[arg-type]
        (lambda: MoeRunnerConfig(fallback=None), InvalidConfigError, "MoeRunnerConfig.fallback must be one of 'emulate', 'refuse', not None"),  # type: ignore[arg-type]
        (lambda: MoeRunnerConfig(backend=torch.float32), InvalidConfigError, "MoeRunnerConfig.backend must be one of"),  # type: ignore[arg-type]
        (lambda: AiterMoeQuantInfo(torch.zeros(1), torch.zeros(1), fused_moe_kwargs=[("splitk", 1)]), InvalidInputError,  # type: ignore[arg-type]
         "AiterMoeQuantInfo.fused_moe_kwargs must be a mapping of keyword arguments, not list"),
        (lambda: AiterMoeQuantInfo(torch.zeros(1), torch.zeros(1), quant_type="fp8"), InvalidInputError,  # type: ignore[arg-type]
         "AiterMoeQuantInfo.quant_type must be one of AiterQuantType.NONE, .*, not 'fp8'"),
        (lambda: AiterMoeQuantInfo(torch.zeros(1), torch.zeros(1), quant_type=None), InvalidInputError,  # type: ignore[arg-type]
         "AiterMoeQuantInfo.quant_type must be one of .*, not None"),
    ],
    ids=["core-none", "core-dict", "core-report-str", "activation-none", "no-combine-str", "fallback-none", "backend-dtype",
         "kwargs-list", "quant-type-str", "quant-type-none"],
)
def test_the_constructors_name_a_wrong_type(fake_aiter: Any, make: Callable[[], Any], error: type[Exception], message: str) -> None:
    fake_aiter(params=WITH_NO_COMBINE, body=BODY_NC)  # a build to check against, for the runner's own
    with pytest.raises(error, match=message):
        make()
