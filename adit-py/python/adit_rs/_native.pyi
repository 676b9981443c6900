"""Type stubs of the native module (Rust, PyO3). Use the wrappers in `adit_rs` and
`adit_client`; this module's API may change between versions."""

from collections.abc import Callable, Iterator
from typing import Any

__version__: str

class AditError(Exception):
    """Base class of every error raised by adit_rs and adit_client."""

class PeerConnectionError(AditError):
    """A peer could not be reached, dropped the connection or did not answer in time."""

class AssociationRejectedError(PeerConnectionError):
    """A DICOM peer rejected the association."""

class DimseStatusError(AditError):
    """A DICOM peer answered a DIMSE request with a failure status."""

class HttpStatusError(AditError):
    """An HTTP server answered with an error status; ``args[1]`` is the status code."""

class InvalidInputError(AditError):
    """An argument, a file or a peer's answer is not valid."""

class PartStream(Iterator[bytes]):
    """Part-10 files arriving from a peer; closing stops the transfer."""

    def __iter__(self) -> PartStream: ...
    def __next__(self) -> bytes: ...
    def next_batch(self) -> list[bytes]: ...
    def next_split_batch(
        self,
        base_tag: Any,
        raw_element: type,
        tail: tuple[Any, ...],
        none_as_empty_text: bool,
    ) -> list[tuple[PartBuffer, tuple[Any, ...]] | tuple[bytes, None]]: ...
    def close(self) -> None: ...

class PartBuffer:
    """The Part-10 file a retrieved ``FileDataset`` was read from (its ``buffer``): reads
    like ``io.BytesIO`` and shares the large values (pixel data) with the dataset."""

    def read(self, size: int | None = -1) -> bytes: ...
    def seek(self, offset: int, whence: int = 0) -> int: ...
    def tell(self) -> int: ...
    def getvalue(self) -> bytes: ...
    def readable(self) -> bool: ...
    def seekable(self) -> bool: ...
    def writable(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> PartBuffer: ...
    def __exit__(self, *args: object) -> None: ...

class HttpSession:
    """The HTTP core of the drop-in AditClient."""

    def __init__(
        self,
        authorization: str,
        user_agent: str,
        verify: bool = True,
        ca_bundle: str | None = None,
    ) -> None: ...
    def get_json(self, operation: str, url: str, params: list[tuple[str, str]]) -> bytes: ...
    def get_parts(
        self, operation: str, url: str, params: list[tuple[str, str]]
    ) -> list[bytes]: ...
    def stream_parts(
        self, operation: str, url: str, params: list[tuple[str, str]], ahead: int = 4
    ) -> PartStream: ...
    def post_instances(self, operation: str, url: str, instances: list[bytes]) -> bytes: ...

class Node:
    """A DIMSE or DICOMweb peer."""

    @staticmethod
    def dimse(
        ae_title: str,
        host: str,
        port: int,
        calling_ae_title: str = "ADIT",
        parallel: int = 2,
    ) -> Node: ...
    @staticmethod
    def dicomweb(
        root_url: str, authorization: str | None = None, ca_bundle: str | None = None
    ) -> Node: ...
    @property
    def name(self) -> str: ...
    def echo(self) -> float: ...
    def find_json(
        self,
        level: str,
        query: list[tuple[str, str]] | None = None,
        limit: int | None = None,
    ) -> str: ...
    def retrieve(
        self,
        study_uid: str,
        series_uids: list[str] | None = None,
        sop_instance_uid: str | None = None,
        patient_id: str | None = None,
    ) -> PartStream: ...
    def store(self, files: list[bytes]) -> dict[str, Any]: ...

class Pseudonymizer:
    """The server's pseudonymizer."""

    def __init__(
        self,
        secret: str,
        pseudonym: str | None = None,
        trial_protocol_id: str | None = None,
        trial_protocol_name: str | None = None,
        profile: str = "adit",
    ) -> None: ...
    def pseudonym_for(self, patient_id: str) -> str: ...
    def map_uid(self, uid: str) -> str: ...
    def pseudonymize_bytes(self, data: bytes) -> bytes: ...
    def pseudonymize_path(
        self, input: str, output: str, layout: str = "adit", threads: int = 0
    ) -> dict[str, Any]: ...

def transfer(
    source: Node,
    destination: Node | str,
    study_uid: str,
    series_uids: list[str] | None = None,
    sop_instance_uid: str | None = None,
    patient_id: str | None = None,
    pseudonymizer: Pseudonymizer | None = None,
    progress: Callable[[int, int | None], object] | None = None,
) -> dict[str, Any]: ...

def split_pieces(
    pieces: list[bytes],
    base_tag: Any,
    raw_element: type,
    tail: tuple[Any, ...],
    none_as_empty_text: bool,
) -> tuple[PartBuffer, tuple[Any, ...]] | tuple[bytes, None]: ...
def split_part10(
    parts: list[bytes],
    base_tag: type,
    raw_element: type,
    tail: tuple[Any, ...],
    none_as_empty_text: bool,
) -> list[tuple[bytes, dict[Any, Any], dict[Any, Any], bool, bool] | None]: ...
