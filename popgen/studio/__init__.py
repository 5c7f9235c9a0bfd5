"""``popgen studio``: a local web page to pick a model, generate, look, listen and download.

The logic (:class:`Studio`, :class:`Settings`) needs no browser and no extra;
the page itself (:func:`launch`, :func:`build_app`) needs Gradio, from the
``studio`` extra (``pip install 'popgen[studio]'``), imported only when the
page is built.

>>> Settings(chords="C G Am F", candidates=2).candidates
2
"""

from popgen.studio.session import Candidate, ModelInfo, Studio
from popgen.studio.settings import MAX_CANDIDATES, Settings, StudioError

__all__ = [
    "MAX_CANDIDATES",
    "Candidate",
    "ModelInfo",
    "Settings",
    "Studio",
    "StudioError",
]
