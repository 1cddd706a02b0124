"""Training-data tools: read real label formats, build one dataset layout, composite, augment."""
