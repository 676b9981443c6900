"""The drop-in :class:`AditClient`: ADIT's DICOMweb API (QIDO-RS, WADO-RS, STOW-RS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import BytesIO
from typing import Any
from urllib.parse import quote

import pydicom
from pydicom import Dataset

from adit_rs._data import stream_datasets
from adit_rs._native import HttpSession, __version__


#: Parts a list-returning retrieve lets arrive before they are turned into Datasets: all of
#: them end up in memory anyway, and a deep buffer keeps the connection busy meanwhile.
_RETRIEVE_AHEAD = 1024


def _json_list(body: bytes) -> list[dict[str, Any]]:
    decoded = json.loads(body) if body.strip() else []
    # Some servers send a single data set instead of an array.
    return [decoded] if isinstance(decoded, dict) else decoded


def _query_params(query: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Search filters as query parameters, sorted by key, list values repeated."""
    params: list[tuple[str, str]] = []
    for key, value in sorted((query or {}).items()):
        if not isinstance(key, str):
            raise TypeError('Keys of argument "query" must be strings.')
        if isinstance(value, (list, tuple)):
            params.extend((key, str(v)) for v in value)
        else:
            params.append((key, str(value)))
    return params


def _uid(uid: str) -> str:
    return quote(uid, safe="")


class AditClient:
    """A client of an ADIT server's DICOMweb API, with the same interface as ``adit-client``.

    ``verify`` is ``True`` (check the server certificate against the system roots), ``False``
    (accept any certificate) or the path of a PEM CA bundle. ``trial_protocol_id`` and
    ``trial_protocol_name`` are written into every retrieved instance by the server, and a
    ``pseudonym`` passed to a retrieve or iterate method pseudonymizes on the server.
    """

    def __init__(
        self,
        server_url: str,
        auth_token: str,
        verify: str | bool = True,
        trial_protocol_id: str | None = None,
        trial_protocol_name: str | None = None,
    ) -> None:
        self.server_url = server_url
        self.auth_token = auth_token
        self.verify = verify
        self.trial_protocol_id = trial_protocol_id
        self.trial_protocol_name = trial_protocol_name
        self.__version__ = __version__
        self._session = HttpSession(
            f"Token {auth_token}",
            f"python-adit_client/{__version__}",
            verify if isinstance(verify, bool) else True,
            None if isinstance(verify, bool) else str(verify),
        )

    # QIDO-RS

    def search_for_studies(
        self, ae_title: str, query: dict[str, str] | None = None
    ) -> list[Dataset]:
        """Search for studies."""
        return self._search(ae_title, "studies", query)

    def search_for_series(
        self, ae_title: str, study_uid: str, query: dict[str, str] | None = None
    ) -> list[Dataset]:
        """Search for series."""
        return self._search(ae_title, f"studies/{_uid(study_uid)}/series", query)

    def search_for_images(
        self,
        ae_title: str,
        study_uid: str,
        series_uid: str,
        query: dict[str, str] | None = None,
    ) -> list[Dataset]:
        """Search for images."""
        path = f"studies/{_uid(study_uid)}/series/{_uid(series_uid)}/instances"
        return self._search(ae_title, path, query)

    # WADO-RS

    def retrieve_study(
        self, ae_title: str, study_uid: str, pseudonym: str | None = None
    ) -> list[Dataset]:
        """Retrieve all instances of a study."""
        return self._retrieve(ae_title, self._study(study_uid), pseudonym)

    def retrieve_study_metadata(
        self, ae_title: str, study_uid: str, pseudonym: str | None = None
    ) -> list[dict[str, dict]]:
        """Retrieve the metadata for all instances of a study."""
        return self._metadata(ae_title, self._study(study_uid), pseudonym)

    def iter_study(
        self, ae_title: str, study_uid: str, pseudonym: str | None = None
    ) -> Iterator[Dataset]:
        """Iterate over all instances of a study, one at a time as they arrive."""
        yield from self._iter(ae_title, self._study(study_uid), pseudonym)

    def retrieve_series(
        self,
        ae_title: str,
        study_uid: str,
        series_uid: str,
        pseudonym: str | None = None,
    ) -> list[Dataset]:
        """Retrieve all instances of a series."""
        return self._retrieve(ae_title, self._series(study_uid, series_uid), pseudonym)

    def retrieve_series_metadata(
        self,
        ae_title: str,
        study_uid: str,
        series_uid: str,
        pseudonym: str | None = None,
    ) -> list[dict[str, dict]]:
        """Retrieve the metadata for all instances of a series."""
        return self._metadata(ae_title, self._series(study_uid, series_uid), pseudonym)

    def iter_series(
        self,
        ae_title: str,
        study_uid: str,
        series_uid: str,
        pseudonym: str | None = None,
    ) -> Iterator[Dataset]:
        """Iterate over all instances of a series, one at a time as they arrive."""
        yield from self._iter(ae_title, self._series(study_uid, series_uid), pseudonym)

    def retrieve_image(
        self,
        ae_title: str,
        study_uid: str,
        series_uid: str,
        image_uid: str,
        pseudonym: str | None = None,
    ) -> Dataset:
        """Retrieve an image."""
        path = self._image(study_uid, series_uid, image_uid)
        images = self._retrieve(ae_title, path, pseudonym)
        if len(images) != 1:
            from adit_rs._native import InvalidInputError

            raise InvalidInputError(
                f"WADO-RS retrieve_image {path}: expected one instance, got {len(images)}"
            )
        return images[0]

    def retrieve_image_metadata(
        self,
        ae_title: str,
        study_uid: str,
        series_uid: str,
        image_uid: str,
        pseudonym: str | None = None,
    ) -> dict[str, dict]:
        """Retrieve the metadata for an image."""
        path = self._image(study_uid, series_uid, image_uid)
        return self._metadata(ae_title, path, pseudonym)[0]

    # STOW-RS

    def store_images(self, ae_title: str, images: list[Dataset]) -> Dataset:
        """Store images; returns the server's STOW-RS response."""
        body = self._session.post_instances(
            "STOW-RS store_images",
            self._url(ae_title, "stowrs", "studies"),
            [_part10(image) for image in images],
        )
        decoded = json.loads(body) if body.strip() else {}
        return Dataset.from_json(decoded)

    # Internals

    def _url(self, ae_title: str, service: str, path: str) -> str:
        root = self.server_url.rstrip("/")
        return f"{root}/api/dicom-web/{quote(ae_title, safe='')}/{service}/{path}"

    def _params(self, pseudonym: str | None) -> list[tuple[str, str]]:
        params = []
        if pseudonym:
            params.append(("pseudonym", pseudonym))
        if self.trial_protocol_id:
            params.append(("trial_protocol_id", self.trial_protocol_id))
        if self.trial_protocol_name:
            params.append(("trial_protocol_name", self.trial_protocol_name))
        return params

    @staticmethod
    def _study(study_uid: str) -> str:
        return f"studies/{_uid(study_uid)}"

    @staticmethod
    def _series(study_uid: str, series_uid: str) -> str:
        return f"studies/{_uid(study_uid)}/series/{_uid(series_uid)}"

    @staticmethod
    def _image(study_uid: str, series_uid: str, image_uid: str) -> str:
        return f"studies/{_uid(study_uid)}/series/{_uid(series_uid)}/instances/{_uid(image_uid)}"

    def _search(self, ae_title: str, path: str, query: dict[str, Any] | None) -> list[Dataset]:
        body = self._session.get_json(
            f"QIDO-RS {path.rsplit('/', 1)[-1]}",
            self._url(ae_title, "qidors", path),
            _query_params(query),
        )
        return [Dataset.from_json(item) for item in _json_list(body)]

    def _retrieve(self, ae_title: str, path: str, pseudonym: str | None) -> list[Dataset]:
        # Datasets are built batch by batch while the next parts arrive (GIL released).
        parts = self._session.stream_parts(
            "WADO-RS retrieve",
            self._url(ae_title, "wadors", path),
            self._params(pseudonym),
            _RETRIEVE_AHEAD,
        )
        datasets: list[Dataset] = []
        try:
            for batch in stream_datasets(parts):
                datasets.extend(batch)
        finally:
            parts.close()
        return datasets

    def _iter(self, ae_title: str, path: str, pseudonym: str | None) -> Iterator[Dataset]:
        parts = self._session.stream_parts(
            "WADO-RS retrieve", self._url(ae_title, "wadors", path), self._params(pseudonym)
        )
        try:
            for batch in stream_datasets(parts):
                yield from batch
        finally:
            parts.close()

    def _metadata(
        self, ae_title: str, path: str, pseudonym: str | None
    ) -> list[dict[str, dict]]:
        body = self._session.get_json(
            "WADO-RS metadata",
            self._url(ae_title, "wadors", f"{path}/metadata"),
            self._params(pseudonym),
        )
        return _json_list(body)


def _part10(image: Dataset) -> bytes:
    """A dataset as a Part-10 file (with file meta information), as STOW-RS expects."""
    out = BytesIO()
    if _PYDICOM_MAJOR >= 3:
        pydicom.dcmwrite(out, image, enforce_file_format=True)
    else:
        pydicom.dcmwrite(out, image, write_like_original=False)
    return out.getvalue()


_PYDICOM_MAJOR = int(pydicom.__version__.split(".")[0])
