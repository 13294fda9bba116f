"""Everything container-shaped: safe archive extraction, the Docker sandbox, result-file parsers and
the `Outcome` model. Knows nothing of GitHub."""
