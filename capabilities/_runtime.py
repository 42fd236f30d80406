"""Step 2b: read the signature of the imported ``aiter.fused_moe``.

The import runs AITER's code: on a host without ROCm it raises RuntimeError,
on a ROCm host it may JIT-compile for minutes, and anything it touches may
raise. So every failure is recorded as text, never raised, and the report runs
this in a child process (its own process group) with a time limit.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._forward import forwarded_to
from .model import Parameter, ParameterKind, SignatureReading
from ._source import Found

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: ParameterKind.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: ParameterKind.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.VAR_POSITIONAL: ParameterKind.VAR_POSITIONAL,
    inspect.Parameter.KEYWORD_ONLY: ParameterKind.KEYWORD_ONLY,
    inspect.Parameter.VAR_KEYWORD: ParameterKind.VAR_KEYWORD,
}
_POSITIONAL = (ParameterKind.POSITIONAL_ONLY, ParameterKind.POSITIONAL_OR_KEYWORD)
_ENUM_NAMES = ("ActivationType", "QuantType")
_PROJECT = str(Path(__file__).resolve().parent.parent)


@dataclass(frozen=True)
class RuntimeResult:
    reading: SignatureReading
    import_error: str | None  # the import itself raised
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    foreign: bool = False  # the import loaded another AITER than the located one: not evidence about it


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _failed(error: str, import_error: str | None = None) -> RuntimeResult:
    return RuntimeResult(SignatureReading(parameters=None, error=error), import_error)


def _default_text(value: object) -> str:
    try:
        return repr(value)
    except Exception as exc:  # a foreign __repr__: the default exists, its text cannot be had
        return f"<{type(value).__name__} whose repr raised {type(exc).__name__}>"


def _params(sig: inspect.Signature) -> tuple[Parameter, ...]:
    params = []
    for p in sig.parameters.values():
        default = None if p.default is inspect.Parameter.empty else _default_text(p.default)
        params.append(Parameter(name=p.name, kind=_KINDS[p.kind], default=default))
    return tuple(params)


def _own(fn: Any) -> inspect.Signature | None:
    """The signature a plain function's own code binds, whatever ``__wrapped__`` or
    ``__signature__`` claim; None for anything that is not a plain function."""
    code = getattr(fn, "__code__", None)
    if not isinstance(fn, types.FunctionType) or not isinstance(code, types.CodeType):
        return None
    bare = types.FunctionType(code, {}, fn.__name__, fn.__defaults__, fn.__closure__)
    bare.__kwdefaults__ = fn.__kwdefaults__
    return inspect.signature(bare)


def signature_of(fn: Any, _depth: int = 0) -> tuple[Parameter, ...]:
    """Parameters of ``fn`` as a call binds them; raises what inspect raises, and ValueError
    where ``__wrapped__`` or ``__signature__`` claim a signature the function's own code
    does not bind. A wrapper ``(p1..pn, *args, **kwargs)`` (n may be 0) is taken only where
    its source passes every argument on unchanged to the function it wraps (``_forward``):
    it binds as that function does, its own ``p1..pn`` then the function's parameters after
    its first n."""
    claimed = inspect.signature(fn)
    own = _own(fn)
    if own is None or _params(own) == _params(claimed):  # annotations do not bind
        return _params(claimed)
    through = forwarded_to(fn) if _depth < 8 else None
    if through is not None:
        target, n = through
        wrapped = getattr(fn, "__wrapped__", target)
        if wrapped is target:
            inner = signature_of(target, _depth + 1)
            lead = _params(own)[:n]
            if len(inner) >= n and all(
                p.name == q.name and p.kind in _POSITIONAL for p, q in zip(inner[:n], lead)
            ):  # the leading names bind the same parameters, by position or by name
                return lead + inner[n:]
    raise ValueError(
        f"its __wrapped__ or __signature__ claims {claimed}, but its own code binds {own}, and its source "
        "does not show that it passes every argument on unchanged: which one a call meets cannot be trusted"
    )


def _origin(module: Any) -> str | None:
    try:
        origin = getattr(module, "__file__", None)
    except Exception:  # a module-level __getattr__ may raise anything
        return None
    return origin if isinstance(origin, str) else None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return os.path.abspath(a) == os.path.abspath(b)


def read_loaded(module: Any, fused: Found) -> RuntimeResult:
    """Read an imported ``aiter.fused_moe`` module, if it is the located one (its file is the
    one the source was read from: a module, or a package's ``__init__.py``)."""
    where = _origin(module)
    expected = None if fused.path is None else str(fused.path)
    if expected is None or where is None or not _same_file(where, expected):
        error = (
            f"the imported aiter.fused_moe comes from {where}, not from the located AITER's {expected}; "
            "its signature is not this build's"
        )
        return RuntimeResult(SignatureReading(parameters=None, error=error), None, {}, foreign=True)
    try:
        fn = getattr(module, "fused_moe", None)
    except Exception as exc:  # module __getattr__ runs foreign code
        return _failed(f"reading aiter.fused_moe.fused_moe raised {_describe(exc)}", None)
    if fn is None or not callable(fn):
        return _failed("the imported aiter.fused_moe module has no callable fused_moe")
    try:
        params = signature_of(fn)
    except Exception as exc:  # a __signature__ property, a C function: anything may come out
        return _failed(f"inspect.signature(aiter.fused_moe.fused_moe) failed: {_describe(exc)}")
    enums, unlisted = _enums()
    note = "; ".join(unlisted) or None
    return RuntimeResult(SignatureReading(parameters=params, error=None, note=note), None, enums)


def _enums() -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Members of the imported enums, and why any could not be listed (the header then decides)."""
    aiter = sys.modules.get("aiter")
    out: dict[str, tuple[str, ...]] = {}
    unlisted: list[str] = []
    for name in _ENUM_NAMES:
        try:
            members = getattr(getattr(aiter, name, None), "__members__", None)
            if members is not None:
                out[name] = tuple(str(k) for k in members.keys())
        except Exception as exc:  # the imported enum runs foreign code
            unlisted.append(f"the members of aiter.{name} cannot be listed: {_describe(exc)}")
    return out, unlisted


def import_and_read(fused: Found) -> RuntimeResult:
    """Import ``aiter.fused_moe`` in this process and read it."""
    try:
        module = importlib.import_module("aiter.fused_moe")
    except (Exception, SystemExit) as exc:  # the import runs foreign code: anything may come out
        error = _describe(exc)
        return _failed(f"import aiter.fused_moe raised {error}", error)
    return read_loaded(module, fused)


# --- the isolated probe: a child process ----------------------------------------


def import_isolated(package_dir: Path, fused: Found, search_path: list[str], timeout: float) -> RuntimeResult:
    """:func:`import_and_read` in a child process where ``import aiter`` is the located AITER
    (a finder maps the name onto its folder, whatever the folder is called), with the rest
    of the path behind it.

    The answer is taken as soon as the child prints it; then the child's whole
    process group ends, whatever the import left running. A child that exits
    without answering ends the wait at once, even where something it started
    keeps its output open.
    """
    marker = f"@@capabilities-{secrets.token_hex(8)}@@".encode()
    env = dict(os.environ)
    env["CAPABILITIES_CHILD"] = json.dumps(
        {
            "project": _PROJECT,
            "path": search_path,
            "package": str(package_dir),
            "fused_moe": None if fused.path is None else str(fused.path),
            "marker": marker.decode(),
        }
    )
    with tempfile.TemporaryFile() as errors:
        try:
            child = subprocess.Popen(
                [sys.executable, "-c", _CHILD],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                start_new_session=True,  # its own process group, so all of it can be ended
            )
        except OSError as exc:
            return _failed(f"the import child process could not start: {_describe(exc)}", _describe(exc))
        try:
            line, finished = _read_answer(child, marker, timeout)
        finally:
            _end(child)
        errors.seek(0)
        tail = (errors.read().decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
    if line is not None:
        return _decode(line)
    if not finished:
        error = f"import aiter.fused_moe did not finish within {timeout:g} s (child process group ended)"
        return _failed(error, error)
    error = f"the import child process exited with code {child.returncode} before answering: {tail}"
    return _failed(error, error)


def _read_answer(child: subprocess.Popen[bytes], marker: bytes, timeout: float) -> tuple[bytes | None, bool]:
    """(the marker line's payload, whether the child finished or answered in time)."""
    stdout = child.stdout
    if stdout is None:  # Popen(stdout=PIPE) always sets it; this keeps the type checker honest
        return None, True
    deadline = time.monotonic() + timeout
    line = bytearray()  # the line being read; dropped as soon as it cannot be the answer
    keep = True  # whether the current line may still start with the marker
    exited = False
    with selectors.DefaultSelector() as sel:
        sel.register(stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, False
            if not sel.select(0 if exited else min(left, 0.1)):
                if exited:
                    return None, True  # the child is gone and nothing more is buffered
                exited = child.poll() is not None  # a grandchild may hold the pipe open: stop waiting for EOF
                continue
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                return None, True
            start = 0
            while start < len(chunk):  # each byte is looked at once: no rescanning
                end = chunk.find(b"\n", start)
                piece = chunk[start:] if end < 0 else chunk[start:end]
                if keep:
                    line += piece
                    if len(line) >= len(marker) and not line.startswith(marker):
                        keep, line = False, bytearray()
                if end < 0:
                    break
                if keep and line.startswith(marker):
                    return bytes(line[len(marker) :]), True
                line, keep = bytearray(), True
                start = end + 1


def _end(child: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # already gone
    child.wait()
    if child.stdout is not None:
        child.stdout.close()


def _encode(result: RuntimeResult) -> str:
    return json.dumps(
        {
            "reading": result.reading.model_dump(mode="json"),
            "import_error": result.import_error,
            "enums": result.enums,
            "foreign": result.foreign,
        }
    )


def _decode(payload: bytes) -> RuntimeResult:
    try:
        data = json.loads(payload.decode("utf-8", "replace"))
        return RuntimeResult(
            SignatureReading.model_validate(data["reading"]),
            data["import_error"] if isinstance(data["import_error"], (str, type(None))) else str(data["import_error"]),
            {str(k): tuple(str(m) for m in v) for k, v in dict(data["enums"]).items()},
            foreign=data["foreign"] is True,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # pydantic's ValidationError is a ValueError
        # No reading came back, as when the import itself fails: the source still speaks.
        error = f"the import child process answered something unreadable ({type(exc).__name__})"
        return _failed(error, error)


class _Located:
    """A meta-path finder that gives ``import aiter`` the located package, by its folder."""

    def __init__(self, package: str) -> None:
        self.package = package

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> Any:
        if fullname != "aiter":
            return None
        import importlib.util

        init = os.path.join(self.package, "__init__.py")
        if os.path.isfile(init):
            return importlib.util.spec_from_file_location("aiter", init, submodule_search_locations=[self.package])
        import importlib.machinery

        spec = importlib.machinery.ModuleSpec("aiter", None, is_package=True)
        spec.submodule_search_locations = [self.package]
        return spec


def _child_main() -> None:
    spec = json.loads(os.environ["CAPABILITIES_CHILD"])
    sys.path[:] = spec["path"]
    sys.meta_path.insert(0, _Located(spec["package"]))
    result = import_and_read(Found("aiter.fused_moe", "source", None if spec["fused_moe"] is None else Path(spec["fused_moe"])))
    sys.stdout.write("\n" + spec["marker"] + _encode(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # threads the import started must not keep the child alive


# The project goes on the path only to import this module; then the child's path is
# the located AITER's folder first, so no other AITER can answer.
_CHILD = (
    "import json, os, sys\n"
    "sys.path.insert(0, json.loads(os.environ['CAPABILITIES_CHILD'])['project'])\n"
    "from capabilities._runtime import _child_main\n"
    "_child_main()\n"
)
