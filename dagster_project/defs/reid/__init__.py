"""The ReID domain: baseline and DLCR checkpoints, their evaluation, the comparison report."""
