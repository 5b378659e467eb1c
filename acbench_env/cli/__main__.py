"""``python -m acbench_env.cli``."""

import sys

from acbench_env.cli import main

sys.exit(main())
