"""Cloud sync of the configuration: the sealed bundle, the per-record merge, S3 SigV4 signing."""
