"""``python -m edge_runtime`` is the ``eyegrad`` command."""
import sys

from .cli import main

sys.exit(main())
