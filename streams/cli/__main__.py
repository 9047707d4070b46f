"""``python -m streams.cli``: the linernotes command."""

import sys

from streams.cli.main import main

sys.exit(main())
