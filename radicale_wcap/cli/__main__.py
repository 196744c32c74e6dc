"""``python -m radicale_wcap.cli``: what dev.py and the tests' subprocesses run."""

import sys

from radicale_wcap.cli import main

sys.exit(main())
