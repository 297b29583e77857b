"""The Hamming index: codes with ids, updates, files, and the search of each backend.

The search itself lives in the backends' modules: ``_exact`` (the numpy
kernels), ``_faiss`` (the exact faiss scan and multi-index hashing) and
``_approximate`` (IVF and HNSW); the storage in ``_store``.
"""

import os
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._typing import ArrayLike, PackedCodes, PathLikeStr
from ..codes import check_packed_codes, n_bits_of
from ._approximate import kneighbors_approximate
from ._common import check_int, check_radius, chunk_rows, object_rows
from ._exact import RADIUS_BUFFER, kneighbors_numpy, radius_numpy_chunk
from ._faiss import (
    import_faiss,
    kneighbors_faiss,
    multi_hash_pays_off,
    radius_faiss_chunk,
)
from ._store import CodeStore, check_ids, read_store, write_store

_NO_SELF = -1


class HammingIndex(BaseEstimator):
    """Hamming-distance search over packed binary codes, with ids, updates and files.

    Fit it on the database codes, then ask for the ``k`` nearest codes of
    queries (:meth:`kneighbors`) or for all codes within a Hamming radius
    (:meth:`radius_neighbors`), as with
    :class:`~sklearn.neighbors.NearestNeighbors`. Codes carry ids (yours, or
    ``0, 1, ...`` by default) and results are ids. Codes can be added
    (:meth:`add`) and removed (:meth:`remove`) without refitting, the index
    saved to a folder (:meth:`save`) and opened memory-mapped
    (:meth:`load`), or exchanged with faiss (:meth:`to_faiss`,
    :meth:`from_faiss`).

    Exact backends order results by Hamming distance, then by insertion order
    (the order of the fitted codes, followed by the added ones); the
    approximate backends return true distances in the same order, but may miss
    some of the nearest codes.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours returned by :meth:`kneighbors` by default.
    radius : float, default=2
        Hamming radius of :meth:`radius_neighbors` by default; codes at
        distance ``<= radius`` are returned.
    backend : {"auto", "numpy", "faiss", "ivf", "hnsw"}, default="auto"
        Search of :meth:`kneighbors`. Exact: ``"numpy"``, the compiled
        kernels of skhash (no sort and no heap: a counting selection per
        query); ``"faiss"``, :class:`faiss.IndexBinaryFlat` (``pip install
        "scikit-hashing[search]"``), with the same results. Approximate, on faiss:
        ``"ivf"``, :class:`faiss.IndexBinaryIVF` (``nlist``, ``nprobe``);
        ``"hnsw"``, :class:`faiss.IndexBinaryHNSW` (``hnsw_m``,
        ``ef_search``); both are built at the first query. ``"auto"`` uses
        ``"numpy"``: see Notes for the measurements behind it.
        :meth:`radius_neighbors` is always exact (``"faiss"`` scans with
        faiss, the others with the numpy kernels or multi-index hashing).
    multi_hash_tables : int, default=None
        Radius queries only, with faiss (any ``backend`` but ``"numpy"``):
        search a :class:`faiss.IndexBinaryMultiHash` with this many hash
        tables of ``n_bits // multi_hash_tables`` bits each (built at its
        first use, then kept; a few seconds a million codes), exact for any
        radius (each table is probed with ``radius // multi_hash_tables`` bit
        flips), where its estimated cost is below a scan's: in practice for
        radii smaller than ``multi_hash_tables`` on databases of hundreds of
        thousands of codes or more, e.g. 4 tables of 16 bits for 64-bit codes.
        ``n_bits`` must be a multiple of ``8 * multi_hash_tables``. ``None``
        always scans.
    nlist : int, default=None
        ``backend="ivf"``: number of inverted lists (k-means centroids, trained
        on up to ``64 * nlist`` codes spread evenly over the database).
        ``None``: ``round(sqrt(n))`` for ``n`` codes at the build.
    nprobe : int, default=16
        ``backend="ivf"``: number of lists visited by a query.
    hnsw_m : int, default=32
        ``backend="hnsw"``: neighbours of a node in the graph (faiss's ``M``).
    ef_search : int, default=128
        ``backend="hnsw"``: size of the candidate list of a query (faiss's
        ``efSearch``), raised to the number of neighbours asked for.
    working_memory : float, default=None
        Bound in MiB on the temporary data of a chunk of queries (queries are
        processed in chunks); ``None`` uses scikit-learn's
        ``working_memory`` setting (:func:`sklearn.get_config`). The results
        themselves are not counted.

    Attributes
    ----------
    codes_ : ndarray of shape (n_samples_fit_, n_bits_ // 8), dtype uint8
        The live database codes in insertion order (the fitted codes
        themselves, not copied when C-contiguous, until codes are added or
        removed; after :meth:`load`, a copy-on-write memory map: the file is
        never written).
    ids_ : ndarray of shape (n_samples_fit_,), dtype int64 or str
        Their ids.
    n_bits_ : int
        Number of bits of a code.
    n_samples_fit_ : int
        Number of database codes.
    n_features_in_ : int
        Number of bytes of a packed code.
    backend_ : str
        The backend used for k-NN queries: ``"numpy"``, ``"faiss"``,
        ``"ivf"`` or ``"hnsw"``.

    See Also
    --------
    HashingSearcher : Search with raw features through a hasher.
    sklearn.neighbors.NearestNeighbors : The same interface on real vectors.

    Notes
    -----
    **Ids and order.** ``fit(codes, ids=ids)`` gives each code an id:
    distinct ``int64`` values or strings. Without ids the codes get ``0, 1,
    ...`` (their positions) and :meth:`add` continues after the largest id
    held. Results are ids (``int64``, or strings of the ids' dtype), ordered by
    (distance, insertion order); after any sequence of :meth:`add` and
    :meth:`remove` they are identical to those of an index fitted on the
    surviving codes, in insertion order, with their ids. Distances are exact
    integer Hamming distances (``int32``) with every backend. Ties are broken
    the same way on both exact backends: for faiss, whose tie order is
    unspecified, the results are re-sorted and the selection at the boundary
    distance relies on ``IndexBinaryFlat`` scanning the database in order
    (true of faiss's heap and counting selections); the test suite checks that
    both backends return identical arrays on heavily tied data.

    **Updates.** Codes live in *slots*, in insertion order, in buffers whose
    capacity doubles, so :meth:`add` costs O(added) amortised (the search
    layouts are extended at the next query). :meth:`remove` marks slots dead
    in a bit mask that every search skips (one AND a group of 64 codes) and
    compacts the buffers, in order, when dead slots outnumber live ones, so a
    removal costs O(1) amortised plus the id look-up (sorted runs of ids,
    merged like a binary counter: O(log^2 n) a look-up, no dictionary). An
    index opened with :meth:`load` is copied to memory at its first
    :meth:`add`; removals only touch the mask.

    **Approximate search** pays off where an exact scan is too slow for the
    query rate and a recall below 1 is acceptable: ``benchmarks/bench_index.py``
    measures, side by side with faiss's own indexes, build time, queries/s and
    recall@100 on random and real codes. Their results are the ids and true
    Hamming distances of the codes they find, in (distance, insertion) order;
    where fewer than ``k`` codes are found (IVF lists with few codes), the
    missing columns have distance ``2**31 - 1`` and id ``-1`` (``""`` for
    string ids). Removed codes are skipped by HNSW through a faiss id
    selector and deleted from the IVF lists at the next query; both are
    rebuilt after a compaction. ``"auto"`` is exact at every size, as
    scikit-learn's ``algorithm="auto"`` only chooses among exact searches: the
    exact scan answered a top-100 query over 10 million 64-bit codes in 0.8 ms
    of one core; IVF was 2 to 9 times faster on clustered codes (recall 0.97
    to 1.0) but reached a recall of 0.25 on random codes, and HNSW was slower
    than the scan up to the 1 million codes measured (:ref:`hamming_search`
    gives the figures).

    Asking for more neighbours than the database holds returns the whole
    database, ranked (``min(n_neighbors, n_samples_fit_)`` columns, one less
    when the queries are the fitted codes): the convention of
    :func:`skhash.metrics.mean_average_precision` for a ``k`` beyond the
    database; :class:`~sklearn.neighbors.NearestNeighbors` raises instead.

    The numpy kernels use numba's threads (:func:`numba.set_num_threads`),
    over blocks of queries, and over parts of the database when there are
    fewer query blocks than threads; faiss uses its OpenMP threads. For codes
    wider than 64 bits the numpy backend keeps a second copy of the codes,
    laid out by blocks of 64 codes for vectorised distances; codes whose width
    is not a multiple of 64 bits are copied once, padded to 64-bit words.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> from skhash.index import HammingIndex
    >>> database = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8, [1] * 7 + [-1]])
    >>> index = HammingIndex(n_neighbors=3).fit(database)
    >>> distances, ids = index.kneighbors(pack_codes([[1] * 6 + [-1, -1]]))
    >>> distances
    array([[1, 1, 2]], dtype=int32)
    >>> ids
    array([[1, 3, 0]])
    >>> distances, ids = index.radius_neighbors(pack_codes([[1] * 8]), radius=1)
    >>> ids[0]
    array([0, 1, 3])

    With ids, updates and a file:

    >>> index = HammingIndex(n_neighbors=2).fit(database, ids=["a", "b", "c", "d"])
    >>> index.remove(["b"]).add(pack_codes([[1] * 8]), ids=["e"]).kneighbors(database[:1])
    (array([[0, 0]], dtype=int32), array([['a', 'e']], dtype='<U1'))
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     index.save(folder + "/photos")
    ...     HammingIndex.load(folder + "/photos", mmap=False).ids_
    array(['a', 'c', 'd', 'e'], dtype='<U1')
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "radius": [Interval(Real, 0, None, closed="left")],
        "backend": [StrOptions({"auto", "numpy", "faiss", "ivf", "hnsw"})],
        "multi_hash_tables": [Interval(Integral, 1, None, closed="left"), None],
        "nlist": [Interval(Integral, 1, None, closed="left"), None],
        "nprobe": [Interval(Integral, 1, None, closed="left")],
        "hnsw_m": [Interval(Integral, 2, None, closed="left")],
        "ef_search": [Interval(Integral, 1, None, closed="left")],
        "working_memory": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        radius: float = 2,
        backend: str = "auto",
        multi_hash_tables: int | None = None,
        nlist: int | None = None,
        nprobe: int = 16,
        hnsw_m: int = 32,
        ef_search: int = 128,
        working_memory: float | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.backend = backend
        self.multi_hash_tables = multi_hash_tables
        self.nlist = nlist
        self.nprobe = nprobe
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.working_memory = working_memory

    # -- fitting ----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, codes: PackedCodes, y: None = None, *, ids: ArrayLike | None = None
    ) -> "HammingIndex":
        """Store the database codes and their ids.

        Parameters
        ----------
        codes : ndarray of shape (n_samples, n_bits // 8), dtype uint8
            Packed database codes (see :func:`skhash.pack_codes` and a hasher's
            ``transform``).
        y : None
            Ignored; present for API consistency.
        ids : array-like of shape (n_samples,), default=None
            Distinct ids of the codes, integers (stored as ``int64``) or
            strings; results are these ids. ``None``: ``0, 1, ...``.

        Returns
        -------
        self : HammingIndex
            The fitted index.
        """
        packed = check_packed_codes(codes, name="codes")
        checked_ids = None if ids is None else check_ids(ids, packed.shape[0])
        self._check_backend_options(packed.shape[1])
        self._set_store(CodeStore(packed, checked_ids))
        return self

    def _check_backend_options(self, n_bytes):
        if self.multi_hash_tables is not None and self.backend == "numpy":
            raise ValueError(
                "multi_hash_tables needs faiss: set backend='auto' or 'faiss', or "
                "multi_hash_tables=None."
            )
        if self.multi_hash_tables is not None and n_bytes % self.multi_hash_tables:
            raise ValueError(
                f"multi_hash_tables={self.multi_hash_tables} must divide the number of "
                f"bytes of a code ({n_bytes}, i.e. {8 * n_bytes} bits)."
            )
        if self.backend in ("faiss", "ivf", "hnsw"):
            import_faiss()

    def _set_store(self, store, saved_approximate=None):
        self._store = store
        self._reset_caches()
        self._saved_approximate = saved_approximate  # read at the first approximate query
        self.n_bits_ = 8 * store.n_bytes
        self.n_features_in_ = store.n_bytes
        self.backend_ = "numpy" if self.backend == "auto" else self.backend

    @property
    def codes_(self) -> np.ndarray:
        return self._store.live_codes()

    @property
    def ids_(self) -> np.ndarray:
        return self._store.live_ids()

    @property
    def n_samples_fit_(self) -> int:
        return self._store.n_live

    def _reset_caches(self):
        self._faiss_flat = None
        self._faiss_multi_hash = None
        self._approximate = None

    def __getstate__(self):
        # faiss indexes cannot be pickled; they are rebuilt on demand.
        state = super().__getstate__()
        for name in ("_faiss_flat", "_faiss_multi_hash", "_approximate", "_saved_approximate"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._reset_caches()

    # -- updates ----------------------------------------------------------------------
    def add(self, codes: PackedCodes, ids: ArrayLike | None = None) -> "HammingIndex":
        """Add codes after those already indexed, without refitting.

        Parameters
        ----------
        codes : ndarray of shape (n_added, n_bits // 8), dtype uint8
            Packed codes of the width of the index.
        ids : array-like of shape (n_added,), default=None
            Their ids, distinct and not in the index, of the kind (integer or
            string) of the index's ids. ``None`` (integer ids only): the
            integers following the largest id the index has held.

        Returns
        -------
        self : HammingIndex
            The index, with the codes added; searches then equal those of an
            index fitted on all its codes in insertion order.
        """
        check_is_fitted(self)
        packed = check_packed_codes(codes, name="codes", n_bits=self.n_bits_)
        checked_ids = None if ids is None else check_ids(ids, packed.shape[0])
        self._store.add(packed, checked_ids)
        return self

    def remove(self, ids: ArrayLike) -> "HammingIndex":
        """Remove the codes of ``ids``, without refitting.

        Parameters
        ----------
        ids : array-like of shape (n_removed,)
            Distinct ids held by the index. If any is not, ``KeyError`` is
            raised naming them, and nothing is removed.

        Returns
        -------
        self : HammingIndex
            The index without those codes; the others keep their order.
        """
        check_is_fitted(self)
        ids = np.atleast_1d(np.asarray(ids))
        self._store.remove(check_ids(ids, ids.shape[0]))
        return self

    # -- files ---------------------------------------------------------------------------
    def save(self, path: PathLikeStr, *, overwrite: bool = False) -> None:
        """Write the index to a folder that :meth:`load` opens memory-mapped.

        The folder holds, in format version 1:

        - ``codes.bin``: the live codes in insertion order, ``count`` rows of
          ``n_bits / 8`` bytes, raw (the layout of :func:`numpy.packbits` rows
          and of faiss's binary codes);
        - ``ids.bin`` (absent for the default ids ``0 .. count - 1``): the ids,
          raw little-endian ``int64`` or fixed-width UTF-32 strings (numpy's
          ``<U`` dtype), one per code;
        - ``header.json``, written last: ``format`` (``"skhash.HammingIndex"``),
          ``format_version`` (1), ``n_bits``, ``count``, for each file its name,
          size in bytes and CRC-32, the ids' ``kind`` (``"range"`` or
          ``"array"``) and ``dtype``, ``next_id`` (the first default id of
          :meth:`add`) and ``params`` (:meth:`get_params`).

        - ``approximate.faiss`` (``backend`` ``"ivf"`` or ``"hnsw"`` only, once a
          query has built the structure, and while no removed code awaits
          compaction): the faiss index, written by
          :func:`faiss.write_index_binary`, its labels the rows of
          ``codes.bin``; the header's ``approximate`` entry gives its backend,
          the parameters it was built with, its size and CRC-32. It is read
          (and its CRC-32 checked) at the first approximate query after
          :meth:`load`, if the parameters still ask for it; otherwise the
          structure is rebuilt at that query.

        Parameters
        ----------
        path : str or path-like
            A folder, created if needed; it must be empty unless ``overwrite``.
        overwrite : bool, default=False
            Replace the files of an index already in ``path``.
        """
        check_is_fitted(self)
        store, cache = self._store, getattr(self, "_approximate", None)
        approximate = None
        if (
            cache is not None
            and cache.epoch == store.epoch
            and cache.n_added == store.n_slots
            and not store.n_dead  # the file's rows are then the structure's labels
        ):
            faiss = import_faiss()
            entry = {"backend": self.backend_, "params": cache.params}
            approximate = (entry, lambda file: faiss.write_index_binary(cache.index, str(file)))
        write_store(store, path, self.get_params(), overwrite=overwrite, approximate=approximate)

    @classmethod
    def load(
        cls, path: PathLikeStr, *, mmap: bool = True, verify: bool | None = None
    ) -> "HammingIndex":
        """Open an index written by :meth:`save`.

        The header is checked (format name and version, fields, file sizes)
        before anything is read: an index of another format version, a
        truncated or over-long file, a missing file or a corrupt header raise
        ``ValueError`` (``FileNotFoundError`` for a missing folder) naming the
        problem; the data is never read as garbage.

        Parameters
        ----------
        path : str or path-like
            The folder of the index.
        mmap : bool, default=True
            Memory-map the files (copy-on-write: they are never written)
            instead of reading them: opening takes milliseconds whatever the
            size and uses no memory until queries read the codes (then the
            operating system's page cache). The first :meth:`add` copies the
            codes to memory.
        verify : bool, default=None
            Check each file's CRC-32, which reads every byte (about 4 GB/s
            once the file is in the page cache; an 800 MB file of 100 million
            64-bit codes takes a fraction of a second from memory, longer from
            disk) and so defeats the point of ``mmap`` for a quick open.
            ``None``: verify when ``mmap=False`` (the data is read anyway), not
            when memory-mapping; corruption inside a file of the right size is
            then not detected.

        Returns
        -------
        index : HammingIndex
            A fitted index with the saved parameters, codes and ids.
        """
        store, params, approximate = read_store(
            path, mmap=mmap, verify=not mmap if verify is None else verify
        )
        unknown = set(params) - set(cls._get_param_names())
        if unknown:
            raise ValueError(f"{str(path)!r} has unknown parameters {sorted(unknown)}.")
        index = cls(**params)
        index._validate_params()
        index._check_backend_options(store.n_bytes)
        index._set_store(store, approximate)
        return index

    def to_faiss(self, path: PathLikeStr | None = None) -> Any:
        """The live codes as a faiss flat index, written to ``path`` if given.

        Parameters
        ----------
        path : str or path-like, default=None
            If given, the index is written there with
            :func:`faiss.write_index_binary`.

        Returns
        -------
        index : faiss.IndexBinaryFlat or faiss.IndexBinaryIDMap2
            An ``IndexBinaryFlat`` when the ids are the default ``0 .. n - 1``
            (faiss's own labels), else an ``IndexBinaryIDMap2`` of one with
            the ``int64`` ids. String ids have no faiss equivalent.
        """
        check_is_fitted(self)
        faiss = import_faiss()
        store = self._store
        if store.id_dtype.kind == "U":
            raise ValueError("to_faiss needs integer ids: faiss labels are int64.")
        flat = faiss.IndexBinaryFlat(self.n_bits_)
        ids = store.live_ids()
        if np.array_equal(ids, np.arange(ids.size)):
            flat.add(store.live_codes())
            index = flat
        else:
            index = faiss.IndexBinaryIDMap2(flat)
            index.add_with_ids(store.live_codes(), ids)
            index.referenced = flat  # keep the flat index alive
        if path is not None:
            faiss.write_index_binary(index, os.fspath(path))
        return index

    @classmethod
    def from_faiss(cls, index: Any, **params: Any) -> "HammingIndex":
        """An index of the codes of a faiss flat index, or of a file faiss wrote.

        Parameters
        ----------
        index : faiss.IndexBinaryFlat, faiss.IndexBinaryIDMap(2), str or path-like
            A flat binary index, optionally with ids, or the path of one
            written by :func:`faiss.write_index_binary` (or :meth:`to_faiss`).
        **params
            Parameters of the new :class:`HammingIndex`.

        Returns
        -------
        index : HammingIndex
            Fitted on the codes in faiss's order, with faiss's labels as ids.
        """
        faiss = import_faiss()
        if isinstance(index, str | os.PathLike):
            if not os.path.isfile(index):
                raise FileNotFoundError(f"no faiss index file at {os.fspath(index)!r}.")
            index = faiss.read_index_binary(os.fspath(index))
        if not isinstance(index, faiss.IndexBinary):
            raise TypeError(f"index must be a faiss binary index, got {type(index).__name__}.")
        outer = faiss.downcast_IndexBinary(index)  # owns the inner index: keep it referenced
        flat, ids = outer, None
        if isinstance(outer, faiss.IndexBinaryIDMap | faiss.IndexBinaryIDMap2):
            ids = faiss.vector_to_array(outer.id_map).astype(np.int64)
            flat = faiss.downcast_IndexBinary(outer.index)
        if not isinstance(flat, faiss.IndexBinaryFlat):
            raise TypeError(
                f"only flat binary indexes hold their codes in order; got {type(flat).__name__}."
            )
        codes = faiss.vector_to_array(flat.xb).reshape(flat.ntotal, flat.code_size)
        return cls(**params).fit(codes, ids=ids)

    # -- queries ----------------------------------------------------------------------
    def _check_queries(self, query_codes):
        """Validated query codes and per-query slots to exclude (leave-one-out)."""
        check_is_fitted(self)
        if query_codes is None:
            slots = self._store.live_slots()
            return self._store.codes[slots], slots
        query_codes = check_packed_codes(query_codes, name="query_codes")
        if query_codes.shape[1] != self.n_features_in_:
            raise ValueError(
                f"query_codes have {n_bits_of(query_codes)} bits per code but the index "
                f"was fitted on codes of {self.n_bits_} bits."
            )
        return query_codes, np.full(query_codes.shape[0], _NO_SELF, dtype=np.int64)

    def _ids(self, slots):
        """Ids of result slots; -1 (or "") for missing results."""
        ids = self._store.ids_of(np.maximum(slots, 0))
        missing = slots < 0
        if missing.any():
            ids[missing] = "" if ids.dtype.kind == "U" else -1
        return ids

    def kneighbors(
        self,
        query_codes: PackedCodes | None = None,
        n_neighbors: int | None = None,
        return_distance: bool = True,
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """Find the nearest codes of each query.

        Parameters
        ----------
        query_codes : ndarray of shape (n_queries, n_bits // 8), dtype uint8, default=None
            Packed query codes. ``None`` queries with the indexed codes, each
            excluded from its own neighbours (as in scikit-learn).
        n_neighbors : int, default=None
            Number of neighbours; ``None`` uses the ``n_neighbors`` parameter.
            More than the database holds returns the whole database, ranked.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_results), dtype int32
            Hamming distances, increasing along each row. Only returned if
            ``return_distance=True``.
        ids : ndarray of shape (n_queries, n_results), dtype int64 or str
            Ids of the neighbours (their positions for an index fitted without
            ids and not updated since), in the order (distance, insertion
            order). ``n_results = min(n_neighbors, n_available)`` with
            ``n_available`` the database size (minus one for
            ``query_codes=None``).
        """
        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        n_neighbors = check_int(n_neighbors, "n_neighbors", 1)
        queries, self_index = self._check_queries(query_codes)
        leave_one_out = bool(self_index.size) and self_index[0] >= 0
        k = max(0, min(n_neighbors, self.n_samples_fit_ - int(leave_one_out)))
        n_q = queries.shape[0]
        distances = np.empty((n_q, k), dtype=np.int32)
        slots = np.empty((n_q, k), dtype=np.int64)
        if k > 0 and n_q > 0:
            if self.backend_ == "faiss":
                kneighbors_faiss(self, queries, self_index, k, distances, slots)
            elif self.backend_ in ("ivf", "hnsw"):
                kneighbors_approximate(self, queries, self_index, k, distances, slots)
            else:
                kneighbors_numpy(self, queries, self_index, k, distances, slots)
        ids = self._ids(slots)
        return (distances, ids) if return_distance else ids

    def radius_neighbors(
        self,
        query_codes: PackedCodes | None = None,
        radius: float | None = None,
        return_distance: bool = True,
        sort_results: bool = True,
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """Find the codes within a Hamming radius of each query.

        Parameters
        ----------
        query_codes : ndarray of shape (n_queries, n_bits // 8), dtype uint8, default=None
            Packed query codes. ``None`` queries with the indexed codes, each
            excluded from its own neighbours.
        radius : float, default=None
            Codes at Hamming distance ``<= radius`` are returned; ``None`` uses
            the ``radius`` parameter.
        return_distance : bool, default=True
            Whether to return the distances.
        sort_results : bool, default=True
            Order each query's results by (distance, insertion order);
            ``False`` keeps insertion order.

        Returns
        -------
        distances : ndarray of shape (n_queries,), dtype object
            Per query, an ``int32`` array of distances. Only returned if
            ``return_distance=True``.
        ids : ndarray of shape (n_queries,), dtype object
            Per query, an array of ids (``int64``, or the ids' string dtype).
            Always exact, whatever the backend.
        """
        if radius is None:
            radius = self.radius
        radius = check_radius(radius)
        queries, self_index = self._check_queries(query_codes)
        radius = int(min(np.floor(radius), self.n_bits_))
        use_multi_hash = multi_hash_pays_off(self, radius)
        if use_multi_hash or self.backend_ == "faiss":
            search = radius_faiss_chunk
        else:
            search = radius_numpy_chunk
        # Working data per query: distance counts (numpy) or faiss's result buffers.
        n_q = queries.shape[0]
        step = chunk_rows(16 * (radius + 1) + 12 * RADIUS_BUFFER + 1024, n_q, self.working_memory)
        dists, inds, lengths = [], [], []
        for s in range(0, n_q, step):
            e = min(s + step, n_q)
            dist, ind, length = search(
                self, queries[s:e], self_index[s:e], radius, sort_results, use_multi_hash
            )
            dists.append(dist)
            inds.append(ind)
            lengths.append(length)
        starts = np.concatenate([[0], np.cumsum(np.concatenate(lengths))])
        indices = object_rows(self._ids(np.concatenate(inds)), starts)
        if not return_distance:
            return indices
        return object_rows(np.concatenate(dists), starts), indices
