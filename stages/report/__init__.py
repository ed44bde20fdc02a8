"""The report and the compare page: reading the stages' outputs, building the views, charts and HTML."""
