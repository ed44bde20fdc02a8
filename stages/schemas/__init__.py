"""The schema of each params.yaml section, one module per section."""
