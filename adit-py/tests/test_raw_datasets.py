"""Datasets built from the elements the Rust walk finds (`adit_rs._data.to_dataset`) are the
same as `pydicom.dcmread` of the same bytes, over pydicom's own test files: implicit and
explicit VR, big endian, deflate, nested and private sequences, undefined lengths,
encapsulated pixel data and specific character sets. The same holds for files that arrive
in pieces (as a retrieve receives them, `split_pieces`), whose `PartBuffer` reads like the
`BytesIO` that `dcmread` keeps."""

from __future__ import annotations

import copy
import pickle
import warnings
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import BaseTag
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from adit_rs import _native
from adit_rs._data import _RAW_TAIL, _file_dataset, to_dataset, to_datasets

DATA = Path(pydicom.__file__).parent / "data"
FILES = sorted((DATA / "test_files").glob("*.dcm")) + sorted(
    (DATA / "charset_files").glob("*.dcm")
)

#: Files the walk must handle itself (not leave to dcmread), one per kind of encoding.
FAST = [
    "CT_small.dcm",  # explicit VR little endian
    "MR_small_implicit.dcm",  # implicit VR
    "MR_small_bigendian.dcm",  # explicit VR big endian
    "JPEG2000.dcm",  # encapsulated pixel data (undefined length)
    "nested_priv_SQ.dcm",  # nested private sequences
    "UN_sequence.dcm",  # UN of undefined length read as a sequence
    "rtplan.dcm",  # nested sequences
    "chrSQEncoding.dcm",  # character set inside sequence items
    "chrJapMulti.dcm",  # multi-byte character set
]


def readable(path: Path) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pydicom.dcmread(path)
        return True
    except Exception:
        return False


def split(data: bytes):
    return _native.split_part10([data], BaseTag, RawDataElement, _RAW_TAIL, False)[0]


def flatten(ds, depth=0):
    """Everything observable about each element, recursively through sequences.

    The file position of elements inside sequences is left out: pydicom itself gives
    positions relative to the sequence's value for sequences it converts lazily (defined
    length) and absolute ones for those it reads eagerly (undefined length), and all
    sequences here are converted lazily.
    """
    out = []
    for elem in ds:
        tell = elem.file_tell if depth == 0 else None
        entry = (depth, elem.tag, elem.VR, tell, elem.is_undefined_length)
        if elem.VR == "SQ":
            out.append(entry)
            for item in elem.value:
                out.append(("item", item.is_undefined_length_sequence_item))
                out.extend(flatten(item, depth + 1))
        else:
            out.append((*entry, repr(elem.value)))
    return out


def written(ds) -> bytes | str:
    out = BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.save_as(out)
    except Exception as e:  # the same failure on both sides is fine
        return type(e).__name__
    return out.getvalue()


@pytest.mark.parametrize("path", [p for p in FILES if readable(p)], ids=lambda p: p.name)
def test_same_as_dcmread(path: Path):
    assert_same_as_dcmread(path.read_bytes())


@pytest.mark.parametrize("size", [7, 4096])
@pytest.mark.parametrize("path", [p for p in FILES if readable(p)], ids=lambda p: p.name)
def test_same_as_dcmread_from_pieces(path: Path, size: int):
    assert_same_as_dcmread(path.read_bytes(), from_pieces(size))


@pytest.mark.parametrize("name", FAST)
def test_walk_reads_across_every_piece_boundary(name: str):
    (path,) = [p for p in FILES if p.name == name]
    data = path.read_bytes()
    assert in_pieces(data, 1)[1] is not None
    assert_same_as_dcmread(data, from_pieces(1))


@pytest.mark.parametrize(
    "syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian]
)
@pytest.mark.parametrize("undefined", [False, True], ids=["defined", "undefined"])
def test_nested_sequences_in_every_encoding(syntax, undefined: bool):
    data = nested_file(syntax, undefined)
    assert split(data) is not None
    assert_same_as_dcmread(data)


def nested_file(syntax, undefined: bool) -> bytes:
    """Sequences three deep (standard and private, empty items, an empty sequence, text in
    a non-default character set, empty values) written by pydicom in `syntax`, sequences
    of undefined length if `undefined` (pydicom writes items with undefined length)."""
    inner = Dataset()
    inner.CodeValue = "1"
    inner.CodeMeaning = "Grösse"
    middle = Dataset()
    middle.ConceptNameCodeSequence = [inner]
    middle.TextValue = ""
    middle.NumericValue = None
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Jörg"
    ds.InstanceNumber = None
    ds.Rows = 2
    ds.PixelSpacing = [0.5, 0.25]
    ds.ContentSequence = [middle, Dataset()]
    ds.ReferencedStudySequence = []
    block = ds.private_block(0x0009, "ACME 1.0", create=True)
    block.add_new(0x01, "SQ", [Dataset(), middle])
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.preamble = b"\x01" * 128

    def mark(dataset):
        for elem in dataset:
            if elem.VR == "SQ":
                elem.is_undefined_length = undefined
                for item in elem.value:
                    mark(item)

    mark(ds)
    out = BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def in_pieces(data: bytes, size: int):
    """What a retrieve answers for `data` received in pieces of `size` bytes."""
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return _native.split_pieces(pieces, BaseTag, RawDataElement, _RAW_TAIL, False)


def from_pieces(size: int):
    """A builder of datasets from files received in pieces of `size` bytes."""

    def build(data: bytes):
        buffer, split = in_pieces(data, size)
        if split is None:
            assert buffer == data
            return pydicom.dcmread(BytesIO(buffer))
        assert isinstance(buffer, _native.PartBuffer)
        return _file_dataset(buffer, split)

    return build


def assert_same_as_dcmread(data: bytes, build=to_dataset):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pydicom.dcmread(BytesIO(data))
        ours = build(data)
        assert type(ours) is type(expected)
        assert ours.preamble == expected.preamble
        assert ours.file_meta == expected.file_meta
        assert flatten(ours.file_meta) == flatten(expected.file_meta)
        assert ours.original_encoding == expected.original_encoding
        assert ours.file_meta.original_encoding == expected.file_meta.original_encoding
        assert ours.original_character_set == expected.original_character_set
        assert ours._character_set == expected._character_set
        assert ours.filename == expected.filename
        assert ours.buffer.getvalue() == expected.buffer.getvalue()
        assert ours == expected
        assert flatten(ours) == flatten(expected)
        assert str(ours) == str(expected)
        assert written(ours) == written(expected)


@pytest.mark.parametrize("name", FAST)
def test_walk_handles_common_encodings(name: str):
    (path,) = [p for p in FILES if p.name == name]
    assert split(path.read_bytes()) is not None


@pytest.mark.parametrize(
    "name", ["image_dfl.dcm", "no_meta.dcm", "meta_missing_tsyntax.dcm", "MR_truncated.dcm"]
)
def test_unusual_files_are_left_to_dcmread(name: str):
    data = (DATA / "test_files" / name).read_bytes()
    assert split(data) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = pydicom.dcmread(BytesIO(data))
        except Exception as e:
            with pytest.raises(type(e)):
                to_dataset(data)
            return
        assert to_dataset(data) == expected


def test_pixel_data_and_batches():
    # A deflated file in the middle goes through dcmread; the order is kept.
    names = ("CT_small.dcm", "image_dfl.dcm", "MR_small_bigendian.dcm")
    paths = [DATA / "test_files" / n for n in names]
    parts = [p.read_bytes() for p in paths]
    for ours, path in zip(to_datasets(parts), paths, strict=True):
        expected = pydicom.dcmread(path)
        assert ours == expected
        assert ours.PixelData == expected.PixelData
        assert (ours.pixel_array == expected.pixel_array).all()
    assert to_datasets([]) == []


def test_garbage_is_rejected_like_dcmread():
    with pytest.raises(pydicom.errors.InvalidDicomError):
        to_dataset(b"not DICOM")


def large_file() -> bytes:
    """A CT image whose pixel data (128 KiB) is large enough to be shared, not copied."""
    ds = pydicom.dcmread(DATA / "test_files" / "CT_small.dcm")
    ds.Rows = ds.Columns = 256
    ds.PixelData = bytes(range(256)) * 512
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_part_buffer_reads_like_bytesio():
    data = large_file()
    buffer, split = in_pieces(data, 1000)
    assert split is not None
    ref = BytesIO(data)
    for size in (0, 5, 200, 70000, None, 10, -1):
        assert buffer.read(size) == ref.read(size)
        assert buffer.tell() == ref.tell()
    seeks = ((10, 0), (5, 1), (-3, 1), (-100, 2), (0, 2), (-(10**9), 1), (len(data) + 5, 0))
    for offset, whence in seeks:
        assert buffer.seek(offset, whence) == ref.seek(offset, whence)
        assert buffer.read(131000) == ref.read(131000)
    with pytest.raises(ValueError):
        buffer.seek(-1)
    with pytest.raises(ValueError):
        buffer.seek(0, 3)
    assert (buffer.readable(), buffer.seekable(), buffer.writable()) == (True, True, False)
    buffer.close()
    assert buffer.closed
    with pytest.raises(ValueError):
        buffer.read()


def test_dataset_from_pieces_pickles_copies_and_rereads():
    data = large_file()
    buffer, split = in_pieces(data, 4096)
    ds = _file_dataset(buffer, split)
    assert ds.buffer is buffer
    assert ds == pydicom.dcmread(BytesIO(data))
    restored = pickle.loads(pickle.dumps(ds))
    assert isinstance(restored.buffer, BytesIO)
    assert restored.buffer.getvalue() == data
    assert restored == ds
    deep = copy.deepcopy(ds)
    assert deep.buffer.getvalue() == data
    assert deep.PixelData == ds.PixelData
    buffer.seek(0)
    assert pydicom.dcmread(buffer) == ds
