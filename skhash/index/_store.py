"""Storage of a Hamming index: growable code and id buffers, tombstones, id lookups, files.

:class:`CodeStore` holds what :class:`skhash.index.HammingIndex` searches:
packed codes and their ids in *slots*, in insertion order. Adding appends to
buffers whose capacity doubles (amortised O(added)); removing marks slots dead
in a bit mask (one bit a slot, the layout of faiss's ``IDSelectorBitmap``),
and the buffers are compacted, in order, once dead slots outnumber live ones.
The live slots, in slot order, are therefore always the codes in insertion
order, which is what makes every search equal to a fresh fit on them.

Ids are ``int64`` or unicode strings. Ids ``0, 1, ...`` given by default are
kept implicit (``ids is None``: a slot's id is its number) until a compaction
or an explicit id makes them differ. Id lookups (removal, duplicate checks)
use sorted runs merged like a binary counter (the logarithmic method): no
dictionary of millions of Python objects, amortised O(log n) an insertion,
O(log^2 n) a lookup, built at the first lookup.

The on-disk format (a folder) is written by :func:`write_store` and read by
:func:`read_store`; :meth:`skhash.index.HammingIndex.save` documents it.
"""

import json
import os
import zlib
from pathlib import Path

import numpy as np

from ..codes import as_words

GROUP = 64  # slots a word of the alive mask, and codes a block of the search layout
FORMAT_NAME = "skhash.HammingIndex"
FORMAT_VERSION = 1
HEADER = "header.json"
CODES_FILE = "codes.bin"
IDS_FILE = "ids.bin"
APPROXIMATE_FILE = "approximate.faiss"
_CRC_CHUNK = 1 << 24  # bytes checksummed at a time


def _grown(array, rows):
    """``array`` with room for at least ``rows`` rows: capacity doubled, contents kept."""
    if array.shape[0] >= rows:
        return array
    capacity = max(rows, 2 * array.shape[0], GROUP)
    grown = np.empty((capacity,) + array.shape[1:], dtype=array.dtype)
    grown[: array.shape[0]] = array
    return grown


def check_ids(ids, n, name="ids"):
    """Validated ids: a 1-D ``int64`` or unicode array of ``n`` distinct values."""
    if hasattr(ids, "toarray"):
        raise TypeError(f"{name} must be a 1-D array of ints or strings, got a sparse matrix.")
    ids = np.asarray(ids)
    if ids.dtype == object and ids.size and all(isinstance(i, str) for i in ids.ravel()):
        ids = ids.astype(str)
    if ids.dtype.kind in "iu" and ids.dtype != np.uint64:
        ids = ids.astype(np.int64)
    elif ids.dtype == np.uint64 and ids.size and ids.max() <= np.iinfo(np.int64).max:
        ids = ids.astype(np.int64)
    elif ids.dtype.kind == "S":
        ids = ids.astype(str)
    if ids.dtype != np.int64 and ids.dtype.kind != "U":
        raise TypeError(f"{name} must be integers (int64) or strings, got dtype {ids.dtype}.")
    if ids.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got {ids.ndim} dimension(s).")
    if ids.shape[0] != n:
        raise ValueError(f"{name} has {ids.shape[0]} values but there are {n} codes.")
    unique, counts = np.unique(ids, return_counts=True)
    if unique.size != ids.size:
        shown = unique[counts > 1][:5].tolist()
        raise ValueError(f"{name} must be distinct; repeated: {shown}.")
    return ids


class IdDirectory:
    """Slots of ids: sorted runs of (id, slot), merged when a run is no longer the smaller."""

    def __init__(self):
        self.runs = []

    def insert(self, keys, slots):
        """Add keys with their slots, which are larger than any slot inserted before."""
        # Stable sorts keep equal keys (an id removed and added again) in slot order;
        # on two sorted runs numpy's stable sort (timsort) is a linear merge.
        order = np.argsort(keys, kind="stable")
        self.runs.append((keys[order], slots[order]))
        while len(self.runs) > 1 and self.runs[-2][0].size <= 2 * self.runs[-1][0].size:
            (k2, s2), (k1, s1) = self.runs.pop(), self.runs.pop()
            keys, slots = np.concatenate([k1, k2]), np.concatenate([s1, s2])
            order = np.argsort(keys, kind="stable")
            self.runs.append((keys[order], slots[order]))

    def newest(self, keys):
        """Largest slot ever given to each key, -1 for keys never seen."""
        order = np.argsort(keys)  # sorted keys make numpy's binary searches cache-friendly
        keys = keys[order]
        found = np.full(keys.shape[0], -1, dtype=np.int64)
        for run_keys, run_slots in self.runs:
            end = np.searchsorted(run_keys, keys, side="right")
            hit = end > 0
            hit[hit] = run_keys[end[hit] - 1] == keys[hit]
            found[hit] = np.maximum(found[hit], run_slots[end[hit] - 1])
        out = np.empty_like(found)
        out[order] = found
        return out


class CodeStore:
    """Codes and ids in insertion order, with tombstones; see the module docstring."""

    def __init__(self, codes, ids=None, next_id=None):
        self.codes = codes  # (capacity, n_bytes) uint8, rows [0, n_slots) used; maybe a memmap
        self.ids = ids  # (capacity,) int64 or unicode; None: the id of a slot is its number
        self.n_bytes = codes.shape[1]
        self.n_slots = codes.shape[0]
        self.n_dead = 0
        self.alive = None  # uint64 bit mask of live slots, built at the first need
        self.directory = None
        if next_id is None and ids is None:
            next_id = self.n_slots
        elif next_id is None and ids.dtype == np.int64:
            next_id = int(ids[: self.n_slots].max()) + 1 if self.n_slots else 0
        self.next_id = next_id  # int ids: the first id given by default to added codes
        self.epoch = 0  # increased by every compaction (slots renumbered): caches check it
        self._padded = self._blocks = None
        self._padded_rows = self._blocks_groups = 0

    def __getstate__(self):
        # pickle the used rows only, as plain arrays, without the derived search layouts
        state = self.__dict__.copy()
        state["codes"] = np.array(self.codes[: self.n_slots])
        if self.ids is not None:
            state["ids"] = np.array(self.ids[: self.n_slots])
        if self.alive is not None:
            state["alive"] = self.alive[: -(-self.n_slots // GROUP)].copy()
        state.update(directory=None, _padded=None, _blocks=None, _padded_rows=0, _blocks_groups=0)
        return state

    # -- state --------------------------------------------------------------------------
    @property
    def n_live(self):
        return self.n_slots - self.n_dead

    @property
    def id_dtype(self):
        return np.dtype(np.int64) if self.ids is None else self.ids.dtype

    def alive_mask(self):
        """The live-slot bit mask (all live until a removal), one uint64 a group of 64 slots."""
        n_words = -(-self.n_slots // GROUP)
        if self.alive is None:
            self.alive = np.full(max(n_words, 1), np.uint64(2**64 - 1), dtype=np.uint64)
        elif self.alive.shape[0] < n_words:
            grown = _grown(self.alive, n_words)
            grown[self.alive.shape[0] :] = np.uint64(2**64 - 1)
            self.alive = grown
        return self.alive

    def live_slots(self):
        if not self.n_dead:
            return np.arange(self.n_slots, dtype=np.int64)
        bits = np.unpackbits(self.alive.view(np.uint8), bitorder="little")
        return np.flatnonzero(bits[: self.n_slots]).astype(np.int64)

    def ids_of(self, slots):
        """Ids of slots (an int64 array of any shape)."""
        if self.ids is None:
            return slots.astype(np.int64, copy=True)
        return self.ids[slots]

    def live_codes(self):
        codes = self.codes[: self.n_slots]
        return codes[self.live_slots()] if self.n_dead else codes

    def live_ids(self):
        if self.ids is None and not self.n_dead:
            return np.arange(self.n_slots, dtype=np.int64)
        return self.ids_of(self.live_slots())

    # -- changes --------------------------------------------------------------------------
    def _check_kind(self, ids, name):
        if (ids.dtype.kind == "U") != (self.id_dtype.kind == "U"):
            raise TypeError(
                f"{name} are {'strings' if ids.dtype.kind == 'U' else 'integers'} but the "
                f"index holds {'string' if self.id_dtype.kind == 'U' else 'integer'} ids."
            )

    def _directory(self):
        if self.directory is None:
            self.directory = IdDirectory()
            if self.ids is not None and self.n_slots:
                self.directory.insert(
                    np.asarray(self.ids[: self.n_slots]), np.arange(self.n_slots, dtype=np.int64)
                )
        return self.directory

    def slots_of(self, ids):
        """Live slot of each id, -1 where the index holds no such id."""
        if self.ids is None:
            slots = np.where((ids >= 0) & (ids < self.n_slots), ids, -1)
        else:
            if ids.dtype.kind == "U" and ids.dtype.itemsize > self.ids.dtype.itemsize:
                # longer strings than any id held: never found (and not truncated)
                fits = np.char.str_len(ids) <= self.ids.dtype.itemsize // 4
                slots = np.full(ids.shape[0], -1, dtype=np.int64)
                slots[fits] = self.slots_of(ids[fits].astype(self.ids.dtype))
                return slots
            slots = self._directory().newest(ids.astype(self.ids.dtype))
        if self.n_dead:
            found = slots >= 0
            alive = self.alive[slots[found] // GROUP] >> (slots[found] % GROUP).astype(np.uint64)
            found[found] = (alive & np.uint64(1)).astype(bool)
            slots = np.where(found, slots, -1)
        return slots

    def add(self, codes, ids):
        """Append codes (validated) and ids (validated, or None for the next integers)."""
        n_new = codes.shape[0]
        if ids is None:
            if self.id_dtype.kind == "U":
                raise ValueError("ids are required: the index holds string ids.")
            # implicit ids stay implicit: next_id == n_slots until a compaction makes them explicit
            ids = None if self.ids is None else np.arange(self.next_id, self.next_id + n_new)
        else:
            self._check_kind(ids, "ids")
            taken = self.slots_of(ids) >= 0
            if taken.any():
                raise ValueError(
                    f"ids already in the index: {ids[taken][:5].tolist()}"
                    f"{' ...' if taken.sum() > 5 else ''}; remove them first."
                )
        if ids is not None and self.ids is None:  # implicit ids become explicit
            self.ids = np.arange(self.codes.shape[0], dtype=np.int64)
        start, end = self.n_slots, self.n_slots + n_new
        if not self.codes.flags.writeable or self.codes.shape[0] < end:
            self.codes = _grown(self.codes[:start], end)  # a mapped buffer is full: copied
        self.codes[start:end] = codes
        if self.ids is not None:
            if ids.dtype.kind == "U" and ids.dtype.itemsize > self.ids.dtype.itemsize:
                width = max(ids.dtype.itemsize // 4, 2 * self.ids.dtype.itemsize // 4)
                self.ids = self.ids.astype(f"<U{width}")
            if not self.ids.flags.writeable or self.ids.shape[0] < end:
                self.ids = _grown(self.ids[:start], end)
            self.ids[start:end] = ids
            if self.directory is not None:
                self.directory.insert(self.ids[start:end].copy(), np.arange(start, end))
        if self.id_dtype == np.int64:
            new_max = end - 1 if ids is None else int(ids.max())
            self.next_id = max(self.next_id, new_max + 1)
        self.n_slots = end
        if self.alive is not None:
            self.alive_mask()  # extends the mask: new slots are live

    def remove(self, ids):
        """Mark the slots of ``ids`` dead; compact when dead slots outnumber live ones."""
        self._check_kind(ids, "ids")
        slots = self.slots_of(ids)
        if (slots < 0).any():
            missing = ids[slots < 0]
            raise KeyError(
                f"{missing.size} id(s) not in the index: {missing[:5].tolist()}"
                f"{' ...' if missing.size > 5 else ''}; nothing was removed."
            )
        alive = self.alive_mask()
        np.bitwise_and.at(
            alive, slots // GROUP, ~(np.uint64(1) << (slots % GROUP).astype(np.uint64))
        )
        self.n_dead += slots.size
        if self.n_dead > self.n_live:
            self.compact()

    def compact(self):
        """Drop dead slots, keeping order."""
        keep = self.live_slots()
        if self.ids is None:
            self.ids = _grown(keep.copy(), keep.size)
        else:
            self.ids = _grown(self.ids[keep], keep.size)
        self.codes = _grown(self.codes[keep], keep.size)
        self.n_slots, self.n_dead = keep.size, 0
        self.alive = self.directory = None
        self._padded = self._blocks = None
        self._padded_rows = self._blocks_groups = 0
        self.epoch += 1

    # -- search layout ----------------------------------------------------------------------
    def words(self):
        """Row-major 64-bit words of the slots: the codes themselves when a code is a
        whole number of words, else a padded copy extended as codes are added."""
        n = self.n_slots
        if self.n_bytes % 8 == 0:
            # np.asarray: a memory map as a plain array, the type the kernels are compiled for
            return np.asarray(self.codes).view(np.uint64)[:n]
        if self._padded is None or self._padded.shape[0] < n:
            previous = self._padded
            self._padded = np.empty((self.codes.shape[0], -(-self.n_bytes // 8)), np.uint64)
            if previous is not None:
                self._padded[: self._padded_rows] = previous[: self._padded_rows]
        self._padded[self._padded_rows : n] = as_words(self.codes[self._padded_rows : n])
        self._padded_rows = n
        return self._padded[:n]

    def layout(self):
        """(:meth:`words`, blocks of 64 codes with words outermost).

        The blocks are a view of the words for one-word codes, else a copy
        extended as codes are added.
        """
        words = self.words()
        n_words = words.shape[1]
        n_groups = self.n_slots // GROUP
        if n_words == 1:
            return words, words[: n_groups * GROUP].reshape(n_groups, 1, GROUP)
        if self._blocks is None or self._blocks.shape[0] < n_groups:
            self._blocks = _grown(
                np.empty((0, n_words, GROUP), np.uint64) if self._blocks is None else self._blocks,
                n_groups,
            )
        done = self._blocks_groups
        if done < n_groups:
            full = words[done * GROUP : n_groups * GROUP]
            self._blocks[done:n_groups] = full.reshape(-1, GROUP, n_words).transpose(0, 2, 1)
            self._blocks_groups = n_groups
        return words, self._blocks[:n_groups]


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------


def _crc32(array):
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    crc = 0
    for start in range(0, flat.size, _CRC_CHUNK):
        crc = zlib.crc32(flat[start : start + _CRC_CHUNK], crc)
    return crc


def _write_array(path, array):
    # a new file moved into place: an index memory-mapping the old one keeps reading it
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        array = np.ascontiguousarray(array)
        if array.size:
            f.write(memoryview(array.reshape(-1).view(np.uint8)))
    os.replace(tmp, path)
    return {"bytes": int(array.nbytes), "crc32": _crc32(array)}


def _file_entry(file):
    """Size and CRC-32 of a file written by another library (read back in chunks)."""
    crc = 0
    with open(file, "rb") as f:
        while chunk := f.read(_CRC_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return {"bytes": file.stat().st_size, "crc32": crc}


def write_store(store, path, params, overwrite=False, approximate=None):
    """Write the live codes and ids of ``store`` into the folder ``path``.

    ``approximate``: ``(entry, write)`` to save a search structure too, where
    ``write(file)`` writes it and ``entry`` (a dict) describes it in the header.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"path {str(path)!r} exists and is not a folder.")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(
            f"folder {str(path)!r} is not empty; pass overwrite=True to replace an index."
        )
    path.mkdir(parents=True, exist_ok=True)
    (path / HEADER).unlink(missing_ok=True)  # a folder without its header is never read
    codes = store.live_codes()
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "n_bits": 8 * store.n_bytes,
        "count": int(codes.shape[0]),
        "codes": {"file": CODES_FILE, **_write_array(path / CODES_FILE, codes)},
    }
    if store.ids is None and not store.n_dead:
        header["ids"] = {"kind": "range"}
        (path / IDS_FILE).unlink(missing_ok=True)
    else:
        ids = store.live_ids()
        dtype = ids.dtype.newbyteorder("<") if ids.dtype.kind == "U" else np.dtype("<i8")
        header["ids"] = {
            "kind": "array",
            "file": IDS_FILE,
            "dtype": dtype.str,
            **_write_array(path / IDS_FILE, ids.astype(dtype)),
        }
    header["next_id"] = store.next_id
    header["params"] = params
    if approximate is None:
        (path / APPROXIMATE_FILE).unlink(missing_ok=True)
    else:
        entry, write = approximate
        tmp = path / (APPROXIMATE_FILE + ".tmp")
        write(tmp)
        os.replace(tmp, path / APPROXIMATE_FILE)
        header["approximate"] = {
            **entry,
            "file": APPROXIMATE_FILE,
            **_file_entry(path / APPROXIMATE_FILE),
        }
    tmp = path / (HEADER + ".tmp")
    tmp.write_text(json.dumps(header, indent=1) + "\n")
    os.replace(tmp, path / HEADER)  # the header last: its presence means a complete index


def _corrupt(path, what):
    return ValueError(f"{str(path)!r} is not a valid skhash index: {what}")


def _field(header, key, kind, path, where="header"):
    value = header.get(key) if isinstance(header, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _corrupt(path, f"field {key!r} of the {where} is missing or of the wrong type.")
    return value


def read_header(path):
    """The validated header of the index folder ``path``."""
    path = Path(path)
    if not (path / HEADER).is_file():
        if not path.exists():
            raise FileNotFoundError(f"no index at {str(path)!r}: the path does not exist.")
        raise _corrupt(path, f"no {HEADER} (not an index folder, or an unfinished save).")
    try:
        header = json.loads((path / HEADER).read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise _corrupt(path, f"{HEADER} is not valid JSON ({exc}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise _corrupt(path, f"{HEADER} does not describe a {FORMAT_NAME} (field 'format').")
    version = _field(header, "format_version", int, path)
    if version != FORMAT_VERSION:
        newer = "a newer" if version > FORMAT_VERSION else "an older, unsupported"
        raise ValueError(
            f"{str(path)!r} has format version {version}, written by {newer} skhash; this "
            f"skhash reads format version {FORMAT_VERSION} only."
        )
    n_bits = _field(header, "n_bits", int, path)
    count = _field(header, "count", int, path)
    if n_bits < 8 or n_bits % 8 or count < 0:
        raise _corrupt(path, f"n_bits={n_bits} and count={count} are out of range.")
    codes = _field(header, "codes", dict, path)
    for key in ("bytes", "crc32"):
        _field(codes, key, int, path, "codes entry")
    if codes["bytes"] != count * n_bits // 8 or codes.get("file") != CODES_FILE:
        raise _corrupt(path, "the codes entry does not match count and n_bits.")
    ids = _field(header, "ids", dict, path)
    if ids.get("kind") == "array":
        for key in ("bytes", "crc32"):
            _field(ids, key, int, path, "ids entry")
        try:
            dtype = np.dtype(_field(ids, "dtype", str, path, "ids entry"))
        except TypeError:
            raise _corrupt(path, f"unknown id dtype {ids['dtype']!r}.") from None
        if dtype.str not in ("<i8",) and not (dtype.kind == "U" and dtype.str[0] == "<"):
            raise _corrupt(path, f"unsupported id dtype {ids['dtype']!r}.")
        if ids["bytes"] != count * dtype.itemsize or ids.get("file") != IDS_FILE:
            raise _corrupt(path, "the ids entry does not match count and its dtype.")
    elif ids.get("kind") != "range":
        raise _corrupt(path, "field 'ids' has an unknown kind.")
    next_id = header.get("next_id")
    if next_id is not None and (not isinstance(next_id, int) or isinstance(next_id, bool)):
        raise _corrupt(path, "field 'next_id' is of the wrong type.")
    _field(header, "params", dict, path)
    if "approximate" in header:
        approximate = _field(header, "approximate", dict, path)
        for key in ("bytes", "crc32"):
            _field(approximate, key, int, path, "approximate entry")
        _field(approximate, "backend", str, path, "approximate entry")
        _field(approximate, "params", dict, path, "approximate entry")
        if approximate.get("file") != APPROXIMATE_FILE:
            raise _corrupt(path, "the approximate entry names another file.")
    return header


def _read_array(path, name, entry, dtype, shape, mmap, verify):
    file = path / name
    if not file.is_file():
        raise _corrupt(path, f"{name} is missing.")
    size = file.stat().st_size
    if size != entry["bytes"]:
        state = "truncated" if size < entry["bytes"] else "longer than its header says"
        raise _corrupt(path, f"{name} is {state}: {size} bytes, the header says {entry['bytes']}.")
    if not entry["bytes"]:
        array = np.empty(shape, dtype=dtype)
    elif mmap:
        # copy-on-write: writeable arrays (the kernels' usual signature), the file never written
        array = np.memmap(file, dtype=dtype, mode="c", shape=shape)
    else:
        array = np.fromfile(file, dtype=dtype).reshape(shape)
    if verify and _crc32(array) != entry["crc32"]:
        raise _corrupt(path, f"{name} does not match its checksum (the file is corrupt).")
    return array


def read_store(path, mmap=True, verify=False):
    """(store, params, saved search structure or None) of the index folder ``path``."""
    path = Path(path)
    header = read_header(path)
    count, n_bytes = header["count"], header["n_bits"] // 8
    codes = _read_array(path, CODES_FILE, header["codes"], np.uint8, (count, n_bytes), mmap, verify)
    ids = None
    if header["ids"]["kind"] == "array":
        entry = header["ids"]
        ids = _read_array(path, IDS_FILE, entry, np.dtype(entry["dtype"]), (count,), mmap, verify)
    store = CodeStore(codes, ids, next_id=header["next_id"])
    approximate = header.get("approximate")
    if approximate is not None:
        # checked now (size), read at the first query that needs it (checksum then)
        file = path / APPROXIMATE_FILE
        if not file.is_file() or file.stat().st_size != approximate["bytes"]:
            raise _corrupt(path, f"{APPROXIMATE_FILE} is missing or not of the size it had.")
        approximate = {**approximate, "path": str(file)}
    return store, header["params"], approximate


def read_approximate_file(entry):
    """The bytes of a saved search structure, checked against its header entry."""
    data = Path(entry["path"]).read_bytes()
    if len(data) != entry["bytes"] or zlib.crc32(data) != entry["crc32"]:
        raise ValueError(
            f"{entry['path']!r} does not match its size or checksum (the file is corrupt)."
        )
    return np.frombuffer(data, dtype=np.uint8)
