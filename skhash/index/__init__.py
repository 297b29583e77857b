"""Hamming search over packed codes: k nearest neighbours and radius queries.

:class:`HammingIndex` is the search side of skhash, in the spirit of
:class:`sklearn.neighbors.NearestNeighbors`: ``fit`` stores packed database
codes with their ids, ``kneighbors`` and ``radius_neighbors`` answer queries
with ids, ``add`` and ``remove`` update the index without refitting, ``save``
and ``load`` write it to and memory-map it from a folder (storage and file
format: ``skhash/index/_store.py``). Exact results are in a documented,
deterministic order: by Hamming distance, then by insertion order. Both exact
backends return identical results:

* ``"numpy"``: a compiled kernel, parallel over blocks of queries. The
  database is scanned once per block of queries, in chunks that stay in cache;
  each group of 64 codes yields a bit mask of the live codes closer than the
  query's current threshold (vectorised popcount on 64-bit words), and only
  those codes are visited. k-NN keeps a counting selection per query:
  candidates appended in database order, compacted with a histogram of their
  distances into the first ``k`` by (distance, slot), which lowers the
  threshold; no sort, no heap. Radius queries count, then fill their output in
  place.
* ``"faiss"``: :class:`faiss.IndexBinaryFlat` (``search`` and
  ``range_search``), whose result order is re-established to the documented
  one; optionally :class:`faiss.IndexBinaryMultiHash` for radius queries.

Approximate k-NN: ``"ivf"`` (:class:`faiss.IndexBinaryIVF`) and ``"hnsw"``
(:class:`faiss.IndexBinaryHNSW`), with true distances and the same order.

:class:`HashingSearcher` searches with raw features through a hasher.
"""

from ._hamming import HammingIndex
from ._searcher import HashingSearcher

__all__ = ["HammingIndex", "HashingSearcher"]
