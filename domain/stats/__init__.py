"""Statistics: incremental roll-ups, the public summary, ratings, officers' reports, demo history."""
