"""Binary codes: packing, unpacking and Hamming distances.

This module is the one place where skhash handles bits. A code of ``n_bits``
bits is stored *packed*: a row of ``n_bits // 8`` ``uint8`` values, bits in the
order :func:`numpy.packbits` uses (``bitorder="big"``): bit ``j`` of a code is
bit ``7 - j % 8`` (most significant first) of byte ``j // 8``. A bit is 1 where
the unpacked code is positive (``+1`` in a {-1,+1} code, ``1`` in a {0,1} code,
``True`` in a boolean code). ``n_bits`` must be a positive multiple of 8, as in
faiss's binary indexes, so that packed rows never carry padding bits.

Hamming distances are computed on 64-bit words with a hardware popcount in a
compiled kernel parallel over the rows of the first argument; the memory used
beyond the output is independent of the number of codes.
"""

import contextlib
import numbers
import threading
from typing import Literal

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from ._typing import ArrayLike, PackedCodes, UInt8Array

__all__ = [
    "BIT_ORDER",
    "check_n_bits",
    "check_packed_codes",
    "hamming_distances",
    "n_bits_of",
    "pack_codes",
    "unpack_codes",
]

BIT_ORDER = "big"
"""Bit order of packed codes: a code's first bit is the most significant bit of its first byte."""

_ENCODINGS = ("pm1", "01", "bool")
_BIT_ORDERS = ("big", "little")


def _check_bitorder(bitorder):
    if bitorder not in _BIT_ORDERS:
        raise ValueError(f"bitorder must be 'big' or 'little', got {bitorder!r}.")
    return bitorder


def check_n_bits(n_bits: int, name: str = "n_bits") -> int:
    """Check that ``n_bits`` is a positive multiple of 8 and return it as an int.

    Parameters
    ----------
    n_bits : int
        Number of bits of a code.
    name : str, default="n_bits"
        Name of the argument, used in error messages.

    Returns
    -------
    n_bits : int

    Examples
    --------
    >>> from skhash.codes import check_n_bits
    >>> check_n_bits(32)
    32
    >>> check_n_bits(12)
    Traceback (most recent call last):
        ...
    ValueError: n_bits must be a positive multiple of 8, got 12.
    """
    if isinstance(n_bits, bool) or not isinstance(n_bits, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(n_bits).__name__}.")
    if n_bits < 8 or n_bits % 8:
        raise ValueError(f"{name} must be a positive multiple of 8, got {n_bits}.")
    return int(n_bits)


def pack_codes(codes: ArrayLike, bitorder: Literal["big", "little"] = "big") -> UInt8Array:
    """Pack a binary code matrix into ``uint8`` rows, 8 bits a byte.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_bits)
        Binary codes as {-1, +1} values, {0, 1} values or booleans. ``n_bits``
        must be a positive multiple of 8.
    bitorder : {"big", "little"}, default="big"
        Order of the bits in a byte, with :func:`numpy.packbits`'s names.
        ``"big"``, skhash's layout (:data:`skhash.codes.BIT_ORDER`), puts bit ``j`` of a
        code in the most significant place first: bit ``7 - j % 8`` of byte
        ``j // 8``. ``"little"`` puts it in bit ``j % 8``, the layout of
        faiss's binary encoders (``fvecs2bitvecs``,
        ``IndexBinaryFromFloat``) and of MATLAB's ``compactbit``. Hamming
        distances are the same in both layouts; the bytes are not. Everything
        else in skhash (hashers, metrics, index) takes ``"big"`` codes.

    Returns
    -------
    packed : ndarray of shape (n_samples, n_bits // 8), dtype uint8
        Packed codes in the ``bitorder`` layout.

    See Also
    --------
    unpack_codes : The inverse, with the same ``bitorder``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> pack_codes([[1, -1, -1, -1, -1, -1, -1, 1]])
    array([[129]], dtype=uint8)
    >>> pack_codes(np.array([[0, 0, 0, 0, 0, 0, 1, 0]]))
    array([[2]], dtype=uint8)
    >>> pack_codes(np.array([[0, 0, 0, 0, 0, 0, 1, 0]]), bitorder="little")
    array([[64]], dtype=uint8)
    """
    _check_bitorder(bitorder)
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(
            "codes must be a 2-D array of shape (n_samples, n_bits), "
            f"got {codes.ndim} dimension(s)."
        )
    check_n_bits(codes.shape[1], name="codes.shape[1] (the number of bits)")
    if codes.dtype == bool:
        bits = codes
    else:
        if not (np.issubdtype(codes.dtype, np.number)):
            raise TypeError(f"codes must be numeric or boolean, got dtype {codes.dtype}.")
        values = np.unique(codes)
        if np.isin(values, (-1, 1)).all():
            bits = codes > 0
        elif np.isin(values, (0, 1)).all():
            bits = codes > 0
        else:
            shown = ", ".join(str(v) for v in values[:5])
            raise ValueError(
                "codes must hold {-1, +1}, {0, 1} or boolean values; "
                f"found values {shown}{', ...' if values.size > 5 else ''}."
            )
    return np.packbits(bits, axis=1, bitorder=bitorder)


def check_packed_codes(
    packed: PackedCodes, name: str = "codes", n_bits: int | None = None
) -> UInt8Array:
    """Validate packed codes and return them as a C-contiguous ``uint8`` array.

    Parameters
    ----------
    packed : array-like of shape (n_samples, n_bytes)
        Packed codes as returned by :func:`pack_codes` or a hasher's ``transform``.
    name : str, default="codes"
        Name of the argument, used in error messages.
    n_bits : int, default=None
        If given, the number of bits the codes must have.

    Returns
    -------
    packed : ndarray of shape (n_samples, n_bytes), dtype uint8
    """
    if hasattr(packed, "toarray"):
        raise TypeError(f"{name} must be a dense array of packed codes, got a sparse matrix.")
    packed = np.asarray(packed)
    if packed.dtype != np.uint8:
        raise TypeError(
            f"{name} must be packed binary codes of dtype uint8 (see skhash.pack_codes), "
            f"got dtype {packed.dtype}."
        )
    if packed.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_bits // 8), "
            f"got {packed.ndim} dimension(s)."
        )
    if packed.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has 0 rows.")
    if packed.shape[1] == 0:
        raise ValueError(f"{name} has 0 bytes per code.")
    if n_bits is not None and packed.shape[1] * 8 != n_bits:
        raise ValueError(f"{name} has {packed.shape[1] * 8} bits per code, expected {n_bits}.")
    return np.ascontiguousarray(packed)


def n_bits_of(packed: PackedCodes) -> int:
    """Number of bits of packed codes.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.codes import n_bits_of
    >>> n_bits_of(np.zeros((3, 4), dtype=np.uint8))
    32
    """
    return int(np.shape(packed)[1]) * 8


def unpack_codes(
    packed: PackedCodes,
    encoding: Literal["pm1", "01", "bool"] = "pm1",
    bitorder: Literal["big", "little"] = "big",
) -> np.ndarray:
    """Unpack ``uint8`` rows into a binary code matrix.

    Parameters
    ----------
    packed : array-like of shape (n_samples, n_bytes), dtype uint8
        Packed codes.
    encoding : {"pm1", "01", "bool"}, default="pm1"
        Encoding of the result: {-1, +1} as ``int8``, {0, 1} as ``uint8`` or booleans.
    bitorder : {"big", "little"}, default="big"
        Layout of ``packed``: ``"big"`` for skhash's codes, ``"little"`` for
        codes made by faiss's binary encoders (``fvecs2bitvecs``,
        ``IndexBinaryFromFloat``) or MATLAB's ``compactbit``; see
        :func:`pack_codes`.

    Returns
    -------
    codes : ndarray of shape (n_samples, 8 * n_bytes)

    See Also
    --------
    pack_codes : The inverse, with the same ``bitorder``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import unpack_codes
    >>> unpack_codes(np.array([[129]], dtype=np.uint8))
    array([[ 1, -1, -1, -1, -1, -1, -1,  1]], dtype=int8)
    >>> unpack_codes(np.array([[2]], dtype=np.uint8), encoding="01")
    array([[0, 0, 0, 0, 0, 0, 1, 0]], dtype=uint8)

    Codes from faiss's binary encoders to skhash's layout:

    >>> faiss_codes = np.array([[1, 3]], dtype=np.uint8)
    >>> pack_codes(unpack_codes(faiss_codes, bitorder="little"))
    array([[128, 192]], dtype=uint8)
    """
    _check_bitorder(bitorder)
    if encoding not in _ENCODINGS:
        raise ValueError(f"encoding must be one of {_ENCODINGS}, got {encoding!r}.")
    packed = check_packed_codes(packed, name="packed")
    bits = np.unpackbits(packed, axis=1, bitorder=bitorder)
    if encoding == "01":
        return bits
    if encoding == "bool":
        return bits.astype(bool)
    return (bits.astype(np.int8) << 1) - 1


def as_words(packed):
    """View packed codes as 64-bit words, padding each row with zero bytes.

    Padding bytes are zero in every code, so they never contribute to a
    Hamming distance.
    """
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    n, n_bytes = packed.shape
    n_words = -(-n_bytes // 8)
    if n_bytes != 8 * n_words:
        padded = np.zeros((n, 8 * n_words), dtype=np.uint8)
        padded[:, :n_bytes] = packed
        packed = padded
    return packed.view(np.uint64)


_LAUNCH_LOCK = threading.RLock()
_INIT_LOCK = threading.Lock()
_THREADING_LAYER: list[str] = []  # numba's threading layer, once started


def _start_threading_layer():
    """Start numba's threading layer on a helper thread and return its name.

    Starting it calls ``omp_set_num_threads(NUMBA_NUM_THREADS)`` (and
    ``omp_set_nested``) on the calling thread under numba's ``omp`` layer.
    When torch is loaded, its GNU OpenMP runtime is the one those calls
    reach, so starting the layer on the user's thread would change what
    ``torch.get_num_threads()`` returns there (after
    ``torch.set_num_threads(1)`` it read 2). OpenMP settings belong to the
    thread that sets them: on a short-lived helper thread they change nothing
    the user sees.
    """
    with contextlib.suppress(ValueError):  # raised while no layer is started
        return numba.threading_layer()
    failure = []

    def start():
        try:
            numba.get_num_threads()  # starts the layer
        except BaseException as exc:  # re-raised on the calling thread
            failure.append(exc)

    helper = threading.Thread(target=start, name="skhash-numba-threading-layer")
    helper.start()
    helper.join()
    if failure:
        raise failure[0]
    return numba.threading_layer()


def threading_layer():
    """numba's threading layer, started without changing the caller's thread settings.

    Call this (or enter :func:`kernel_launch`) before any other numba threading
    call such as :func:`numba.get_num_threads`, which would start the layer on
    the calling thread (see :func:`_start_threading_layer`).

    Returns
    -------
    name : str
        ``"omp"``, ``"tbb"`` or ``"workqueue"``.
    """
    if not _THREADING_LAYER:
        with _INIT_LOCK:
            if not _THREADING_LAYER:
                _THREADING_LAYER.append(_start_threading_layer())
    return _THREADING_LAYER[0]


def numba_num_threads():
    """``numba.get_num_threads()`` of the calling thread, the threading layer started safely."""
    threading_layer()
    return numba.get_num_threads()


@contextlib.contextmanager
def kernel_launch():
    """Launch parallel kernels safely from any thread, any number of times nested.

    numba's threading layer is started first on a helper thread
    (:func:`threading_layer`), so that no launch changes the OpenMP settings
    of the user's thread. numba's ``workqueue`` layer (used when neither TBB
    nor OpenMP is available) aborts the process when parallel kernels are
    launched from several Python threads at once, as dask's threaded
    scheduler or joblib's threading backend do: under it launches are
    serialised by a re-entrant lock, so that code holding it may call
    functions that take it again. The ``omp`` and ``tbb`` layers are
    thread-safe and run unlocked. Every parallel kernel of skhash is launched
    inside this.
    """
    if threading_layer() != "workqueue":
        yield
        return
    with _LAUNCH_LOCK:
        yield


@intrinsic
def popcount64(typingctx, x):
    """Hardware population count of a uint64 (LLVM ``ctpop``), for numba kernels."""
    if not isinstance(x, types.Integer):
        return None
    sig = types.int64(types.uint64)

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.uint64)
        return builder.zext(builder.ctpop(value), context.get_value_type(types.int64))

    return sig, codegen


@numba.njit(parallel=True, cache=True, nogil=True)
def _hamming_kernel(a, b, out):
    n_words = a.shape[1]
    for i in numba.prange(a.shape[0]):
        for j in range(b.shape[0]):
            d = 0
            for w in range(n_words):
                d += popcount64(a[i, w] ^ b[j, w])
            out[i, j] = d


def hamming_distances(codes_a: PackedCodes, codes_b: PackedCodes | None = None) -> np.ndarray:
    """Hamming distances between two sets of packed codes.

    Parameters
    ----------
    codes_a : array-like of shape (n_a, n_bytes), dtype uint8
        Packed codes.
    codes_b : array-like of shape (n_b, n_bytes), dtype uint8, default=None
        Packed codes of the same width. ``None`` means ``codes_a``.

    Returns
    -------
    distances : ndarray of shape (n_a, n_b), dtype uint16
        ``distances[i, j]`` is the number of bits in which code ``i`` of
        ``codes_a`` and code ``j`` of ``codes_b`` differ.

    Notes
    -----
    The result is the only array whose size grows with ``n_a * n_b``: the
    kernel works on 64-bit words in place. For rankings and retrieval metrics
    over large sets use :mod:`skhash.metrics`, which never materialises it.

    Examples
    --------
    >>> from skhash import pack_codes, hamming_distances
    >>> a = pack_codes([[1, 1, 1, 1, 1, 1, 1, 1], [-1, -1, -1, -1, 1, 1, 1, 1]])
    >>> hamming_distances(a)
    array([[0, 4],
           [4, 0]], dtype=uint16)
    """
    codes_a = check_packed_codes(codes_a, name="codes_a")
    codes_b = codes_a if codes_b is None else check_packed_codes(codes_b, name="codes_b")
    if codes_a.shape[1] != codes_b.shape[1]:
        raise ValueError(
            f"codes_a and codes_b must have the same number of bits, got "
            f"{n_bits_of(codes_a)} and {n_bits_of(codes_b)}."
        )
    out = np.empty((codes_a.shape[0], codes_b.shape[0]), dtype=np.uint16)
    with kernel_launch():
        _hamming_kernel(as_words(codes_a), as_words(codes_b), out)
    return out
