"""The runner's call path on a real GPU, with the reference backend, at decode shapes.

(a) ``AiterRunnerCore.run`` captured in a CUDA graph replays with output equal to eager;
(b) eager time per call of ``run`` against calling the reference kernel directly
    with the same prepared arguments (CUDA events), as a ratio;
(c) the reference backend's own time against a naive per-expert loop (the
    data-dependent ``nonzero`` loop of AITER's torch reference), so users know
    what the fallback costs.

    python benchmarks/gpu_dispatch.py                 # CUDA, E=64 topk=8 hidden=4096 inter=1408 bf16
    python benchmarks/gpu_dispatch.py --device cpu --hidden 256 --inter 128 --iters 3   # CPU smoke run

On CPU there are no graphs, so (a) is skipped and times come from perf_counter.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from runners import AiterMoeQuantInfo, AiterRunnerCore, AiterRunnerInput, MoeRunnerConfig  # noqa: E402
from runners import reference  # noqa: E402


def naive_loop(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, weight: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """One expert at a time over the tokens routed to it: boolean masks, nonzero, syncs."""
    inter = w2.shape[2]
    out = torch.zeros(x.shape[0], w2.shape[1], dtype=torch.float32, device=x.device)
    for e in range(w1.shape[0]):
        token, slot = (ids == e).nonzero(as_tuple=True)
        if token.numel() == 0:  # a host sync per expert, as such loops have
            continue
        h = x[token] @ w1[e].t()
        a = F.silu(h[:, :inter].float()) * h[:, inter:].float()
        y = (a.to(x.dtype) @ w2[e].t()).float()
        out.index_add_(0, token, y * weight[token, slot].unsqueeze(-1))
    return out.to(x.dtype)


def _timer(device: torch.device) -> Callable[[Callable[[], object], int], float]:
    """Seconds per call: CUDA events around ``iters`` calls, or perf_counter on CPU."""

    def cuda_time(fn: Callable[[], object], iters: int) -> float:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1e3 / iters

    def cpu_time(fn: Callable[[], object], iters: int) -> float:
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        return (time.perf_counter() - t0) / iters

    return cuda_time if device.type == "cuda" else cpu_time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--tokens", default="1,4,16,64", help="M values, comma-separated")
    p.add_argument("--experts", type=int, default=64)
    p.add_argument("--topk", type=int, default=8)
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--inter", type=int, default=1408)
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--iters", type=int, default=200)
    p.add_argument("--repeat", type=int, default=7, help="timed rounds, interleaved; medians reported")
    args = p.parse_args()

    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    timer = _timer(device)
    g = torch.Generator(device="cpu").manual_seed(0)
    e, k, h, i = args.experts, args.topk, args.hidden, args.inter
    w1 = (torch.randn(e, 2 * i, h, generator=g) / h**0.5).to(device, dtype)
    w2 = (torch.randn(e, h, i, generator=g) / i**0.5).to(device, dtype)
    qi = AiterMoeQuantInfo(w13_weight=w1, w2_weight=w2)
    runner = AiterRunnerCore(MoeRunnerConfig(backend="reference"))
    plan = runner.plan(qi)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {name}; torch {torch.__version__}; E={e} topk={k} hidden={h} inter={i} {args.dtype}; "
          f"{args.iters} calls x {args.repeat} rounds per figure")  # fmt: skip
    print(f"{'M':>4} {'graph==eager':>12} {'run us':>9} {'direct us':>10} {'run/direct':>10} {'naive us':>10} {'naive/ref':>9}")
    for m in (int(t) for t in args.tokens.split(",")):
        x = torch.randn(m, h, generator=g).to(device, dtype)
        ids = torch.stack([torch.randperm(e, generator=g)[:k] for _ in range(m)]).to(device, torch.int32)
        weight = torch.rand(m, k, generator=g).softmax(-1).to(device, torch.float32)
        ri = AiterRunnerInput(hidden_states=x, topk_ids=ids, topk_weights=weight)

        def run() -> torch.Tensor:
            return runner.run(ri, qi).hidden_states

        def direct() -> torch.Tensor:
            return reference.fused_moe(x, w1, w2, weight, ids, **plan.kwargs)

        def naive() -> torch.Tensor:
            return naive_loop(x, w1, w2, weight, ids)

        eager = run()
        torch.testing.assert_close(naive().float(), eager.float(), rtol=2e-2, atol=2e-2)
        same = "n/a (cpu)"
        if device.type == "cuda":
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(3):
                    run()
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                captured = run()
            graph.replay()
            torch.cuda.synchronize()
            same = str(torch.equal(captured, eager))
            if same != "True":
                print(f"graph replay differs from eager at M={m}: max abs {(captured.float() - eager.float()).abs().max()}")
        for fn in (run, direct, naive):
            fn()
        rounds: dict[str, list[float]] = {"run": [], "direct": [], "naive": []}
        for _ in range(args.repeat):
            rounds["run"].append(timer(run, args.iters))
            rounds["direct"].append(timer(direct, args.iters))
            rounds["naive"].append(timer(naive, max(1, args.iters // 10)))
        t = {key: statistics.median(v) * 1e6 for key, v in rounds.items()}
        ratio = statistics.median(r / d for r, d in zip(rounds["run"], rounds["direct"]))
        print(f"{m:>4} {same:>12} {t['run']:9.1f} {t['direct']:10.1f} {ratio:10.4f} {t['naive']:10.1f} {t['naive'] / t['direct']:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
