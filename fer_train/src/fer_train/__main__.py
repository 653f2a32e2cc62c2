"""`python -m fer_train`: the `fer-train` command line."""

from fer_train.cli import main

main()
