"""Controller machinery shared by every synced kind: informers, a rate-limited work queue,
bounded workers, leader election, health and metrics."""
