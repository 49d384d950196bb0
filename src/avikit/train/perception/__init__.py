"""Training pieces of the perception heads: each family's training data and loss, one file per family."""
