"""Commands beside the pipeline: comparing runs, the stages an edit re-runs, the offline plots page."""
