"""The loops: claiming and grading jobs, publishing check runs, warming graders, reconciling
deliveries, heartbeats. They take decisions from `core`, keep state in `store`, and act through
`ghapp.github` and `runner`."""
