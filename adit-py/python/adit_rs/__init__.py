"""ADIT-RS from Python: DIMSE and DICOMweb nodes, the pseudonymizer and transfers.

Network I/O and DICOM coding run in Rust with the GIL released; results come back as pydicom
datasets, DICOM JSON dicts or files. Every error is an :class:`AditError`; Ctrl-C cancels the
running operation and raises ``KeyboardInterrupt``.

>>> from adit_rs import Node
>>> pacs = Node.dimse("ORTHANC", "127.0.0.1", 4242)          # doctest: +SKIP
>>> [s.StudyInstanceUID for s in pacs.find("STUDY", {"PatientID": "123"})]  # doctest: +SKIP
"""

from ._native import (
    AditError,
    AssociationRejectedError,
    DimseStatusError,
    HttpStatusError,
    InvalidInputError,
    PeerConnectionError,
    __version__,
)
from .node import Node
from .pseudonymizer import Pseudonymizer
from .transfer import transfer

__all__ = [
    "AditError",
    "AssociationRejectedError",
    "DimseStatusError",
    "HttpStatusError",
    "InvalidInputError",
    "Node",
    "PeerConnectionError",
    "Pseudonymizer",
    "__version__",
    "transfer",
]
