"""Work across machines on Dramatiq (`IMPWATCH_BROKER_URL`): the queues, their actors, the executor that hands face
analysis over by sha256, the consumers of `impwatch worker --queues ...`, and the PostgreSQL advisory locks that
keep one scheduler (and one Telegram consumer) running at a time. Without a broker none of this is imported."""
