"""Conversions between pydicom objects and the bytes the native module works with."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from io import BytesIO
from typing import Any

import pydicom
from pydicom import Dataset

from ._native import PartStream, split_part10

_PYDICOM_MAJOR = int(pydicom.__version__.split(".")[0])

if _PYDICOM_MAJOR >= 3:
    from pydicom import config
    from pydicom.charset import default_encoding
    from pydicom.dataelem import RawDataElement
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.tag import BaseTag
    from pydicom.uid import PrivateTransferSyntaxes

    # The fields of a RawDataElement after is_little_endian, at their defaults; the native
    # side fills the first seven. Another layout (a future pydicom) disables the fast path.
    _RAW_HEAD = ("tag", "VR", "length", "value", "value_tell", "is_implicit_VR")
    _RAW_LAYOUT_KNOWN = RawDataElement._fields[:7] == (*_RAW_HEAD, "is_little_endian") and all(
        f in RawDataElement._field_defaults for f in RawDataElement._fields[7:]
    )
    _RAW_TAIL = tuple(RawDataElement._field_defaults.get(f) for f in RawDataElement._fields[7:])

#: What APIs taking instances accept: a pydicom Dataset, Part-10 bytes or a file path.
InstanceLike = Dataset | bytes | bytearray | memoryview | str | os.PathLike


def to_dataset(part10: bytes) -> Dataset:
    """A Part-10 file as a pydicom Dataset, the same as ``dcmread`` gives."""
    return to_datasets([part10])[0]


def to_datasets(parts: Sequence[bytes]) -> list[Dataset]:
    """Part-10 files as pydicom Datasets, the same as ``dcmread`` gives.

    The elements are located in Rust (GIL released) and handed to pydicom as the
    ``RawDataElement``s its reader would yield, which it converts lazily on access; files
    the Rust walk leaves to pydicom (deflate, no preamble, unusual encodings) and pydicom
    settings that change how files are read go through ``dcmread``.
    """
    if not _fast_path():
        return [pydicom.dcmread(BytesIO(part)) for part in parts]
    with _collector_paused():
        splits = split_part10(
            parts, BaseTag, RawDataElement, _RAW_TAIL, config.use_none_as_empty_text_VR_value
        )
        return [
            _file_dataset(BytesIO(part), split)
            if split is not None
            else pydicom.dcmread(BytesIO(part))
            for part, split in zip(parts, splits, strict=True)
        ]


def stream_datasets(parts: PartStream) -> Iterator[list[Dataset]]:
    """The instances of a stream as pydicom Datasets, a batch of those that have arrived at
    a time (the next ones arrive meanwhile, GIL released). Closes nothing.

    On the fast path the Rust side splits each instance as it arrives and copies every value
    once, straight from the network buffers; the dataset's ``buffer`` is a ``PartBuffer``
    that reads like the ``BytesIO`` ``dcmread`` would keep but shares the pixel data with
    the dataset instead of holding the file a second time.
    """
    if not _fast_path():
        while batch := parts.next_batch():
            yield [pydicom.dcmread(BytesIO(part)) for part in batch]
        return
    while True:
        with _collector_paused():
            batch = parts.next_split_batch(
                BaseTag, RawDataElement, _RAW_TAIL, config.use_none_as_empty_text_VR_value
            )
            datasets = [
                _file_dataset(buffer, split)
                if split is not None
                else pydicom.dcmread(BytesIO(buffer))
                for buffer, split in batch
            ]
        if not datasets:
            return
        yield datasets


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector. Building Datasets makes hundreds of thousands of
    new tuples, none of them garbage: without a pause, the collector would scan the growing
    heap over and over (half the time of a large batch)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _fast_path() -> bool:
    """Whether pydicom would read files as the Rust walk assumes (its default settings)."""
    return (
        _PYDICOM_MAJOR >= 3
        and _RAW_LAYOUT_KNOWN
        and not PrivateTransferSyntaxes
        and config.settings.infer_sq_for_un_vr
    )


def _file_dataset(buffer: Any, split: tuple) -> Dataset:
    """What ``dcmread(buffer)`` returns, from the elements the Rust walk found (pydicom 3's
    ``read_partial`` and ``read_dataset``, without the parsing); ``buffer`` is the file as a
    ``BytesIO`` or a ``PartBuffer``."""
    preamble, meta_elements, elements, implicit, little = split
    # read_partial wraps each dict in a Dataset first; FileMetaDataset and FileDataset share
    # that Dataset's dict and set their own encodings, so the wrappers are left out here.
    file_meta = FileMetaDataset(meta_elements)
    file_meta.set_original_encoding(False, True, default_encoding)
    ds = FileDataset(buffer, elements, preamble, file_meta, implicit, little)
    ds.set_original_encoding(implicit, little, ds._character_set)
    return ds


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
