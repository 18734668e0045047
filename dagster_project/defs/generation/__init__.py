"""The generation domain: generated images (dataset x shard), query variants; shard keys, schedule."""
