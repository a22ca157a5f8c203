"""Logical backups of the configuration and usage tables as SQLite files (no pg_dump).

Shared by the control plane (/api/db-backups) and the workers (scheduled backups): `writer` makes an
export, `reader` validates an untrusted one, `store` keeps them in the `db_backups` table, `bundle`
makes the .tar.gz archive with its manifest.
"""
