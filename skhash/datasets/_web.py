"""A webly supervised source set built from user tags, the way a search engine would."""

import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch, check_array
from sklearn.utils._param_validation import Interval, validate_params

from .._typing import ArrayLike, RandomStateLike
from ..estimators._base import _check_random_state

__all__ = ["WEB_QUERIES", "make_web_set"]

WEB_QUERIES: dict[str, tuple[str, ...]] = {
    "animals": ("animal", "animals"),
    "baby": ("baby", "babies"),
    "bird": ("bird", "birds"),
    "car": ("car", "cars"),
    "clouds": ("cloud", "clouds"),
    "dog": ("dog", "dogs"),
    "female": ("female", "woman", "women", "girl", "girls"),
    "flower": ("flower", "flowers"),
    "food": ("food",),
    "indoor": ("indoor", "indoors"),
    "lake": ("lake", "lakes"),
    "male": ("male", "man", "men", "boy", "boys"),
    "night": ("night",),
    "people": ("people", "person"),
    "plant_life": ("plant", "plants"),
    "portrait": ("portrait", "portraits"),
    "river": ("river", "rivers"),
    "sea": ("sea", "ocean"),
    "sky": ("sky",),
    "structures": ("structure", "structures", "architecture", "building", "buildings"),
    "sunset": ("sunset", "sunsets"),
    "transport": (
        "transport", "transportation", "vehicle", "vehicles", "train", "bus", "truck",
        "tram", "airplane", "plane", "aircraft", "boat", "boats", "ship", "bicycle", "bike",
        "motorcycle",
    ),
    "tree": ("tree", "trees"),
    "water": ("water",),
}  # fmt: skip
"""Search terms of the 24 MIRFlickr-25K concepts used by :func:`make_web_set`.

A concept's terms are its name, its singular or plural form, and for the
concepts that are not everyday words (female, male, plant_life, structures,
transport, ...) the everyday words a user would tag a photo with.
"""


def _default_terms(concept):
    """Search terms of a concept: `WEB_QUERIES`, else its name and plural/singular."""
    if concept in WEB_QUERIES:
        return list(WEB_QUERIES[concept])
    name = concept.replace("_", " ")
    terms = [name, name[:-1] if name.endswith("s") else name + "s"]
    return list(dict.fromkeys(terms))


@validate_params(
    {
        "tags": ["array-like", "sparse matrix"],
        "tag_names": ["array-like"],
        "concepts": ["array-like", Mapping],
        "max_per_concept": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_web_set(
    tags: ArrayLike | Any,
    tag_names: Iterable[Any],
    concepts: Iterable[Any] | Mapping[str, Sequence[str]],
    *,
    max_per_concept: int | None = None,
    random_state: RandomStateLike = None,
) -> Bunch:
    """Build a webly supervised source set from user tags, like a search engine.

    Each concept is a text query: the photos having one of the concept's
    search terms among their tags (exact match) are its results, and each
    result is weakly labelled with the concept. A photo returned by several
    queries is kept once, labelled with the concept that has the fewest
    results (the rarest, hence most specific, query; ties go to the concept
    listed first). This keeps the broad queries (sky, water, people) from
    swallowing the specific ones and balances the classes. On MIRFlickr-25K
    with its 1,386-tag vocabulary, the 24 concepts give 5,521 photos, 85.6% of
    them correctly labelled.

    Parameters
    ----------
    tags : {array-like, sparse matrix} of shape (n_photos, n_tags)
        Tag indicator matrix, nonzero where a photo has a tag, such as the
        ``tags`` of :func:`load_mirflickr25k`.

    tag_names : array-like of str of shape (n_tags,)
        The tag of each column of `tags`.

    concepts : array-like of str or dict of str to list of str
        The concepts (queries). A list of names uses the search terms of
        ``WEB_QUERIES`` for the MIRFlickr-25K concepts, and for other names the
        name (underscores read as spaces) and its plural (name + "s", or the
        singular when the name ends with "s"). A dict maps each concept to its
        own list of search terms.

    max_per_concept : int, default=None
        If given, keep at most this many photos of each concept, drawn at
        random without replacement (after the deduplication above), as a
        search engine returns its top results.

    random_state : int, RandomState instance or None, default=None
        Seed of the draw of `max_per_concept`; unused when it is None.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        indices : ndarray of shape (n_web,), dtype int64
            Rows of `tags` in the web set, increasing.
        target : ndarray of shape (n_web,), dtype int64
            Weak label of each photo, an index into `target_names`.
        target_names : list of str
            The concepts, in the order given.
        terms : dict of str to list of str
            The search terms of each concept found in `tag_names`.

    Raises
    ------
    ValueError
        If no search term of a concept is in `tag_names`, or the shapes of
        `tags` and `tag_names` disagree.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.datasets import make_web_set
    >>> tag_names = ["dog", "dogs", "sky", "cat"]
    >>> tags = np.array([[1, 0, 0, 0],
    ...                  [0, 1, 1, 0],
    ...                  [0, 0, 1, 0],
    ...                  [0, 0, 0, 1]])
    >>> web = make_web_set(tags, tag_names, ["dog", "sky"])
    >>> web.indices.tolist(), web.target.tolist()
    ([0, 1, 2], [0, 0, 1])
    >>> web.terms
    {'dog': ['dog', 'dogs'], 'sky': ['sky']}
    """
    if not sp.issparse(tags) and np.ndim(tags) != 2:
        raise ValueError(
            f"tags must be a 2-d (n_photos, n_tags) 0/1 matrix, dense or sparse; got an array "
            f"of {np.ndim(tags)} dimension(s) with shape {np.shape(tags)}. A single photo's "
            "tags are one row: tags.reshape(1, -1)."
        )
    tags = check_array(tags, accept_sparse="csc", dtype=None, input_name="tags")
    tag_names = [str(name) for name in tag_names]
    if len(tag_names) != tags.shape[1]:
        raise ValueError(
            f"tag_names has {len(tag_names)} names but tags has {tags.shape[1]} columns."
        )
    if isinstance(concepts, Mapping):
        queries = {str(c): [str(t) for t in terms] for c, terms in concepts.items()}
    else:
        queries = {str(c): _default_terms(str(c)) for c in concepts}
    if not queries:
        raise ValueError("concepts is empty: at least one concept is needed.")
    column = {name: k for k, name in enumerate(tag_names)}

    n_photos = tags.shape[0]
    matches = np.zeros((n_photos, len(queries)), dtype=bool)
    terms = {}
    for j, (concept, concept_terms) in enumerate(queries.items()):
        found = [t for t in dict.fromkeys(concept_terms) if t in column]
        if not found:
            raise ValueError(
                f"No search term of concept {concept!r} ({concept_terms}) is in tag_names; "
                "pass concepts as a dict of concept -> search terms."
            )
        terms[concept] = found
        columns = tags[:, [column[t] for t in found]]
        matches[:, j] = np.asarray((columns != 0).sum(axis=1)).ravel() > 0

    # Each photo goes to its matching concept with the fewest results (stable: ties go
    # to the concept listed first).
    rarity = np.argsort(matches.sum(axis=0), kind="stable")
    rank = np.empty_like(rarity)
    rank[rarity] = np.arange(rarity.size)
    indices = np.flatnonzero(matches.any(axis=1))
    ranked = np.where(matches[indices], rank, rarity.size)
    target = ranked.argmin(axis=1)

    if max_per_concept is not None:
        rng = _check_random_state(random_state)  # None: fresh entropy, not the global state
        members_of = []
        for j in range(len(queries)):
            members = np.flatnonzero(target == j)
            if members.size > max_per_concept:
                members = rng.choice(members, size=max_per_concept, replace=False)
            members_of.append(members)
        keep = np.sort(np.concatenate(members_of))
        indices, target = indices[keep], target[keep]

    return Bunch(
        indices=indices.astype(np.int64),
        target=target.astype(np.int64),
        target_names=list(queries),
        terms=terms,
    )
