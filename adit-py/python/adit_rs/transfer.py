"""`transfer`: source → (pseudonymizer) → node or folder, with progress."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from . import _native
from .node import Node
from .pseudonymizer import Pseudonymizer

#: ``progress(done, expected)``; ``expected`` is None until the source knows.
ProgressCallback = Callable[[int, "int | None"], object]


def transfer(
    source: Node,
    destination: Node | str | os.PathLike,
    study_uid: str,
    series_uids: Iterable[str] | None = None,
    sop_instance_uid: str | None = None,
    patient_id: str | None = None,
    pseudonymizer: Pseudonymizer | None = None,
    progress: ProgressCallback | bool | None = None,
) -> dict[str, Any]:
    """Transfers a study (some series, or one instance) from ``source`` to ``destination``.

    ``destination`` is a :class:`Node` or a folder (ADIT's layout). ``progress`` is a callable
    ``progress(done, expected)`` or ``True`` for a tqdm bar (when tqdm is installed). Ctrl-C
    cancels the transfer and raises ``KeyboardInterrupt``. Returns counts (``stored``,
    ``warnings``, ``failed``, ``missing``, ``skipped``), ``bytes``, ``seconds``, ``status``
    and ``error``.
    """
    dest = destination._native if isinstance(destination, Node) else os.fspath(destination)
    series = None if series_uids is None else list(series_uids)
    native_p = None if pseudonymizer is None else pseudonymizer._native
    bar = None
    callback = progress if callable(progress) else None
    if progress is True:
        bar, callback = _tqdm_callback(study_uid)
    try:
        return _native.transfer(
            source._native,
            dest,
            study_uid,
            series,
            sop_instance_uid,
            patient_id,
            native_p,
            callback,
        )
    finally:
        if bar is not None:
            bar.close()


def _tqdm_callback(study_uid: str) -> tuple[Any, ProgressCallback | None]:
    try:
        from tqdm import tqdm
    except ImportError:
        return None, None
    bar = tqdm(desc=f"study {study_uid}", unit="instance")

    def update(done: int, expected: int | None) -> None:
        if expected is not None and bar.total != expected:
            bar.total = expected
        bar.update(done - bar.n)

    return bar, update
