"""``python -m eyegrad`` is the ``eyegrad`` command."""
import sys

from .cli import main

sys.exit(main())
