"""The `pushgrade` command: composes the runner, the GitHub App and the web application."""
