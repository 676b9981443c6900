"""`Node`: a PACS (DIMSE) or DICOMweb server used directly from Python."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

from pydicom import Dataset

from . import _native
from ._data import InstanceLike, stream_datasets, to_part10


class Node:
    """A DIMSE or DICOMweb peer: echo, find, retrieve and store.

    Create one with :meth:`Node.dimse` or :meth:`Node.dicomweb`.
    """

    def __init__(self, native: _native.Node) -> None:
        self._native = native

    @classmethod
    def dimse(
        cls,
        ae_title: str,
        host: str,
        port: int,
        calling_ae_title: str = "ADIT",
        parallel: int = 2,
    ) -> Node:
        """A PACS reached over DIMSE (C-ECHO, C-FIND, C-GET, C-STORE)."""
        return cls(_native.Node.dimse(ae_title, host, port, calling_ae_title, parallel))

    @classmethod
    def dicomweb(
        cls,
        root_url: str,
        authorization: str | None = None,
        ca_bundle: str | os.PathLike | None = None,
    ) -> Node:
        """A DICOMweb server (QIDO-RS, WADO-RS, STOW-RS) at ``root_url``."""
        bundle = None if ca_bundle is None else os.fspath(ca_bundle)
        return cls(_native.Node.dicomweb(root_url, authorization, bundle))

    @property
    def name(self) -> str:
        """``AE@host:port`` or the root URL."""
        return self._native.name

    def echo(self) -> float:
        """C-ECHO (DICOMweb: a one-result study search); returns the round trip in seconds."""
        return self._native.echo()

    def find(
        self,
        level: str,
        query: dict[str, Any] | None = None,
        limit: int | None = None,
        as_dict: bool = False,
    ) -> list[Dataset] | list[dict[str, Any]]:
        """Searches at ``level`` (PATIENT, STUDY, SERIES or IMAGE).

        ``query`` maps keywords to ADIT's matching values (wildcards, ``a-b`` ranges, lists).
        Returns pydicom Datasets, or DICOM JSON dicts with ``as_dict=True``.
        """
        pairs = [(str(k), str(v)) for k, v in (query or {}).items()]
        results = json.loads(self._native.find_json(level, pairs, limit))
        if as_dict:
            return results
        return [Dataset.from_json(r) for r in results]

    def iter_study(
        self,
        study_uid: str,
        series_uids: Iterable[str] | None = None,
        patient_id: str | None = None,
    ) -> Iterator[Dataset]:
        """Retrieves a study (or some of its series) lazily, instance by instance."""
        series = None if series_uids is None else list(series_uids)
        stream = self._native.retrieve(study_uid, series, None, patient_id)
        try:
            for batch in stream_datasets(stream):
                yield from batch
        finally:
            stream.close()

    def iter_study_bytes(
        self,
        study_uid: str,
        series_uids: Iterable[str] | None = None,
        patient_id: str | None = None,
    ) -> Iterator[bytes]:
        """Like :meth:`iter_study`, yielding Part-10 bytes (no pydicom parsing)."""
        series = None if series_uids is None else list(series_uids)
        stream = self._native.retrieve(study_uid, series, None, patient_id)
        try:
            yield from stream
        finally:
            stream.close()

    def retrieve_to(
        self,
        folder: str | os.PathLike,
        study_uid: str,
        series_uids: Iterable[str] | None = None,
        patient_id: str | None = None,
        pseudonymizer: Any = None,
        progress: Any = None,
    ) -> dict[str, Any]:
        """Retrieves into ``folder`` (ADIT's layout); see :func:`adit_rs.transfer`."""
        from .transfer import transfer

        return transfer(
            self,
            folder,
            study_uid,
            series_uids=series_uids,
            patient_id=patient_id,
            pseudonymizer=pseudonymizer,
            progress=progress,
        )

    def store(self, instances: Iterable[InstanceLike]) -> dict[str, Any]:
        """Stores Datasets, Part-10 bytes or files; returns ``stored``, ``warnings``,
        ``failed`` and the ``failures``' reasons."""
        return self._native.store([to_part10(i) for i in instances])

    def __repr__(self) -> str:
        return f"Node({self.name!r})"
