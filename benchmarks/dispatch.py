"""Per-call cost of ``AiterRunnerCore.run`` over a no-op ``fused_moe``, in one process.

A fake installed AITER (real files, from ``capabilities.testing``) with the
signature of AITER v0.1.20.post1 plus ``no_combine`` (read by its body, so a
build that honours it) provides a ``fused_moe`` that returns its input: only
dispatch is timed. Two patterns of use, each with three candidates timed
interleaved in the same process:

- patterns: ``same``, one quant info reused for every call (one per layer, kept);
  ``per-forward``, a new quant info with the same options built for every call,
  as SGLang builds its ``AiterMoeQuantInfo`` in each forward;
- ours: ``runner.run(runner_input, quant_info)``;
- upstream: the pattern of SGLang's AITER runner: a cached ``inspect.signature``
  probe asked on every call, the kernel imported in the call, the enums looked
  up, a per-call kwargs dict, the call and the output object;
- upstream+recipe: the same with the recipe's ``capabilities.check_call`` line, which
  checks each quant info's ``fused_moe_kwargs`` (once per key set, then a lookup);
- floor: what a caller who trusts nothing writes by hand without us: the same
  input checks the runner makes (three tensors, int32 ``topk_ids``, rank 2, equal M),
  ``fused_moe(hs, w1, w2, weights, ids, **prepared)`` with the kwargs our plan
  prepared, and the ``AiterRunnerOutput`` that ``run()`` returns.
- floor+kwargs (per-forward only): the same, but with the kwargs read from each fresh
  quant info, as hand-written per-forward code must (it cannot reuse another quant
  info's kwargs without knowing they are the same, which is what the runner checks).

With ``--no-combine`` the weights are bf16, so the plan is native (inside the
limits AITER's own no_combine checks). Ratios are medians of per-repeat ratios.

    python benchmarks/dispatch.py [--calls 20000] [--repeat 41] [--no-combine]
"""

from __future__ import annotations

import argparse
import functools
import inspect
import statistics
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from capabilities.testing import write_fake_aiter  # noqa: E402

V0_1_20_POST1 = (
    "hidden_states, w1, w2, topk_weight, topk_ids, expert_mask=None, activation=ActivationType.Silu, "
    "quant_type=QuantType.No, doweight_stage1=False, w1_scale=None, w2_scale=None, a1_scale=None, "
    "a2_scale=None, block_size_M=None, num_local_tokens=None, moe_sorting_dispatch_policy=0, dtype=None, "
    "hidden_pad=0, intermediate_pad=0, bias1=None, bias2=None, splitk=0, swiglu_limit=None, beta=None, "
    "linear_beta=None, gate_mode=GateMode.SEPARATED.value, shared_w1=None, shared_w2=None, "
    "shared_w1_scale=None, shared_w2_scale=None, shared_expert_id=-1, no_combine=False"
)


def _upstream(config: Any, no_combine_probe: Any, check_call: Any = None) -> Any:
    """SGLang's per-call pattern, as a function of (runner_input, quant_info); with
    ``check_call``, the SGLang recipe's kwargs check (docs/integration.md) added."""

    from runners import AiterRunnerOutput  # a module-level import upstream: not a per-call cost

    def run(runner_input: Any, quant_info: Any) -> Any:
        if config.no_combine and not no_combine_probe():
            raise NotImplementedError("no_combine")
        if runner_input.hidden_states.shape[0] == 0:
            raise AssertionError("the benchmark runs non-empty input")
        from aiter import ActivationType, QuantType
        from aiter.fused_moe import fused_moe

        extra: dict[str, Any] = {}
        if quant_info.fused_moe_kwargs:
            if check_call is not None:
                check_call(fused_moe, quant_info.fused_moe_kwargs, partial=True)
            extra.update(quant_info.fused_moe_kwargs)
        if runner_input.num_local_tokens is not None:
            extra["num_local_tokens"] = runner_input.num_local_tokens
        if runner_input.output_dtype is not None:
            extra["dtype"] = runner_input.output_dtype
        if config.no_combine:
            extra["no_combine"] = True
        a1_scale = runner_input.a1_scale if runner_input.a1_scale is not None else quant_info.a13_scale
        out = fused_moe(
            hidden_states=runner_input.hidden_states,
            w1=quant_info.w13_weight,
            w2=quant_info.w2_weight,
            topk_weight=runner_input.topk_weights,
            topk_ids=runner_input.topk_ids,
            quant_type=getattr(QuantType, quant_info.quant_type.value),
            activation=getattr(ActivationType, "Silu"),
            w1_scale=quant_info.w13_scale,
            w2_scale=quant_info.w2_scale,
            a1_scale=a1_scale,
            a2_scale=quant_info.a2_scale,
            bias1=quant_info.b13,
            bias2=quant_info.b2,
            expert_mask=quant_info.expert_mask,
            doweight_stage1=quant_info.doweight_stage1,
            hidden_pad=quant_info.hidden_pad,
            intermediate_pad=quant_info.intermediate_pad,
            **extra,
        )
        return AiterRunnerOutput(out)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description="per-call dispatch cost of AiterRunnerCore.run")
    parser.add_argument("--calls", type=int, default=20_000, help="calls per timed burst")
    parser.add_argument("--repeat", type=int, default=41, help="bursts of each candidate, interleaved")
    parser.add_argument("--no-combine", action="store_true", help="run with MoeRunnerConfig(no_combine=True), natively")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fake-aiter-") as root:
        write_fake_aiter(Path(root), params=V0_1_20_POST1, body=BODY, version="0.1.20.post1")
        sys.path.insert(0, root)
        return _measure(args)


# Honours no_combine (a body that reads it), and otherwise does nothing.
BODY = "return hidden_states if not no_combine else hidden_states.unsqueeze(1)"


def _measure(args: argparse.Namespace) -> int:
    from aiter.fused_moe import fused_moe

    from runners import AiterMoeQuantInfo, AiterRunnerCore, AiterRunnerInput, AiterRunnerOutput, MoeRunnerConfig

    config = MoeRunnerConfig(no_combine=args.no_combine)
    runner = AiterRunnerCore(config)
    m, e, hidden, inter, topk = 4, 8, 64, 32, 2
    dtype = torch.bfloat16 if args.no_combine else torch.float32
    w13, w2 = torch.zeros(e, 2 * inter, hidden, dtype=dtype), torch.zeros(e, hidden, inter, dtype=dtype)
    options = {"splitk": 0, "moe_sorting_dispatch_policy": 0}

    def fresh() -> Any:  # what SGLang does in every forward
        return AiterMoeQuantInfo(w13_weight=w13, w2_weight=w2, fused_moe_kwargs=options)

    kept = fresh()
    ri = AiterRunnerInput(
        hidden_states=torch.zeros(m, hidden, dtype=dtype),
        topk_ids=torch.zeros(m, topk, dtype=torch.int32),
        topk_weights=torch.zeros(m, topk),
    )
    plan = runner.plan(kept)
    expected = "native" if args.no_combine else "combined"
    if plan.strategy != expected:
        raise SystemExit(f"the plan is {plan.strategy}, not {expected}: {plan.why}")
    prepared = dict(plan.kwargs)
    int32 = torch.int32
    Tensor = torch.Tensor

    def floor(runner_input: Any, quant_info: Any) -> Any:
        hs, ids, tw = runner_input.hidden_states, runner_input.topk_ids, runner_input.topk_weights
        hshape, ishape = hs.shape, ids.shape
        if (
            ids.dtype is not int32 or len(hshape) != 2 or len(ishape) != 2 or hshape[0] != ishape[0]
            or not isinstance(hs, Tensor) or not isinstance(ids, Tensor) or not isinstance(tw, Tensor)
        ):  # fmt: skip
            raise ValueError("malformed input")
        return AiterRunnerOutput(fused_moe(hs, quant_info.w13_weight, quant_info.w2_weight, tw, ids, **prepared))

    static = {k: prepared[k] for k in ("activation", "quant_type", "no_combine") if k in prepared}

    def floor_kwargs(runner_input: Any, quant_info: Any) -> Any:
        hs, ids, tw = runner_input.hidden_states, runner_input.topk_ids, runner_input.topk_weights
        hshape, ishape = hs.shape, ids.shape
        if (
            ids.dtype is not int32 or len(hshape) != 2 or len(ishape) != 2 or hshape[0] != ishape[0]
            or not isinstance(hs, Tensor) or not isinstance(ids, Tensor) or not isinstance(tw, Tensor)
        ):  # fmt: skip
            raise ValueError("malformed input")
        out = fused_moe(
            hs, quant_info.w13_weight, quant_info.w2_weight, tw, ids,
            w1_scale=quant_info.w13_scale, w2_scale=quant_info.w2_scale, a1_scale=quant_info.a13_scale,
            a2_scale=quant_info.a2_scale, bias1=quant_info.b13, bias2=quant_info.b2, expert_mask=quant_info.expert_mask,
            doweight_stage1=quant_info.doweight_stage1, hidden_pad=quant_info.hidden_pad,
            intermediate_pad=quant_info.intermediate_pad, **static, **quant_info.fused_moe_kwargs,
        )  # fmt: skip
        return AiterRunnerOutput(out)

    @functools.cache
    def supports_no_combine() -> bool:
        return "no_combine" in inspect.signature(fused_moe).parameters

    import capabilities

    upstream = _upstream(config, supports_no_combine)
    recipe = _upstream(config, supports_no_combine, capabilities.check_call)
    candidates = {
        ("same", "ours"): lambda: runner.run(ri, kept),
        ("same", "upstream"): lambda: upstream(ri, kept),
        ("same", "upstream+recipe"): lambda: recipe(ri, kept),
        ("same", "floor"): lambda: floor(ri, kept),
        ("per-forward", "ours"): lambda: runner.run(ri, fresh()),
        ("per-forward", "upstream"): lambda: upstream(ri, fresh()),
        ("per-forward", "upstream+recipe"): lambda: recipe(ri, fresh()),
        ("per-forward", "floor"): lambda: floor(ri, fresh()),
        ("per-forward", "floor+kwargs"): lambda: floor_kwargs(ri, fresh()),
    }
    for fn in candidates.values():  # warm up, and fail loudly if any path is broken
        fn()
    # This machine's timings drift by tens of percent within seconds, so each repeat
    # times every candidate back to back in short bursts, and ratios are taken per repeat.
    times: dict[tuple[str, str], list[float]] = {k: [] for k in candidates}
    for _ in range(args.repeat):
        for key, fn in candidates.items():
            times[key].append(timeit.timeit(fn, number=args.calls) / args.calls * 1e9)
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, {args.repeat} repeats x {args.calls} calls, "
          f"no_combine={args.no_combine} (plan: {plan.strategy}); ns per call, median (min..max):")  # fmt: skip
    for key, values in times.items():
        print(f"  {key[0]:11s} {key[1]:15s} {statistics.median(values):8.1f} ns  ({min(values):.1f}..{max(values):.1f})")
    for pattern in ("same", "per-forward"):
        ours = times[(pattern, "ours")]
        vs_floor = statistics.median(o / f for o, f in zip(ours, times[(pattern, "floor")]))
        vs_upstream = statistics.median(o / u for o, u in zip(ours, times[(pattern, "upstream")]))
        line = f"  {pattern:11s} ours / floor = {vs_floor:.3f}   ours / upstream = {vs_upstream:.3f}"
        if (pattern, "floor+kwargs") in times:
            vs_kw = statistics.median(o / f for o, f in zip(ours, times[(pattern, "floor+kwargs")]))
            line += f"   ours / floor+kwargs = {vs_kw:.3f}"
        print(line)
        with_recipe = statistics.median(r / u for r, u in zip(times[(pattern, "upstream+recipe")], times[(pattern, "upstream")]))
        print(f"  {pattern:11s} upstream+recipe / upstream = {with_recipe:.3f}")
    # The targets (upstream is the seed pattern; the checked floor, per forward the one
    # that also reads each fresh quant info's kwargs).
    print("targets:")
    for pattern, other, target in (
        ("same", "upstream", 0.65), ("same", "floor", 1.10), ("per-forward", "upstream", 1.00), ("per-forward", "floor+kwargs", 1.40),
    ):  # fmt: skip
        ratio = statistics.median(o / f for o, f in zip(times[(pattern, "ours")], times[(pattern, other)]))
        print(f"  {pattern:11s} ours / {other:12s} = {ratio:.3f}  (target <= {target:.2f}: {'met' if ratio <= target else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
