"""Conversions between pydicom objects and the bytes the native module works with."""

from __future__ import annotations

import os
from io import BytesIO

import pydicom
from pydicom import Dataset

_PYDICOM_MAJOR = int(pydicom.__version__.split(".")[0])

#: What APIs taking instances accept: a pydicom Dataset, Part-10 bytes or a file path.
InstanceLike = Dataset | bytes | bytearray | memoryview | str | os.PathLike


def to_dataset(part10: bytes) -> Dataset:
    """A Part-10 file as a pydicom Dataset."""
    return pydicom.dcmread(BytesIO(part10))


def to_part10(instance: InstanceLike) -> bytes:
    """Part-10 bytes of a Dataset (with file meta information), bytes or a file."""
    if isinstance(instance, Dataset):
        out = BytesIO()
        if _PYDICOM_MAJOR >= 3:
            pydicom.dcmwrite(out, instance, enforce_file_format=True)
        else:
            pydicom.dcmwrite(out, instance, write_like_original=False)
        return out.getvalue()
    if isinstance(instance, (bytes, bytearray, memoryview)):
        return bytes(instance)
    if isinstance(instance, (str, os.PathLike)):
        with open(instance, "rb") as f:
            return f.read()
    raise TypeError(f"expected a Dataset, bytes or a path, got {type(instance).__name__}")
