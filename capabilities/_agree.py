"""One feature set for every rank of a process group.

Every rank sends its report as JSON bytes (``all_gather_object`` needs numpy
with torch 2.13's CPU build, so the bytes go as a uint8 tensor) and merges all
of them the same way, so every rank gets the same :class:`Agreement`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pydantic

from .errors import AgreementError, UsageError
from .model import AiterIdentity, AiterStatus, Archs, Feature, FeatureDifference, Frozen, FusedMoe, RankAnswer, Support
from ._registry import probe
from ._report import CapabilityReport

# Weakest first: the agreed status is the weakest any rank has.
_STATUS_ORDER = (
    AiterStatus.ABSENT,
    AiterStatus.IMPOSTOR,
    AiterStatus.UNREADABLE,
    AiterStatus.IMPORT_FAILED,
    AiterStatus.AVAILABLE,
)


class Agreement(Frozen):
    """``report``: the common feature set (pass it to the runner as ``report=``), checked
    for every rank's architectures (a mixed gfx942/gfx950 group agrees on what both serve);
    ``differences``: each feature the ranks answer differently, with every answer."""

    report: CapabilityReport
    differences: tuple[FeatureDifference, ...]
    ranks: tuple[AiterIdentity, ...]  # each rank's AITER, by rank

    @property
    def unanimous(self) -> bool:
        return not self.differences


def _ranks(ranks: Sequence[int]) -> str:
    return ("rank " if len(ranks) == 1 else "ranks ") + ", ".join(map(str, ranks))


def _by_value(values: Sequence[str | None]) -> str:
    """'0.1.21 on ranks 0, 1; 0.1.20.post1 on rank 2'."""
    groups: dict[str | None, list[int]] = {}
    for rank, value in enumerate(values):
        groups.setdefault(value, []).append(rank)
    return "; ".join(f"{value or 'none'} on {_ranks(r)}" for value, r in groups.items())


def _identity(reports: Sequence[CapabilityReport]) -> AiterIdentity:
    idents = [r.aiter for r in reports]
    first = idents[0]

    def key(i: AiterIdentity) -> tuple[object, ...]:
        return (i.status, i.distribution, i.version, i.import_error, i.revision)

    if all(key(i) == key(first) for i in idents):
        return first  # the same build everywhere (folders may differ): rank 0 speaks for all
    dists = {i.distribution for i in idents}
    versions = [i.version for i in idents]
    status = min((i.status for i in idents), key=_STATUS_ORDER.index)
    errors = [f"rank {n}: {i.import_error}" for n, i in enumerate(idents) if i.import_error]
    return AiterIdentity(
        status=status,
        distribution=first.distribution if len(dists) == 1 else _by_value([i.distribution for i in idents]),
        version=versions[0] if len(set(versions)) == 1 else _by_value(versions),
        version_valid=all(i.version_valid for i in idents) and len(set(versions)) == 1,
        location=first.location if len({i.location for i in idents}) == 1 else None,
        import_error="; ".join(errors) or None,
        rule="; ".join(sorted({i.rule for i in idents})),
        conflicts=tuple(sorted({c for i in idents for c in i.conflicts})),
        detail="ranks differ: " + "; ".join(f"rank {n}: {i.detail}" for n, i in enumerate(idents)),
        revision=first.revision if len({i.revision for i in idents}) == 1 else None,
    )


def _common_signature(reports: Sequence[CapabilityReport]) -> FusedMoe | None:
    """The parameters every rank takes in the same way, in rank 0's order."""
    sigs = [r.fused_moe for r in reports if r.fused_moe is not None]
    if len(sigs) < len(reports):
        return None
    common = [p for p in sigs[0].parameters if all(p in s.parameters for s in sigs)]
    sources = {s.source for s in sigs}
    return FusedMoe(source=sigs[0].source if len(sources) == 1 else "static_signature", parameters=tuple(common))


def _merge_feature(answers: Sequence[Feature], reports: Sequence[CapabilityReport]) -> Feature:
    supports = [a.support for a in answers]
    if all(s is supports[0] for s in supports) and all(a.detail == answers[0].detail for a in answers):
        return answers[0]
    merged = min(supports, key=lambda s: s.strength)
    if merged is Support.SUPPORTED:
        return Feature(support=Support.SUPPORTED, source=answers[0].source, detail=f"every rank supports it: {answers[0].detail}")
    lacking = [n for n, s in enumerate(supports) if s is merged]
    parts = [f"rank {n} ({_who(reports[n])}): {answers[n].detail}" for n in lacking]
    others = [n for n in range(len(answers)) if n not in lacking]
    tail = f"; {_ranks(others)}: {', '.join(sorted({supports[n].value for n in others}))}" if others else ""
    verb = "lacks" if len(lacking) == 1 else "lack"
    return Feature(
        support=merged,
        source=answers[lacking[0]].source,
        detail=f"{_ranks(lacking)} {verb} it: " + "; ".join(parts) + tail,
    )


def _who(report: CapabilityReport) -> str:
    archs = ", ".join(report.archs.names)
    return report.aiter.describe() + (f" on {archs}" if archs else "")


def _arch_features(reports: Sequence[CapabilityReport]) -> dict[str, dict[str, Feature]]:
    """Every rank's per-arch answers; where two ranks answer for one arch, the weaker stands."""
    out: dict[str, dict[str, Feature]] = {}
    for r in reports:
        for arch, answers in r.arch_features.items():
            merged = out.setdefault(arch, {})
            for name, f in answers.items():
                if name not in merged or f.support.strength < merged[name].support.strength:
                    merged[name] = f
    return out


def _archs(reports: Sequence[CapabilityReport]) -> Archs:
    """Every rank's archs; where a rank cannot tell (or sees no GPU), the group cannot either."""
    names = tuple(sorted({a for r in reports for a in r.archs.names}))
    for source in ("undecided", "hidden"):
        lacking = [(n, r.archs.detail) for n, r in enumerate(reports) if r.archs.source == source]
        if lacking:
            detail = "; ".join(f"rank {n}: {d}" for n, d in lacking)
            return Archs(names=names, source=source, detail=detail)
    first = reports[0].archs
    detail = first.detail if len({r.archs.detail for r in reports}) == 1 else "; ".join(f"rank {n}: {r.archs.detail}" for n, r in enumerate(reports))
    return Archs(names=names, source=first.source, detail=detail)


def merge(reports: Sequence[CapabilityReport]) -> Agreement:
    """The agreement of ``reports`` (one per rank, by rank). Pure: every rank computes the same."""
    if not reports:
        raise AgreementError("no reports to agree on")
    names = list(reports[0].features)
    for r in reports[1:]:
        names += [n for n in r.features if n not in names]
    features: dict[str, Feature] = {}
    differences = []
    for name in names:
        answers = [r.feature(name) for r in reports]
        features[name] = _merge_feature(answers, reports)
        if len({a.support for a in answers}) > 1:
            differences.append(
                FeatureDifference(
                    feature=name,
                    answers=tuple(
                        RankAnswer(
                            rank=n,
                            support=a.support,
                            distribution=r.aiter.distribution,
                            version=r.aiter.version,
                            archs=r.archs.names,
                            detail=a.detail,
                        )
                        for n, (a, r) in enumerate(zip(answers, reports))
                    ),
                )
            )
    enums = {
        enum: tuple(m for m in members if all(m in r.enums.get(enum, ()) for r in reports))
        for enum, members in reports[0].enums.items()
        if all(enum in r.enums for r in reports)
    }
    first = reports[0]
    report = CapabilityReport(
        schema_version=first.schema_version,
        aiter=_identity(reports),
        fused_moe=_common_signature(reports),
        features=features,
        enums=enums,
        evidence=first.evidence,
        environment=first.environment,
        gpus=first.gpus,
        # Each rank's answers above already fold in its own archs; the group checks for all of them.
        archs=_archs(reports),
        kernels=first.kernels,
        arch_features=_arch_features(reports),
        jit=first.jit,
        entry_points=first.entry_points,  # rank 0's reading; each entry feature above is agreed
        enum_values=first.enum_values,
    )
    return Agreement(report=report, differences=tuple(sorted(differences, key=lambda d: d.feature)), ranks=tuple(r.aiter for r in reports))


def _exchange(payload: bytes, group: Any) -> list[bytes]:
    import torch
    import torch.distributed as dist

    backend = str(dist.get_backend(group))
    # gloo (alone or first in a "cpu:gloo,cuda:nccl" pair) takes CPU tensors; nccl/rccl take GPU ones.
    device = torch.device("cpu") if "gloo" in backend else torch.device("cuda", torch.cuda.current_device())
    world = dist.get_world_size(group)
    size = torch.tensor([len(payload)], dtype=torch.int64, device=device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size, group=group)
    lengths = [int(s.item()) for s in sizes]
    buffer = torch.zeros(max(lengths), dtype=torch.uint8, device=device)
    buffer[: len(payload)] = torch.frombuffer(bytearray(payload), dtype=torch.uint8).to(device)
    gathered = [torch.empty_like(buffer) for _ in range(world)]
    dist.all_gather(gathered, buffer, group=group)
    return [bytes(g[:n].cpu().tolist()) for g, n in zip(gathered, lengths)]


def _encode(report: CapabilityReport) -> bytes:
    """A report as ASCII JSON: paths that are not UTF-8 travel as escapes, never as an error."""
    return b"R" + json.dumps(report.model_dump(mode="json"), ensure_ascii=True).encode("ascii")


def _failure(exc: BaseException) -> bytes:
    return b"E" + json.dumps(f"{type(exc).__name__}: {exc}", ensure_ascii=True).encode("ascii")


def _decode(rank: int, payload: bytes) -> CapabilityReport | str:
    """A rank's report, or the failure it sent (as text)."""
    try:
        if payload[:1] == b"E":
            return str(json.loads(payload[1:]))
        if payload[:1] != b"R":
            raise ValueError("not a report")
        return CapabilityReport.model_validate(json.loads(payload[1:]))
    except (ValueError, RecursionError) as exc:  # pydantic's ValidationError is a ValueError
        count = exc.error_count() if isinstance(exc, pydantic.ValidationError) else 1
        raise AgreementError(
            f"rank {rank} sent a report this rank cannot read ({count} problem(s)); "
            "every rank must run the same version of this project"
        ) from None


def agree(report: CapabilityReport | None = None, *, group: Any = None) -> Agreement:
    """A collective: every rank of ``group`` calls it and gets the same :class:`Agreement`.

    A feature is ``supported`` only where every rank supports it, and
    ``unknown`` where some rank is unknown and none is unsupported. Every rank
    enters the exchange with its report or with what went wrong making it, so a
    rank that fails never leaves the others waiting: every rank then raises the
    same :class:`AgreementError`, naming the ranks that failed and why. Without
    an initialised process group, the local report comes back unchanged.
    """
    if report is not None and not isinstance(report, CapabilityReport):
        raise UsageError(f"agree(report=...) must be a CapabilityReport (from capabilities.probe()), not {type(report).__name__}")
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized():
        local = probe() if report is None else report
        return Agreement(report=local, differences=(), ranks=(local.aiter,))
    try:
        payload = _encode(probe() if report is None else report)
    except Exception as exc:  # whatever failed here is sent to every rank and raised there, never dropped
        payload = _failure(exc)
    answers = [_decode(rank, p) for rank, p in enumerate(_exchange(payload, group))]
    failed = [(rank, a) for rank, a in enumerate(answers) if isinstance(a, str)]
    if failed:
        lines = "; ".join(f"rank {rank}: {why}" for rank, why in failed)
        raise AgreementError(
            f"{len(failed)} rank(s) could not make their report, so no rank agrees: {lines}. "
            "Fix what that rank reports (every rank raised this same error)."
        )
    return merge([a for a in answers if isinstance(a, CapabilityReport)])
