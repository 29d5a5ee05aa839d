"""The script to hand spark-submit: `shoprec train --engine spark` with the arguments that follow.

    spark-submit --master spark://host:7077 --driver-memory 8g src/shoprec/spark/submit.py \\
        --workspace /shared/ws --models ials,itemknn

spark-submit's master and settings apply (`--master` is ignored under spark-submit). Its path in an
installed copy: `python -c 'import shoprec.spark.submit as s; print(s.__file__)'`.
"""

from __future__ import annotations

import sys

from shoprec.cli import main

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "train", "--engine", "spark", *sys.argv[1:]]
    main()
