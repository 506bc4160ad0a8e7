-- After the tables exist (bin/wardenctl audit schema): hand them to the owner, and let the
-- writer insert and read (it reads its own tip at start) and the auditor read. Run as a
-- superuser in the ledger's database.
ALTER TABLE audit_log OWNER TO warden_ledger_owner;
ALTER TABLE audit_log_checkpoints OWNER TO warden_ledger_owner;
GRANT USAGE ON SCHEMA public TO warden_writer, warden_auditor;
GRANT INSERT, SELECT ON audit_log, audit_log_checkpoints TO warden_writer;
GRANT SELECT ON audit_log, audit_log_checkpoints TO warden_auditor;
