"""One rank of the agreement tests (run as a script by tests/test_agree.py).

    python tests/agree_worker.py RANK WORLD PORT WORKDIR SPEC_JSON [BACKEND]

BACKEND is gloo (default) or nccl (one GPU per rank).
"""

from __future__ import annotations

import datetime
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    rank, world, port = (int(a) for a in sys.argv[1:4])
    workdir = Path(sys.argv[4])
    spec = json.loads(sys.argv[5])[rank]
    backend = sys.argv[6] if len(sys.argv) > 6 else "gloo"
    start = time.monotonic()

    from capabilities.testing import write_fake_aiter

    fake = write_fake_aiter(workdir / f"rank{rank}", params=spec["params"], version=spec["version"])
    sys.path.insert(0, str(fake.root))

    import torch
    import torch.distributed as dist

    import capabilities
    from runners import AiterRunnerCore, MoeRunnerConfig

    if backend == "nccl":
        torch.cuda.set_device(rank)
    dist.init_process_group(
        backend,
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(seconds=60),
    )
    if spec.get("fail"):  # this rank cannot make its report (a disk that fails, a bug of ours)
        from capabilities import _agree

        def failing() -> None:
            raise OSError(5, spec["fail"])

        _agree.probe = failing  # type: ignore[assignment]
    error = None
    agreement = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            agreement = capabilities.agree()
            AiterRunnerCore(MoeRunnerConfig(no_combine=True, fallback="refuse"), report=agreement.report)
        except capabilities.CapabilityError as exc:  # recorded for the test to compare across ranks
            error = {"type": type(exc).__name__, "message": str(exc)}
    dist.barrier()
    dist.destroy_process_group()
    result = {
        "agreement": None if agreement is None else agreement.model_dump(mode="json"),
        "error": error,
        "warnings": [str(w.message) for w in caught],
        "seconds": time.monotonic() - start,
    }
    (workdir / f"rank{rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
