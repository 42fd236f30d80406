"""The docs say what the code does: their code blocks run, against real files."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

import capabilities
from capabilities.testing import forget_aiter, write_fake_entry_points
from tests.conftest import DATA, HISTORY, ROOT, cli, run_cli

LATEST = [tuple(p) for p in HISTORY[-1]["fused_moe_params"]]
# fused_moe bodies: one that honours no_combine, one that accepts it and never reads it.
READS = "CALLS.append(dict(locals()))\nreturn 'per-route' if no_combine else 'combined'\n"
IGNORES = "CALLS.append(dict(locals()))\nreturn 'combined'\n"


def _recipe() -> dict[str, str]:
    """The SGLang recipe's blocks in docs/integration.md, by the name of their marker."""
    text = (ROOT / "docs" / "integration.md").read_text()
    blocks = dict(re.findall(r"<!-- recipe: (\w+) -->\n```python\n(.*?)```", text, re.S))
    assert set(blocks) == {"import", "probe", "refusal", "kwargs"}, blocks
    return blocks


def test_the_recipe_fits_sglangs_88_columns_where_it_goes() -> None:
    blocks = _recipe()
    indent = {"import": 0, "probe": 4, "refusal": 12, "kwargs": 12}  # where each block goes in SGLang's file
    for name, block in blocks.items():
        assert all(indent[name] + len(line) <= 88 for line in block.splitlines()), name
    assert sum(len(b.strip().splitlines()) for b in blocks.values()) == 7  # the page's count: 6 added lines + the raise's ")"
    page = (ROOT / "docs" / "integration.md").read_text()
    assert "14 lines on SGLang 0.5.20 (6 added; 8 removed" in " ".join(page.split())


def _qi(kwargs: dict[str, Any]) -> Any:
    return types.SimpleNamespace(fused_moe_kwargs=kwargs)


def _server_module(blocks: dict[str, str], wrap: Any = None) -> dict[str, Any]:
    """A server's runner module shaped as the recipe expects (a cached probe that tests can
    patch, a refusal, a pass-through dict), with the recipe's lines where it says they go;
    ``wrap``: what the server patches fused_moe with (SGLang's gfx95 wrapper)."""
    indent = functools.partial(textwrap.indent, prefix="    ")
    source = "\n".join([
        blocks["import"],
        "import functools",
        "@functools.cache",
        "def supports_no_combine():",
        indent(blocks["probe"]),
        "def run(no_combine, quant_info):",
        "    if no_combine and not supports_no_combine():",
        indent(indent(blocks["refusal"])),
        "    from aiter.fused_moe import fused_moe",
        "    fused_moe = WRAP(fused_moe) if WRAP else fused_moe",
        "    extra = {}",
        "    if quant_info.fused_moe_kwargs:",
        "        extra.update(quant_info.fused_moe_kwargs)",
        indent(indent(blocks["kwargs"])),
        "    if no_combine:",
        "        extra['no_combine'] = True",
        "    return fused_moe(1, 2, 3, 4, 5, **extra)",
    ])  # fmt: skip
    namespace: dict[str, Any] = {"WRAP": wrap}
    exec(compile(source, "integration.md recipe", "exec"), namespace)
    return namespace


@pytest.mark.parametrize(("params", "body", "native"), [
    ([*LATEST, ("no_combine", "False")], READS, True),
    ([*LATEST, ("no_combine", "False")], IGNORES, False),  # inspect.signature would say True
    (LATEST, IGNORES, False),
])  # fmt: skip
def test_the_sglang_recipe_runs_as_documented(fake_aiter: Any, params: list[Any], body: str, native: bool) -> None:
    fake_aiter(params=params, body=body)
    server = _server_module(_recipe())
    assert server["supports_no_combine"]() is native
    assert "aiter.fused_moe" not in sys.modules  # the probe read files; it imported nothing
    if native:
        assert server["run"](True, _qi({})) == "per-route"
    else:
        with pytest.raises(NotImplementedError, match=r"^no_combine=True needs 1 feature\(s\) not supported by amd-aiter 0\.1\.20") as e:
            server["run"](True, _qi({}))
        assert "Fix: " in str(e.value)
    assert server["run"](False, _qi({"block_size_M": 64})) == "combined"
    with pytest.raises(TypeError, match=r"(?s)\['block_size_m'\].*did you mean 'block_size_M'"):
        server["run"](False, _qi({"block_size_m": 64}))


# SGLang's gfx95 patch, in shape: named leading parameters, then *args and **kwargs, all passed on.
GFX95 = """
import functools

def wrap(original):
    @functools.wraps(original)
    def fused_moe_wrapper(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs):
        emit = kwargs.get("quant_type") is not None
        return original(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs)
    return fused_moe_wrapper
"""


def test_the_recipe_checks_keys_through_sglangs_gfx95_wrapper(fake_aiter: Any, tmp_path: Path) -> None:
    import importlib.util
    import warnings

    fake_aiter(params=[*LATEST, ("no_combine", "False")], body=READS)
    (tmp_path / "gfx95_patch.py").write_text(GFX95)
    spec = importlib.util.spec_from_file_location("gfx95_patch", tmp_path / "gfx95_patch.py")
    assert spec is not None and spec.loader is not None
    patch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(patch)
    server = _server_module(_recipe(), wrap=patch.wrap)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a valid key never warns
        assert server["run"](False, _qi({"block_size_M": 64})) == "combined"
        assert server["run"](True, _qi({"block_size_M": 64})) == "per-route"
    with pytest.raises(TypeError, match=r"(?s)\['block_size_m'\].*did you mean 'block_size_M'"):
        server["run"](False, _qi({"block_size_m": 64}))


def test_the_recipe_keeps_the_servers_own_patch_point(fake_aiter: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A server's tests patch the probe function and install a fake module of their own.
    fake_aiter(params=LATEST, body=IGNORES)
    server = _server_module(_recipe())
    monkeypatch.setitem(server, "supports_no_combine", lambda: False)
    with pytest.raises(NotImplementedError, match="^no_combine=True"):
        server["run"](True, _qi({}))



# --- the README and the report's page -------------------------------------------------------


def _block(path: Path, after: str, lang: str = "") -> str:
    text = path.read_text()
    return text[text.index(after):].split(f"```{lang}\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_says_what_it_does(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    history = json.loads((DATA / "aiter-entry-points-history.json").read_text())["releases"]
    root = write_fake_entry_points(tmp_path, next(r for r in history if r["ref"] == "v0.1.20.post1")["entry_points"])
    # qr_get_handle as AITER defines it from v0.1.19.post2 on (aiter/ops/quick_all_reduce.py)
    (root / "aiter" / "ops" / "quick_all_reduce.py").write_text("def qr_get_handle(fa, out_ptr):\n    return fa\n")
    with (root / "aiter" / "__init__.py").open("a") as init:
        init.write("from .ops.quick_all_reduce import qr_get_handle\n")
    monkeypatch.syspath_prepend(str(root))
    forget_aiter()
    lines = [ln for ln in _block(ROOT / "README.md", "## What it is", "python").splitlines() if ln.strip()]
    namespace: dict[str, Any] = {}
    exec("\n".join(lines[:2]), namespace)  # import, probe
    claimed = {"Support.UNSUPPORTED": None, "UnsupportedFeatureError": capabilities.UnsupportedFeatureError,
               "InvalidCallError": capabilities.InvalidCallError}  # fmt: skip
    for line in lines[2:]:
        code, _, comment = line.partition("#")
        outcome = next(k for k in claimed if k in comment)
        if claimed[outcome] is None:
            assert repr(eval(code, namespace)).startswith("<" + outcome), line
        else:
            with pytest.raises(claimed[outcome]):
                exec(code, namespace)
    forget_aiter()


def test_the_report_page_shows_the_short_reports_lines(fake_aiter: Any) -> None:
    fake_aiter(params=LATEST, body=IGNORES)
    code, out, _ = cli("--arch", "gfx942")
    assert code == 0 and len(out.splitlines()) <= 25
    shown = [ln.split(":", 1)[0].strip() for ln in _block(ROOT / "docs" / "report.md", "### The text report").splitlines()]
    assert [ln.split(":", 1)[0].strip() for ln in out.splitlines()] == shown


def test_the_report_page_lists_every_exit_code_the_help_lists() -> None:
    done = run_cli("--help")  # argparse prints help to the process's own stdout
    code, out = done.returncode, done.stdout
    helped = set(re.findall(r"^  (\d)  ", out, re.M))
    page = (ROOT / "docs" / "report.md").read_text()
    table = page[page.index("### Exit codes"):page.index("### The text report")]
    assert code == 0 and helped == set(re.findall(r"^\| (\d) \|", table, re.M)) == {"0", "1", "2", "3"}


# --- docs/scan.md: its commands, settings and CI job run as written ---------------------------


_SCAN_PAGE = ROOT / "docs" / "scan.md"


def _scan_tree(tmp_path: Path) -> tuple[Path, Path]:
    """A server (python/, with a test/ folder) and an AITER source tree (.aiter) under tmp_path."""
    from capabilities.testing import write_package

    aiter = write_package(tmp_path / ".aiter", {"aiter/__init__.py": "def silu_and_mul(out, input):\n    return out\n"}, version="0.1.12", distribution="amd-aiter")
    server = tmp_path / "python" / "server"
    (server / "test").mkdir(parents=True)
    (server / "layer.py").write_text("import aiter\n\naiter.silu_and_mul(1, 2, 3)\n")
    (server / "test" / "test_layer.py").write_text("import aiter\n\naiter.silu_and_mul(1)\n")
    return tmp_path / "python", aiter


def test_the_scan_pages_ci_job_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _scan_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    job = _block(_SCAN_PAGE, "## Gating a server's repository in CI", "yaml")
    commands = [ln.split("run: ", 1)[1].split(" > ")[0] for ln in job.splitlines() if "run: aiter-capabilities" in ln]
    assert len(commands) == 2
    for command in commands:
        argv = command.split()
        assert argv[:2] == ["aiter-capabilities", "scan"]
        code, out, err = cli(*argv[1:])
        assert code == 1 and err == "", err  # the call in layer.py fails; test/ is excluded
        assert "test_layer.py" not in out
    out = cli(*commands[0].split()[1:])[1]
    assert all(re.fullmatch(r"::(error|warning|notice)( [a-zA-Z]+=[^,:]*(,[a-zA-Z]+=[^,:]*)*)?::.*", ln) for ln in out.splitlines())
    assert out.startswith("::error file=python/server/layer.py,line=3,col=1,")


def test_the_scan_pages_settings_and_hook_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python, aiter = _scan_tree(tmp_path)
    settings = _block(_SCAN_PAGE, "### Leaving files out, and settings in", "toml")
    settings = settings.replace('["python/sglang"]', '["python"]').replace('["../aiter"]', '[".aiter"]')
    (tmp_path / "pyproject.toml").write_text(settings)
    monkeypatch.chdir(python / "server")
    code, out, err = cli("scan", "--format", "text")  # the page's table, with this tree's folders
    assert code == 1 and err == "" and "server/layer.py" in out and "test_layer" not in out
    hook = (ROOT / ".pre-commit-hooks.yaml").read_text()
    entry = re.search(r"^  entry: (.*)$", hook, re.M)
    assert entry is not None and entry.group(1) == "aiter-capabilities scan -q"
    code, out, _ = cli("scan", "-q", "--format", "text")  # the hook's command, in text (the settings say github)
    assert code == 1 and len(out.splitlines()) == 1


def test_the_scan_pages_no_aiter_line_is_what_it_prints(tmp_path: Path) -> None:
    import io

    from capabilities._cli import main

    python, _ = _scan_tree(tmp_path)
    shown = next(ln.strip() for ln in _SCAN_PAGE.read_text().splitlines() if "error: no AITER to check against" in ln)
    out, err = io.StringIO(), io.StringIO()
    assert main(["scan", str(python)], stdout=out, stderr=err, prog="aiter-capabilities") == 2
    assert (out.getvalue(), err.getvalue()) == ("", shown + "\n")


def test_the_console_command_is_declared_and_answers() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10: the project's dependency there
        import tomli as tomllib

    from capabilities import _cli

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"aiter-capabilities": "capabilities._cli:console"}
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from capabilities._cli import console; sys.argv = ['aiter-capabilities', 'scan', '--help']; raise SystemExit(console())"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.startswith("usage: aiter-capabilities scan")
    assert callable(_cli.console)


def test_the_runner_example_runs_on_a_cpu_as_its_own_error_says() -> None:
    import torch

    from runners import AiterUnavailableError

    example = _block(ROOT / "docs" / "integration.md", "After:", "python")
    experts, hidden, inter, tokens, topk = 4, 8, 16, 3, 2
    given = {"w13": torch.randn(experts, 2 * inter, hidden), "w2": torch.randn(experts, hidden, inter),
             "x": torch.randn(tokens, hidden), "ids": torch.randint(0, experts, (tokens, topk)),
             "weights": torch.rand(tokens, topk), "torch": torch}  # fmt: skip
    try:
        exec(example, dict(given))
    except AiterUnavailableError as exc:  # no AITER here: the error names the way to run it anyway
        assert "MoeRunnerConfig(backend='reference')" in str(exc)
    followed = example.replace('MoeRunnerConfig(activation="silu", no_combine=True)', 'MoeRunnerConfig(activation="silu", no_combine=True, backend="reference")')
    assert followed != example
    namespace = dict(given)
    with pytest.warns(capabilities.IgnoredOptionWarning, match="moe_sorting_dispatch_policy"):  # named ignored, once
        exec(followed, namespace)
    assert tuple(namespace["out"].shape) == (tokens, topk, hidden)  # [M, topk, hidden], as the comment says
