"""Training and export of fastseg's own models (the `train` extra: PyTorch).

`model` the network, `losses` the training objectives, `dataset` samples from built datasets,
`loop` the training run behind `fastseg train`, `export` ONNX (float and INT8) with the
`fastseg.spec` metadata, `teacher` cached soft targets of licence-compatible teachers,
`evaluate` the metrics behind `fastseg eval`. Importing this package does not import torch.
"""
