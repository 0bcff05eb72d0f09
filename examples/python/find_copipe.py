"""Lets the example stages run from a clone without `pip install ./python`: if the copipe
package is not installed, use the copy in this repository (python/copipe)."""

import os
import sys

try:
    import copipe  # noqa: F401
except ImportError:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "python"))
