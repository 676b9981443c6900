"""A drop-in replacement for the ``adit-client`` package (0.52), backed by ADIT-RS.

``from adit_client import AditClient`` works as with the original. HTTP, ``multipart/related``
parsing and DICOM transfer run in Rust with the GIL released; pydicom datasets are built only
when handed to the caller.
"""

from adit_rs._native import __version__

from .client import AditClient

__all__ = ["AditClient", "__version__"]
