"""Shared networks: the image classifiers (MLP, small ResNet) and the plain supervised training
loop that the subspace and dynamics experiments both train."""
