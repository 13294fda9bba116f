"""The database: the models, their migrations, and every query pushgrade makes. Nothing else in
`ghapp` speaks SQL."""
