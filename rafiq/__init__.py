"""Composition root: settings, CLI and wiring."""

import os as _os

# numpy's OpenBLAS starts a spinning helper thread that only competes with the server's
# work (about a third of its CPU under load, bench/results/api.json); set before numpy.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
