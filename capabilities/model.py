"""Value types of the report: frozen, hashable, and free of rules.

Everything here is data. The rules that fill it in live in ``_features``; the
report that holds it lives in ``_report``. Nothing here imports either.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, WrapSerializer
from pydantic_core import PydanticSerializationError

if TYPE_CHECKING:
    from typing_extensions import Self

V = TypeVar("V")


class FrozenDict(Mapping[str, V]):
    """A read-only, hashable mapping: what a frozen report holds instead of a dict."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, V]) -> None:
        self._data = dict(data)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        return dict(self._data) == dict(other) if isinstance(other, Mapping) else NotImplemented

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"


def _freeze(value: Mapping[str, Any]) -> FrozenDict[Any]:
    return value if isinstance(value, FrozenDict) else FrozenDict(value)


def _thaw(value: Mapping[str, Any], handler: Any) -> Any:
    return handler(dict(value))


# A read-only, hashable mapping that still validates and serialises as a JSON object.
FrozenMap = Annotated[Mapping[str, V], AfterValidator(_freeze), WrapSerializer(_thaw)]


class Frozen(BaseModel):
    """Base of every report type: immutable, no unknown fields, hashable.

    ``model_copy(update=...)`` validates the result, so a copy is as frozen as
    the original (pydantic's own copy would put a plain dict back).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Any:
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self).model_validate({**fields, **(update or {})})

    def model_dump_json(self, *, indent: int | None = None, ensure_ascii: bool = False, **options: Any) -> str:
        """pydantic's JSON, except that a path which is not UTF-8 is written as ``--json`` writes
        it, not refused: Python holds its bytes as lone surrogates (``os.fsdecode``), and
        pydantic's encoder rejects those, so such a report is written by ``json`` with each
        surrogate as a ``\\udcXX`` escape. ``json.loads`` and :meth:`model_validate_json` read
        it back, and ``os.fsencode`` of the string gives the original bytes."""
        try:
            return super().model_dump_json(indent=indent, ensure_ascii=ensure_ascii, **options)
        except PydanticSerializationError as exc:
            if "surrogates not allowed" not in str(exc):
                raise
        text = json.dumps(
            self.model_dump(mode="json", **options),
            indent=indent,
            ensure_ascii=ensure_ascii,
            separators=(",", ": ") if indent is not None else (",", ":"),  # pydantic's own
        )
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **options: Any) -> Self:
        """pydantic's reading, and also JSON that :meth:`model_dump_json` wrote for a path
        that is not UTF-8 (pydantic's parser refuses lone surrogate escapes; ``json`` reads them)."""
        try:
            return super().model_validate_json(json_data, **options)
        except ValidationError as exc:
            first = exc.errors()[0]
            if exc.error_count() != 1 or first["type"] != "json_invalid" or "surrogate" not in first["msg"]:
                raise
        return cls.model_validate(json.loads(json_data), **options)


_SURROGATE = re.compile(r"[\ud800-\udfff]")  # a lone surrogate: the only text UTF-8 cannot encode


INSTALL = "pip install amd-aiter"  # AMD's AITER; the distribution 'aiter' is an unrelated library


class Support(str, enum.Enum):
    """The three answers about a feature: only ``supported`` may be relied on."""

    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"

    @property
    def strength(self) -> int:
        """Weakest first: unsupported < unknown < supported (what two answers merge to)."""
        return _STRENGTH[self]


_STRENGTH = {Support.UNSUPPORTED: 0, Support.UNKNOWN: 1, Support.SUPPORTED: 2}


class AiterStatus(str, enum.Enum):
    """What answers to ``import aiter``: AMD's AITER, something else, or nothing."""

    AVAILABLE = "available"  # AMD's AITER, read from its files (its import was not tried)
    ABSENT = "absent"
    IMPOSTOR = "impostor"  # a module 'aiter' that is not AMD's AITER
    IMPORT_FAILED = "import_failed"  # AMD's AITER whose import was tried and raised
    UNREADABLE = "unreadable"  # AMD's AITER whose fused_moe source cannot be read


class ParameterKind(str, enum.Enum):
    """``inspect.Parameter`` kinds, by name."""

    POSITIONAL_ONLY = "positional_only"
    POSITIONAL_OR_KEYWORD = "positional_or_keyword"
    VAR_POSITIONAL = "var_positional"
    KEYWORD_ONLY = "keyword_only"
    VAR_KEYWORD = "var_keyword"

    @property
    def by_keyword(self) -> bool:
        return self in (ParameterKind.POSITIONAL_OR_KEYWORD, ParameterKind.KEYWORD_ONLY)


FeatureSource = Literal[
    "static_signature",  # ast reading of aiter/fused_moe.py
    "runtime_signature",  # inspect.signature of the imported function
    "enum_header",  # aiter_enum.h shipped with AITER
    "runtime_enum",  # members of the imported enum
    "distribution",  # no usable AITER: absent, impostor
    "kernel_inventory",  # the kernels the build ships for an architecture
    "upstream_rule",  # a rule known from upstream reports, not from files; the detail cites it
]


class SourceRevision(Frozen):
    """Which revision a source tree is, read from its files, each answer with the file it came
    from: the version setuptools_scm writes into ``aiter/_version.py`` when the tree is built,
    and the commit its git checkout has out (``.git/HEAD``, the ref it names, ``packed-refs``)."""

    version: str | None  # e.g. "0.1.21.dev5+g1a2b3c4d"
    version_file: str | None  # where the version was read, e.g. "aiter/_version.py (written by setuptools_scm)"
    commit: str | None  # the full hex object name
    ref: str | None  # the branch HEAD names, e.g. "refs/heads/main"; None for a detached HEAD
    commit_file: str | None  # where the commit was read, e.g. ".git/refs/heads/main" or ".git/packed-refs"

    def describe(self) -> str:
        """'0.1.21.dev5+g1a2b3c4d (commit 1a2b3c4d5e6f)', or the half that is known."""
        commit = f"commit {self.commit[:12]}" if self.commit else ""
        if self.version:
            return f"{self.version} ({commit})" if commit else self.version
        return f"at {commit}" if commit else "of unknown revision"


class AiterIdentity(Frozen):
    """Which installed code answers to ``import aiter``, and which rule said it is AITER."""

    status: AiterStatus
    distribution: str | None
    version: str | None
    version_valid: bool
    location: str | None
    import_error: str | None
    rule: str  # the rule that decided the status, e.g. "content: aiter/fused_moe.py and aiter/jit/"
    conflicts: tuple[str, ...]  # other installed distributions that also claim the module
    detail: str
    revision: SourceRevision | None = None  # a source tree's version file and git commit, where it has them

    @property
    def is_aiter(self) -> bool:
        """Whether AMD's AITER is there at all (anything but ``absent`` or ``impostor``)."""
        return self.status not in (AiterStatus.ABSENT, AiterStatus.IMPOSTOR)

    @property
    def install_hint(self) -> str:
        """How to get AMD's AITER here: an impostor is uninstalled first, since both
        distributions install a module named ``aiter``."""
        if self.status is AiterStatus.IMPOSTOR and self.distribution:
            return f"pip uninstall {self.distribution} && {INSTALL}"
        return INSTALL

    def describe(self) -> str:
        """'amd-aiter 0.1.9', or a phrase naming what is there instead."""
        if self.distribution is None:
            if self.revision is not None and (self.revision.version or self.revision.commit):
                return f"AITER source tree {self.revision.describe()}"
            return "AITER (no installed distribution)" if self.location else "no AITER"
        return f"{self.distribution} {self.version or '(no version)'}"


class Parameter(Frozen):
    """One parameter: ``default`` is its source text (``None``: it has no default);
    ``used`` whether the function's body reads it (``False``: accepted and ignored)."""

    name: str
    kind: ParameterKind
    default: str | None
    used: bool | None = None  # read by the body; None: cannot be told (or not looked at)


def named_parameter(params: tuple[Parameter, ...], name: str) -> Parameter | None:
    return next((p for p in params if p.name == name and p.kind not in (ParameterKind.VAR_POSITIONAL, ParameterKind.VAR_KEYWORD)), None)


def var_keyword(params: tuple[Parameter, ...]) -> str | None:
    return next((p.name for p in params if p.kind is ParameterKind.VAR_KEYWORD), None)


class FusedMoe(Frozen):
    """The signature of ``aiter.fused_moe`` that decided the features."""

    source: Literal["static_signature", "runtime_signature"]
    parameters: tuple[Parameter, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def get(self, name: str) -> Parameter | None:
        """The named (not ``*args`` / ``**kwargs``) parameter ``name``, if any."""
        return named_parameter(self.parameters, name)

    @property
    def var_keyword(self) -> str | None:
        """The name of the ``**kwargs`` catch-all, if there is one."""
        return var_keyword(self.parameters)


class SignatureReading(Frozen):
    """One probe's reading of the signature: parameters, or why there are none."""

    parameters: tuple[Parameter, ...] | None
    error: str | None
    note: str | None = None  # a fact next to a reading that stands, e.g. "the last definition wins"


class Evidence(Frozen):
    """What each probe saw, kept so that a reader can check the decision."""

    module: str | None  # the file Python would load as aiter.fused_moe
    static: SignatureReading
    runtime: SignatureReading | None  # None: the runtime probe did not run
    disagreement: str | None
    unknown_reason: str | None  # why no signature decides, when none does
    enum_header: str | None  # path of the header read, if any
    enum_source: Literal["enum_header", "runtime_enum"]  # where the enum members were read
    enum_error: str | None
    problems: tuple[str, ...]  # files that could not be read on the way, each with the error


class Feature(Frozen):
    """One answer: ``support``, which probe gave it, and why, in words; for a parameter,
    ``used`` says whether the body reads it (``False``: accepted and ignored)."""

    support: Support
    source: FeatureSource
    detail: str
    used: bool | None = None


class EntryPoint(Frozen):
    """One public AITER function as resolved from source: where, how decorated, its parameters."""

    status: Literal["resolved", "missing", "unknown"]
    file: str | None  # relative to the folder holding aiter/
    line: int | None = None  # where the def stands in that file
    decorators: tuple[str, ...]
    parameters: tuple[Parameter, ...] | None
    detail: str

    def get(self, name: str) -> Parameter | None:
        """The named (not ``*args`` / ``**kwargs``) parameter ``name``, if any."""
        return named_parameter(self.parameters or (), name)

    @property
    def var_keyword(self) -> str | None:
        return var_keyword(self.parameters or ())


class Environment(Frozen):
    """Where the report was made (torch's version from its metadata: torch is not imported)."""

    python: str
    torch: str | None
    platform: str


# --- hardware --------------------------------------------------------------------


class Gpu(Frozen):
    """A GPU from the KFD topology; ``visible`` after ROCR_, HIP_ and CUDA_VISIBLE_DEVICES;
    ``uuid`` as ROCm reports it (``GPU-`` and the node's ``unique_id`` in hex), None without one."""

    index: int
    node: int
    arch: str
    compute_units: int | None
    vendor_id: int | None
    uuid: str | None
    visible: bool


ArchSource = Literal["live", "named", "none", "hidden", "undecided"]


class Archs(Frozen):
    """The architectures requests are checked for, and where they come from: the visible
    GPUs' (``live``); named by ``--arch`` / ``probe(arch=...)`` (``named``); no GPU on the
    host (``none``: nothing is checked per arch); GPUs present and none visible
    (``hidden``: per-arch features are unsupported); or which GPUs are visible cannot be
    told (``undecided``: per-arch features are unknown). ``detail`` says how it was decided."""

    names: tuple[str, ...]
    source: ArchSource
    detail: str


class KernelFamily(Frozen):
    """One family folder of assembly kernels: ``.co`` files and CSV rows listing them."""

    co_files: int
    csv_rows: int


class KernelKind(Frozen):
    """1-stage MoE kernels whose names parse to the same kind, and how many there are."""

    family: str
    dtype: str
    quant: str  # AITER QuantType member
    quant_dtype: str  # as written in the kernel name
    gating: str  # g1u0 or g1u1
    activation: str
    count: int


class ArchInventory(Frozen):
    """What the build ships for one architecture."""

    families: FrozenMap[KernelFamily]
    kernels: tuple[KernelKind, ...]
    unparsed: int  # MoE kernel files whose names do not follow the grammar


class DispatchEntry(Frozen):
    """One entry of ``fused_moe_1stage_dict``, cross-checked against the inventory."""

    arch: str
    activation: str | None
    quant_type: str | None
    dtype: str | None
    q_dtype_a: str | None
    q_dtype_w: str | None
    g1u1: bool | None
    api: str
    kernels: Literal["ship", "declared_without_kernels", "unverified"]
    detail: str


class Kernels(Frozen):
    """The assembly kernel inventory per architecture and the 1-stage dispatch table."""

    hsa_dir: str | None
    inventory: FrozenMap[ArchInventory]
    dispatch_table: tuple[DispatchEntry, ...]
    dispatch_error: str | None


class JitModule(Frozen):
    """A JIT module: built already (``prebuilt``, for ``archs``), or compiled at first call."""

    prebuilt: bool
    archs: tuple[str, ...]
    path: str | None


class Jit(Frozen):
    """JIT readiness: ``dir`` is the package's own build folder; ``dirs`` every folder searched."""

    dir: str | None
    dirs: tuple[str, ...]
    modules: FrozenMap[JitModule]
    error: str | None

    @property
    def prebuilt(self) -> tuple[str, ...]:
        return tuple(n for n, m in self.modules.items() if m.prebuilt)


# --- what the ranks of a process group answer (capabilities.agree) ----------------


class RankAnswer(Frozen):
    """One rank's answer about one feature, with the build it has."""

    rank: int
    support: Support
    distribution: str | None
    version: str | None
    archs: tuple[str, ...]  # the architectures that rank checks requests for
    detail: str


class FeatureDifference(Frozen):
    """A feature the ranks answer differently, with every rank's answer."""

    feature: str
    answers: tuple[RankAnswer, ...]


# --- what a name in the installed AITER is (CapabilityReport.resolve) -----------------

ResolutionStatus = Literal["resolved", "missing", "unknown"]
ResolutionKind = Literal["function", "class", "module", "enum", "enum_member", "constant", "instance", "value"]


@dataclass(frozen=True)
class Resolution:
    """What a dotted name is: its kind, where it is defined, and how it is called."""

    status: ResolutionStatus
    kind: ResolutionKind | None
    file: str | None  # relative to the folder holding aiter/
    line: int | None
    decorators: tuple[str, ...]
    parameters: tuple[Parameter, ...] | None  # how a call binds (functions; classes: their __init__)
    detail: str
    note: str | None = None  # a fact beside an answer that stands, e.g. "the last definition wins"
    asynchronous: bool = False  # an async def: a call returns a coroutine
    kernel: Literal["jit", "tuned"] | None = None  # a Triton kernel; "tuned": autotune/heuristics fill parameters in

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file and self.line else (self.file or "")
