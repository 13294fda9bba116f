"""Everything GitHub- and policy-shaped: config files, events, the job queue and the check-run
report."""
