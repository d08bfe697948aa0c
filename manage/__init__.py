"""The firm's side of Accord: who the applicants are and where they stand (`applicants`), the
firm's reports (`reports`) and their charts (`charts`). Pure functions over a database session,
always scoped by firm in the query itself; no HTTP (the console pages live in `web/`)."""
