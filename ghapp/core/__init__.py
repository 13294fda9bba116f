"""Pure decisions: what a webhook asks, what a config file says, what a student may see, what a
check run reads. No database, HTTP, Docker or GitHub client is imported here; `runner`'s data
types (outcome, spec) are the only thing taken from below."""
