"""Step 2b: read the signature of the imported ``aiter.fused_moe``.

The import runs AITER's code: on a host without ROCm it raises RuntimeError,
on a ROCm host it may JIT-compile for minutes. So every failure is recorded as
text, never raised, and the report runs this in a child process with a limit.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._model import Parameter, ParameterKind, SignatureReading

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: ParameterKind.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: ParameterKind.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.VAR_POSITIONAL: ParameterKind.VAR_POSITIONAL,
    inspect.Parameter.KEYWORD_ONLY: ParameterKind.KEYWORD_ONLY,
    inspect.Parameter.VAR_KEYWORD: ParameterKind.VAR_KEYWORD,
}
_ENUM_NAMES = ("ActivationType", "QuantType")
_MARKER = "@@capabilities-runtime@@"


@dataclass(frozen=True)
class RuntimeResult:
    reading: SignatureReading
    import_error: str | None  # the import itself raised
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)  # real default objects, in-process only


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def signature_of(fn: Any) -> tuple[tuple[Parameter, ...], dict[str, Any]]:
    """Parameters of ``fn`` (following ``__wrapped__``); raises what inspect raises."""
    sig = inspect.signature(fn)
    params = []
    defaults: dict[str, Any] = {}
    for p in sig.parameters.values():
        has_default = p.default is not inspect.Parameter.empty
        if has_default:
            defaults[p.name] = p.default
        params.append(Parameter(name=p.name, kind=_KINDS[p.kind], default=repr(p.default) if has_default else None))
    return tuple(params), defaults


def read_loaded(module: Any) -> RuntimeResult:
    """Read an already imported ``aiter.fused_moe`` module."""
    fn = getattr(module, "fused_moe", None)
    if fn is None or not callable(fn):
        error = "the imported aiter.fused_moe module has no callable fused_moe"
        return RuntimeResult(SignatureReading(parameters=None, error=error), None, _enums())
    try:
        params, defaults = signature_of(fn)
    except (TypeError, ValueError) as exc:
        error = f"inspect.signature(aiter.fused_moe.fused_moe) failed: {_describe(exc)}"
        return RuntimeResult(SignatureReading(parameters=None, error=error), None, _enums())
    return RuntimeResult(SignatureReading(parameters=params, error=None), None, _enums(), defaults)


def _enums() -> dict[str, tuple[str, ...]]:
    aiter = sys.modules.get("aiter")
    out: dict[str, tuple[str, ...]] = {}
    for name in _ENUM_NAMES:
        members = getattr(getattr(aiter, name, None), "__members__", None)
        if isinstance(members, dict) or hasattr(members, "keys"):
            out[name] = tuple(str(k) for k in members.keys())  # type: ignore[union-attr]
    return out


def import_and_read() -> RuntimeResult:
    """Import ``aiter.fused_moe`` in this process and read it."""
    try:
        module = importlib.import_module("aiter.fused_moe")
    except (Exception, SystemExit) as exc:  # the import runs foreign code: anything may come out
        error = _describe(exc)
        why = f"import aiter.fused_moe raised {error}"
        return RuntimeResult(SignatureReading(parameters=None, error=why), error)
    return read_loaded(module)


def import_isolated(search_path: list[str], timeout: float) -> RuntimeResult:
    """Run :func:`import_and_read` in a child process with ``search_path`` as its sys.path."""
    here = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["CAPABILITIES_SYS_PATH"] = json.dumps([here, *search_path])
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        error = f"import aiter.fused_moe did not finish within {timeout:g} s (child process killed)"
        return RuntimeResult(SignatureReading(parameters=None, error=error), error)
    for line in done.stdout.splitlines():
        if line.startswith(_MARKER):
            return _decode(json.loads(line[len(_MARKER) :]))
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    error = f"the import child process exited with code {done.returncode}: {tail}"
    return RuntimeResult(SignatureReading(parameters=None, error=error), error)


def _encode(result: RuntimeResult) -> str:
    return json.dumps(
        {
            "reading": result.reading.model_dump(mode="json"),
            "import_error": result.import_error,
            "enums": result.enums,
        }
    )


def _decode(data: dict[str, Any]) -> RuntimeResult:
    return RuntimeResult(
        SignatureReading.model_validate(data["reading"]),
        data["import_error"],
        {k: tuple(v) for k, v in data["enums"].items()},
    )


def _child_main() -> None:
    sys.path[:] = json.loads(os.environ["CAPABILITIES_SYS_PATH"])
    result = import_and_read()
    sys.stdout.write("\n" + _MARKER + _encode(result) + "\n")
    sys.stdout.flush()


_CHILD = (
    "import json, os, sys\n"
    "sys.path[:] = json.loads(os.environ['CAPABILITIES_SYS_PATH'])\n"
    "from capabilities._runtime import _child_main\n"
    "_child_main()\n"
)
