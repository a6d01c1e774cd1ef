"""`python -m monitor.kafka worker|correlator`."""

import sys

from monitor.kafka.cli import main

sys.exit(main())
