"""`Pseudonymizer`: the server's pseudonymizer for Datasets, bytes, files and folders."""

from __future__ import annotations

import os
from typing import Any

from pydicom import Dataset

from . import _native
from ._data import InstanceLike, to_dataset, to_part10


class Pseudonymizer:
    """ADIT's pseudonymization (PS3.15 Basic Profile with ADIT's options) keyed by ``secret``.

    With the server's secret (``ADIT_SECRET_KEY``) the results are identical to what the
    server delivers: same pseudonyms, UIDs and date shifts. Without ``pseudonym`` each
    patient's pseudonym is derived from the secret and the PatientID.
    """

    def __init__(
        self,
        secret: str,
        pseudonym: str | None = None,
        trial_protocol_id: str | None = None,
        trial_protocol_name: str | None = None,
        profile: str = "adit",
    ) -> None:
        self._native = _native.Pseudonymizer(
            secret, pseudonym, trial_protocol_id, trial_protocol_name, profile
        )

    def pseudonym_for(self, patient_id: str) -> str:
        """The pseudonym ``patient_id`` gets."""
        return self._native.pseudonym_for(patient_id)

    def map_uid(self, uid: str) -> str:
        """The UID that replaces ``uid``."""
        return self._native.map_uid(uid)

    def pseudonymize(self, instance: InstanceLike) -> Dataset:
        """A pseudonymized copy of a Dataset, Part-10 bytes or a file, as a Dataset."""
        return to_dataset(self._native.pseudonymize_bytes(to_part10(instance)))

    def pseudonymize_bytes(self, part10: bytes) -> bytes:
        """Pseudonymizes a Part-10 file in memory."""
        return self._native.pseudonymize_bytes(part10)

    def pseudonymize_path(
        self,
        input: str | os.PathLike,
        output: str | os.PathLike,
        layout: str = "adit",
        threads: int = 0,
    ) -> dict[str, Any]:
        """Pseudonymizes a file or folder into the folder ``output`` on all cores (or
        ``threads``). ``layout="adit"`` names files after the pseudonymized values,
        ``"mirror"`` keeps the input's relative paths. Returns counts and problems."""
        return self._native.pseudonymize_path(os.fspath(input), os.fspath(output), layout, threads)
