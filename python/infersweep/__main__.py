"""``python -m infersweep``: the command line (see infersweep.cli)."""

import sys

from .cli import main

sys.exit(main())
