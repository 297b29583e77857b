"""Packed binary codes: packing, unpacking, Hamming distances, n_bits validation.

The Hamming kernel runs on one thread in the property tests (a parallel launch
costs milliseconds on a busy machine); ``test_hamming_parallel`` runs it on all.
"""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from _reference import hamming_exact
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skhash import hamming_distances, pack_codes, unpack_codes
from skhash.codes import BIT_ORDER, check_n_bits, check_packed_codes, n_bits_of

PROPERTY = settings(max_examples=60, deadline=None)


@pytest.fixture(autouse=True, scope="module")
def _serial_kernels():
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(previous)


@st.composite
def bit_matrices(draw, max_rows=12, max_bytes=10):
    """Boolean matrices with a multiple of 8 columns, from 1 row up."""
    n_rows = draw(st.integers(1, max_rows))
    n_bytes = draw(st.integers(1, max_bytes))
    return draw(arrays(np.bool_, (n_rows, 8 * n_bytes)))


# -- packing ---------------------------------------------------------------------


def test_bit_order_by_hand():
    # bit j of a code is bit 7 - j % 8 of byte j // 8 (most significant first):
    # bits 0 and 7 set -> 0b10000001 = 129; bit 14 set -> byte 1 = 0b00000010 = 2.
    codes = -np.ones((1, 16), dtype=int)
    codes[0, [0, 7, 14]] = 1
    np.testing.assert_array_equal(pack_codes(codes), [[129, 2]])
    assert BIT_ORDER == "big"


@PROPERTY
@given(bits=bit_matrices())
def test_pack_all_encodings_equal_packbits(bits):
    expected = np.packbits(bits, axis=1)  # numpy's default bit order
    pm1 = np.where(bits, 1, -1)
    for codes in (
        bits,
        bits.astype(np.uint8),
        bits.astype(np.int64),
        pm1,
        pm1.astype(np.int8),
        pm1.astype(np.float32),
        bits.astype(np.float64),
    ):
        packed = pack_codes(codes)
        assert packed.dtype == np.uint8
        assert packed.shape == (bits.shape[0], bits.shape[1] // 8)
        np.testing.assert_array_equal(packed, expected)


@PROPERTY
@given(bits=bit_matrices())
def test_unpack_pack_round_trip(bits):
    packed = pack_codes(bits)
    pm1 = unpack_codes(packed)
    assert pm1.dtype == np.int8
    np.testing.assert_array_equal(pm1, np.where(bits, 1, -1))
    zero_one = unpack_codes(packed, encoding="01")
    assert zero_one.dtype == np.uint8
    np.testing.assert_array_equal(zero_one, bits.astype(np.uint8))
    boolean = unpack_codes(packed, encoding="bool")
    assert boolean.dtype == np.bool_
    np.testing.assert_array_equal(boolean, bits)
    for codes in (pm1, zero_one, boolean):
        np.testing.assert_array_equal(pack_codes(codes), packed)


@PROPERTY
@given(
    packed=st.integers(1, 12).flatmap(
        lambda n: arrays(np.uint8, (n, 5), elements=st.integers(0, 255))
    )
)
def test_pack_unpack_round_trip_from_bytes(packed):
    for encoding in ("pm1", "01", "bool"):
        np.testing.assert_array_equal(pack_codes(unpack_codes(packed, encoding)), packed)


def test_constant_codes_pack():
    # Codes holding a single value are unambiguous: +1 and 1 and True are bit 1, -1, 0, False bit 0.
    np.testing.assert_array_equal(pack_codes(np.ones((2, 8))), [[255], [255]])
    np.testing.assert_array_equal(pack_codes(-np.ones((2, 8))), [[0], [0]])
    np.testing.assert_array_equal(pack_codes(np.zeros((2, 8), dtype=int)), [[0], [0]])
    np.testing.assert_array_equal(pack_codes([[True] * 8]), [[255]])


def test_little_bit_order_by_hand():
    # bitorder="little": bit j of a code is bit j % 8 of byte j // 8 (least significant
    # first): bits 0 and 1 set -> 0b00000011 = 3; bit 14 set -> byte 1 = 0b01000000 = 64.
    codes = -np.ones((1, 16), dtype=int)
    codes[0, [0, 1, 14]] = 1
    packed = pack_codes(codes, bitorder="little")
    np.testing.assert_array_equal(packed, [[3, 64]])
    np.testing.assert_array_equal(unpack_codes(packed, bitorder="little"), codes)
    # Read in the other order, the bits of each byte come out reversed.
    np.testing.assert_array_equal(
        unpack_codes(packed, encoding="01")[0], [0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    )


@PROPERTY
@given(bits=bit_matrices())
def test_both_bit_orders_round_trip_and_keep_distances(bits):
    big, little = pack_codes(bits), pack_codes(bits, bitorder="little")
    np.testing.assert_array_equal(little, np.packbits(bits, axis=1, bitorder="little"))
    for encoding in ("pm1", "01", "bool"):
        codes = unpack_codes(little, encoding, bitorder="little")
        np.testing.assert_array_equal(pack_codes(codes), big)
    np.testing.assert_array_equal(hamming_distances(little), hamming_distances(big))


@pytest.mark.parametrize("bitorder", ["BIG", "lsb", None, 0])
def test_bitorder_is_validated(bitorder):
    with pytest.raises(ValueError, match="bitorder"):
        pack_codes(np.ones((1, 8)), bitorder=bitorder)
    with pytest.raises(ValueError, match="bitorder"):
        unpack_codes(np.zeros((1, 1), dtype=np.uint8), bitorder=bitorder)


def test_codes_made_by_faiss_binary_encoders():
    faiss = pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 32)).astype(np.float32)
    x[0, :5] = 0.0  # faiss and skhash both give bit 1 to a zero
    faiss_codes = np.empty((40, 4), dtype=np.uint8)
    faiss.fvecs2bitvecs(faiss.swig_ptr(x), faiss.swig_ptr(faiss_codes), 32, 40)
    bits = x >= 0
    # faiss packs the least significant bit first: skhash reads it with bitorder="little".
    np.testing.assert_array_equal(unpack_codes(faiss_codes, "bool", bitorder="little"), bits)
    np.testing.assert_array_equal(pack_codes(bits, bitorder="little"), faiss_codes)
    skhash_codes = pack_codes(bits)
    assert not np.array_equal(skhash_codes, faiss_codes)  # same bits, other bytes
    np.testing.assert_array_equal(
        pack_codes(unpack_codes(faiss_codes, bitorder="little")), skhash_codes
    )
    # Distances agree across layouts: faiss's IndexBinaryFromFloat (binary codes decoded
    # to +-1 floats in its own order, searched by L2) against skhash's codes.
    index = faiss.IndexBinaryFromFloat(faiss.IndexFlatL2(32))
    index.add(faiss_codes)
    distances, neighbours = index.search(faiss_codes, 40)
    expected = hamming_distances(skhash_codes)
    np.testing.assert_array_equal(distances, np.take_along_axis(expected, neighbours, axis=1))
    np.testing.assert_array_equal(np.sort(distances, axis=1), np.sort(expected, axis=1))


def test_pack_accepts_lists_and_non_contiguous():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(16, 8))
    np.testing.assert_array_equal(pack_codes(bits.tolist()), np.packbits(bits, axis=1))
    wide = rng.integers(0, 2, size=(5, 32))
    view = wide[::2, 8:24]
    np.testing.assert_array_equal(pack_codes(view), np.packbits(view, axis=1))
    np.testing.assert_array_equal(pack_codes(np.asfortranarray(wide)), np.packbits(wide, axis=1))


# -- Hamming distances -----------------------------------------------------------


def _naive_hamming(a, b):
    """Differing bits of every pair, from np.unpackbits (no popcount, no words)."""
    bits_a, bits_b = np.unpackbits(a, axis=1), np.unpackbits(b, axis=1)
    return (bits_a[:, None, :] != bits_b[None, :, :]).sum(axis=2)


@st.composite
def code_pairs(draw):
    # widths around the 64-bit word size: 8, 24, 64, 72, 136 bits and others
    n_bytes = draw(st.one_of(st.sampled_from([1, 3, 7, 8, 9, 15, 16, 17]), st.integers(1, 40)))
    n_a, n_b = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    elements = st.integers(0, 255)
    a = draw(arrays(np.uint8, (n_a, n_bytes), elements=elements))
    b = draw(arrays(np.uint8, (n_b, n_bytes), elements=elements))
    return a, b


@PROPERTY
@given(pair=code_pairs())
def test_hamming_matches_naive(pair):
    a, b = pair
    d = hamming_distances(a, b)
    assert d.dtype == np.uint16
    assert d.shape == (a.shape[0], b.shape[0])
    np.testing.assert_array_equal(d, _naive_hamming(a, b))
    self_d = hamming_distances(a)
    np.testing.assert_array_equal(self_d, _naive_hamming(a, a))
    np.testing.assert_array_equal(np.diag(self_d), 0)


@pytest.mark.parametrize("n_bits", [8, 24, 64, 72, 136, 1024])
def test_hamming_widths_against_loop_reference(n_bits):
    rng = np.random.default_rng(n_bits)
    a = rng.integers(0, 256, size=(6, n_bits // 8), dtype=np.uint8)
    b = rng.integers(0, 256, size=(5, n_bits // 8), dtype=np.uint8)
    # include the extreme pairs: equal codes (0) and complementary codes (n_bits)
    b[0], b[1] = a[0], ~a[1]
    d = hamming_distances(a, b)
    np.testing.assert_array_equal(d, hamming_exact(a, b))
    assert d[0, 0] == 0 and d[1, 1] == n_bits


def test_hamming_parallel():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, size=(300, 9), dtype=np.uint8)
    b = rng.integers(0, 256, size=(200, 9), dtype=np.uint8)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    try:
        d = hamming_distances(a, b)
    finally:
        numba.set_num_threads(1)
    np.testing.assert_array_equal(d, _naive_hamming(a, b))


def test_hamming_by_hand():
    # 0b11110000 vs 0b00001111 differ in all 8 bits; vs 0b11111111 in 4; a 9-byte code (72 bits)
    # crosses a 64-bit word: only the 9th byte differs, by 0b00000011 -> 2 bits.
    a = np.array([[0b11110000]], dtype=np.uint8)
    b = np.array([[0b00001111], [0b11111111]], dtype=np.uint8)
    np.testing.assert_array_equal(hamming_distances(a, b), [[8, 4]])
    c = np.zeros((1, 9), dtype=np.uint8)
    e = c.copy()
    e[0, 8] = 0b00000011
    np.testing.assert_array_equal(hamming_distances(c, e), [[2]])


def test_hamming_non_contiguous_inputs():
    rng = np.random.default_rng(1)
    big = rng.integers(0, 256, size=(10, 12), dtype=np.uint8)
    a, b = big[::2, 1:10], np.asfortranarray(big[1::3, 2:11])
    np.testing.assert_array_equal(
        hamming_distances(a, b), _naive_hamming(np.ascontiguousarray(a), np.ascontiguousarray(b))
    )


# -- n_bits and validation -------------------------------------------------------


@pytest.mark.parametrize("n_bits", [8, 16, 72, np.int64(64), np.uint8(32)])
def test_check_n_bits_valid(n_bits):
    out = check_n_bits(n_bits)
    assert out == int(n_bits) and type(out) is int


@pytest.mark.parametrize("n_bits", [0, 12, -8, 7, 4, 65])
def test_check_n_bits_invalid_value(n_bits):
    with pytest.raises(ValueError, match="n_bits"):
        check_n_bits(n_bits)


@pytest.mark.parametrize("n_bits", [8.0, True, False, "8", None, np.float64(16)])
def test_check_n_bits_invalid_type(n_bits):
    with pytest.raises(TypeError, match="n_bits"):
        check_n_bits(n_bits)


def test_check_n_bits_names_the_argument():
    with pytest.raises(ValueError, match="width"):
        check_n_bits(12, name="width")


def test_n_bits_of():
    assert n_bits_of(np.zeros((2, 9), dtype=np.uint8)) == 72


@pytest.mark.parametrize(
    "codes, error, match",
    [
        (np.ones(8), ValueError, "codes"),  # 1-D
        (np.ones((2, 2, 8)), ValueError, "codes"),  # 3-D
        (np.ones((2, 12)), ValueError, "number of bits"),  # width not a multiple of 8
        (np.ones((2, 0)), ValueError, "number of bits"),  # no bits
        (np.full((2, 8), 2), ValueError, "codes"),  # values outside the encodings
        (np.array([[-1, 0, 1, 1, 1, 1, 1, 1]]), ValueError, "codes"),  # mixed encodings
        (np.array([[np.nan] + [1.0] * 7]), ValueError, "codes"),
        (np.array([[np.inf] + [1.0] * 7]), ValueError, "codes"),
        (np.array([["a"] * 8]), TypeError, "codes"),
    ],
    ids=["1d", "3d", "width12", "width0", "value2", "mixed", "nan", "inf", "strings"],
)
def test_pack_codes_rejects(codes, error, match):
    with pytest.raises(error, match=match):
        pack_codes(codes)


@pytest.mark.parametrize(
    "packed, error, match",
    [
        (np.zeros((2, 2), dtype=np.int64), TypeError, "packed"),
        (np.zeros((2, 2)), TypeError, "packed"),
        (np.zeros(4, dtype=np.uint8), ValueError, "packed"),
        (np.zeros((0, 2), dtype=np.uint8), ValueError, "packed"),
        (np.zeros((2, 0), dtype=np.uint8), ValueError, "packed"),
        (sp.csr_matrix(np.ones((2, 2), dtype=np.uint8)), TypeError, "packed"),
    ],
    ids=["int64", "float", "1d", "no-rows", "no-bytes", "sparse"],
)
def test_unpack_codes_rejects(packed, error, match):
    with pytest.raises(error, match=match):
        unpack_codes(packed)


def test_unpack_codes_rejects_encoding():
    with pytest.raises(ValueError, match="encoding"):
        unpack_codes(np.zeros((1, 1), dtype=np.uint8), encoding="+-1")


@pytest.mark.parametrize(
    "a, b, error, match",
    [
        (
            np.zeros((2, 2), dtype=np.uint8),
            np.zeros((2, 3), dtype=np.uint8),
            ValueError,
            "same number of bits",
        ),
        (np.zeros((2, 2), dtype=np.uint8), np.zeros((2, 2), dtype=np.int32), TypeError, "codes_b"),
        (np.zeros((2, 2), dtype=bool), None, TypeError, "codes_a"),
        (np.zeros(2, dtype=np.uint8), None, ValueError, "codes_a"),
        (np.zeros((2, 2), dtype=np.uint8), np.zeros((0, 2), dtype=np.uint8), ValueError, "codes_b"),
        (np.zeros((0, 2), dtype=np.uint8), np.zeros((1, 2), dtype=np.uint8), ValueError, "codes_a"),
    ],
    ids=["widths", "dtype-b", "dtype-a", "1d", "empty-b", "empty-a"],
)
def test_hamming_distances_rejects(a, b, error, match):
    with pytest.raises(error, match=match):
        hamming_distances(a, b)


def test_check_packed_codes_width():
    with pytest.raises(ValueError, match="database_codes"):
        check_packed_codes(np.zeros((1, 2), dtype=np.uint8), name="database_codes", n_bits=24)
    out = check_packed_codes(np.zeros((3, 2), dtype=np.uint8)[:, ::-1], n_bits=16)
    assert out.flags.c_contiguous
