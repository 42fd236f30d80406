"""Per-call cost of ``AiterRunnerCore.run`` over a no-op ``fused_moe``, in one process.

A fake installed AITER (real files, from ``capabilities.testing``) with the
signature of AITER v0.1.20.post1 plus ``no_combine`` provides a ``fused_moe``
that returns its input, so only dispatch is timed. Two baselines run in the
same process, interleaved with ours:

- upstream: the pattern of SGLang's AITER runner: a cached
  ``inspect.signature`` probe asked on every call, the kernel imported in the
  call, the enums looked up, a per-call kwargs dict, and the call;
- bare: what a caller who trusts nothing writes by hand without us: the same
  three input checks the runner makes (int32 ``topk_ids``, rank 2, equal M),
  then ``fused_moe(hs, w1, w2, weights, ids, **prepared)`` with the kwargs our
  plan prepared;
- bare+output: the same, returning the ``AiterRunnerOutput`` that an SGLang-style
  runner returns (about 160 ns of Python object creation on this machine).

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


def _upstream(config: Any, no_combine_probe: Any) -> Any:
    """SGLang's per-call pattern, as a function of (runner_input, quant_info)."""

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
    parser.add_argument("--no-combine", action="store_true", help="run with MoeRunnerConfig(no_combine=True)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fake-aiter-") as root:
        write_fake_aiter(Path(root), params=V0_1_20_POST1, body="return hidden_states", version="0.1.20.post1")
        sys.path.insert(0, root)
        return _measure(args)


def _measure(args: argparse.Namespace) -> int:

    from aiter.fused_moe import fused_moe

    from runners import AiterMoeQuantInfo, AiterRunnerCore, AiterRunnerInput, AiterRunnerOutput, MoeRunnerConfig

    config = MoeRunnerConfig(no_combine=args.no_combine)
    runner = AiterRunnerCore(config)
    m, e, hidden, inter, topk = 4, 8, 64, 32, 2
    qi = AiterMoeQuantInfo(
        w13_weight=torch.zeros(e, 2 * inter, hidden),
        w2_weight=torch.zeros(e, hidden, inter),
        fused_moe_kwargs={"splitk": 0, "moe_sorting_dispatch_policy": 0},
    )
    ri = AiterRunnerInput(
        hidden_states=torch.zeros(m, hidden),
        topk_ids=torch.zeros(m, topk, dtype=torch.int32),
        topk_weights=torch.zeros(m, topk),
    )
    plan = runner.plan(qi)
    prepared = dict(plan.kwargs)
    int32 = torch.int32

    def bare(runner_input: Any, quant_info: Any) -> Any:
        hs, ids = runner_input.hidden_states, runner_input.topk_ids
        hshape, ishape = hs.shape, ids.shape
        if ids.dtype is not int32 or len(hshape) != 2 or len(ishape) != 2 or hshape[0] != ishape[0]:
            raise ValueError("malformed input")
        return fused_moe(hs, quant_info.w13_weight, quant_info.w2_weight, runner_input.topk_weights, ids, **prepared)

    @functools.cache
    def supports_no_combine() -> bool:
        return "no_combine" in inspect.signature(fused_moe).parameters

    upstream = _upstream(config, supports_no_combine)
    candidates = {
        "ours": lambda: runner.run(ri, qi),
        "upstream": lambda: upstream(ri, qi),
        "bare": lambda: bare(ri, qi),
        "bare+output": lambda: AiterRunnerOutput(bare(ri, qi)),
    }
    for fn in candidates.values():  # warm up, and fail loudly if any path is broken
        fn()
    # This machine's timings drift by tens of percent within seconds, so each repeat
    # times all three back to back in short bursts, and ratios are taken per repeat.
    times: dict[str, list[float]] = {k: [] for k in candidates}
    for _ in range(args.repeat):
        for name, fn in candidates.items():
            times[name].append(timeit.timeit(fn, number=args.calls) / args.calls * 1e9)
    ns = {k: statistics.median(v) for k, v in times.items()}
    vs_upstream = statistics.median(o / u for o, u in zip(times["ours"], times["upstream"]))
    vs_bare = statistics.median(o / b for o, b in zip(times["ours"], times["bare"]))
    vs_output = statistics.median(o / b for o, b in zip(times["ours"], times["bare+output"]))
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, {args.repeat} repeats x {args.calls} calls, "
          f"no_combine={args.no_combine}; ns per call, median (min..max):")  # fmt: skip
    for name, values in times.items():
        print(f"  {name:11s} {ns[name]:8.1f} ns  ({min(values):.1f}..{max(values):.1f})")
    print(f"  ours / upstream = {vs_upstream:.3f}  (median of per-repeat ratios)")
    print(f"  ours / bare     = {vs_bare:.3f}  (median of per-repeat ratios)")
    print(f"  ours / bare+output = {vs_output:.3f}  (median of per-repeat ratios)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
