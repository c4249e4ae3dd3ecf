"""``python -m kaohe.quality --write-generated``: the suites with their generated expectations,
written to ``expectations/generated/`` for reading."""

import sys

from kaohe.quality import main

sys.exit(main())
