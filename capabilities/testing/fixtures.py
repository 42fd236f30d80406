"""pytest fixtures over :mod:`capabilities.testing`'s writers: ``pytest_plugins =
["capabilities.testing.fixtures"]``. Each undoes what it did after the test."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from .._registry import clear_cache
from . import FakeAiter, forget_aiter, write_async_iterator_aiter, write_fake_aiter, write_fake_sysfs


@pytest.fixture
def fake_aiter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., FakeAiter]]:
    """A factory: ``fake_aiter(**write_fake_aiter_kwargs)`` writes a fake, puts it
    first on ``sys.path`` and resets the registry; ``fake_aiter(impostor=True)``
    writes PyPI's unrelated ``aiter`` instead. Undone after the test."""
    counter = itertools.count()

    def make(*, impostor: bool = False, **kwargs: object) -> FakeAiter:
        root = tmp_path / f"fake-aiter-{next(counter)}"
        fake = write_async_iterator_aiter(root) if impostor else write_fake_aiter(root, **kwargs)  # type: ignore[arg-type]
        monkeypatch.syspath_prepend(str(fake.root))
        forget_aiter()
        return fake

    forget_aiter()
    yield make
    forget_aiter()


@pytest.fixture
def fake_sysfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """A factory: ``fake_sysfs([(90402, 304)])`` writes a KFD topology, points
    CAPABILITIES_SYSFS_ROOT at it and clears the visibility variables and the registry."""
    counter = itertools.count()

    def make(gpus: Sequence[tuple[int, int]], **kwargs: int) -> Path:
        root = write_fake_sysfs(tmp_path / f"sysfs-{next(counter)}", gpus, **kwargs)
        monkeypatch.setenv("CAPABILITIES_SYSFS_ROOT", str(root))
        for name in ("ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES"):
            monkeypatch.delenv(name, raising=False)
        clear_cache()
        return root

    return make
