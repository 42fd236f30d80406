"""no_combine: native against emulated, with the reference kernel, in one process.

Native is ``fused_moe(..., no_combine=True)``; emulated is what the runner sends
to a build without ``no_combine``: every route as its own row through the same
``fused_moe`` with ``topk == 1`` (``runners._no_combine.emulating``). For each M:

- time per call of each (CUDA events; rounds interleaved), and emulated / native;
- the same for CUDA-graph replay (no host launch cost: the GPU work alone);
- whether the outputs are bitwise equal, eagerly and after CUDA-graph replay;
- the extra peak memory of emulation (``torch.cuda.max_memory_allocated``);
- at the smallest M, the reference against a device-to-device copy of the routed
  experts' weights (the floor for a kernel that reads each of them once).

    python benchmarks/no_combine.py                      # CUDA: E=64 topk=8 4096/1408 bf16, M=1,4,16,64,256
    python benchmarks/no_combine.py --device cpu --experts 8 --hidden 64 --inter 32 --tokens 1,16 --iters 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from gpu_dispatch import _timer  # noqa: E402  (this folder is on sys.path when a script here runs)
from runners import reference  # noqa: E402
from runners._no_combine import emulating  # noqa: E402


def _time(device: torch.device, fn: Callable[[], object], iters: int) -> float:
    """Seconds per call (CUDA events, or perf_counter on CPU), as gpu_dispatch.py times."""
    return _timer(device)(fn, iters)


def _graph(fn: Callable[[], torch.Tensor]) -> tuple[torch.cuda.CUDAGraph, torch.Tensor]:
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        fn()  # warm-up on the side stream, as capture needs
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn()
    graph.replay()
    torch.cuda.synchronize()
    return graph, out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--experts", type=int, default=64)
    p.add_argument("--topk", type=int, default=8)
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--inter", type=int, default=1408)
    p.add_argument("--tokens", default="1,4,16,64,256")
    p.add_argument("--iters", type=int, default=50, help="calls per timed burst")
    p.add_argument("--rounds", type=int, default=15, help="interleaved bursts per candidate")
    args = p.parse_args()
    device = torch.device(args.device)
    dtype = torch.bfloat16
    g = torch.Generator(device="cpu").manual_seed(0)
    e, k, h, i = args.experts, args.topk, args.hidden, args.inter
    w1 = (torch.randn(e, 2 * i, h, generator=g) / h**0.5).to(device, dtype)
    w2 = (torch.randn(e, h, i, generator=g) / i**0.5).to(device, dtype)
    native_fn = reference.fused_moe
    emulated_fn = emulating(reference.fused_moe, weighted=False, per_token_scale=False)
    cuda = device.type == "cuda"
    name = torch.cuda.get_device_name(device) if cuda else "cpu"
    grouped = reference._can_group(torch.zeros(1, h, device=device, dtype=dtype), w1, w2)
    print(f"{name}, torch {torch.__version__}, E={e} topk={k} hidden={h} inter={i} bf16, "
          f"grouped GEMM path: {'yes' if grouped else 'no'}; {args.rounds} rounds x {args.iters} calls, medians")  # fmt: skip
    print(f"{'M':>5} {'native us':>10} {'emulated us':>12} {'emu/native':>10} {'graph emu/native':>16} {'bitwise':>8} {'graph':>6} {'extra MiB':>9}")
    first_native = float("nan")
    for m in [int(t) for t in args.tokens.split(",")]:
        x = torch.randn(m, h, generator=g).to(device, dtype)
        ids = torch.stack([torch.randperm(e, generator=g)[:k] for _ in range(m)]).to(device, torch.int32)
        weights = torch.rand(m, k, generator=g).to(device)

        def native() -> torch.Tensor:
            return native_fn(x, w1, w2, weights, ids, no_combine=True)

        def emulated() -> torch.Tensor:
            return emulated_fn(x, w1, w2, weights, ids)

        want, got = native(), emulated()
        for _ in range(args.iters):  # settle clocks and caches before anything is timed
            native(), emulated()
        bitwise = bool(torch.equal(want, got))
        graph = "n/a"
        extra = graph_ratio = float("nan")
        if cuda:
            (g_native, out_native), (g_emulated, out_emulated) = _graph(native), _graph(emulated)
            graph = "yes" if torch.equal(out_native, want) and torch.equal(out_emulated, got) else "NO"
            replays: tuple[list[float], list[float]] = ([], [])
            for _ in range(args.rounds):
                replays[0].append(_time(device, g_native.replay, args.iters))
                replays[1].append(_time(device, g_emulated.replay, args.iters))
            graph_ratio = statistics.median(a / b for a, b in zip(replays[1], replays[0]))
            torch.cuda.synchronize()
            peaks = []
            for fn in (native, emulated):
                torch.cuda.reset_peak_memory_stats(device)
                base = torch.cuda.memory_allocated(device)
                fn()
                torch.cuda.synchronize()
                peaks.append(torch.cuda.max_memory_allocated(device) - base)
            extra = (peaks[1] - peaks[0]) / 2**20
        t_native: list[float] = []
        t_emulated: list[float] = []
        for _ in range(args.rounds):
            t_native.append(_time(device, native, args.iters))
            t_emulated.append(_time(device, emulated, args.iters))
        ratio = statistics.median(a / b for a, b in zip(t_emulated, t_native))
        tn, te = statistics.median(t_native), statistics.median(t_emulated)
        if first_native != first_native:  # nan: the smallest M comes first
            first_native = tn
        print(f"{m:>5} {tn * 1e6:>10.1f} {te * 1e6:>12.1f} {ratio:>10.3f} {graph_ratio:>16.3f} {'yes' if bitwise else 'NO':>8} {graph:>6} {extra:>9.1f}")

    # The floor at the smallest M: read each routed expert's weights once (k distinct experts).
    routed = torch.arange(k, device=device)
    src = [w1.index_select(0, routed), w2.index_select(0, routed)]
    dst = [torch.empty_like(t) for t in src]
    nbytes = sum(t.numel() * t.element_size() for t in src)

    def copy() -> None:
        for s, d in zip(src, dst):
            d.copy_(s)

    t_copy = statistics.median(_time(device, copy, args.iters) for _ in range(args.rounds))
    print(f"routed experts' weights: {nbytes / 1e6:.1f} MB; device-to-device copy {t_copy * 1e6:.1f} us; "
          f"reference native at M={args.tokens.split(',')[0]}: {first_native * 1e6:.1f} us = {first_native / t_copy:.2f}x the copy")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
