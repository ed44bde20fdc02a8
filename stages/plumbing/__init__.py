"""The pipeline's plumbing: params, atomic outputs, model loading, texts to token ids."""
