-- Roles for Warden's PostgreSQL audit ledger. Run as a superuser, then create the tables as
-- the owner:   wardenctl audit schema --table audit_log | psql -U warden_ledger_owner audit
--
-- The owner holds the tables (and could disable the triggers: keep it out of reach; the hash
-- chain and signed checkpoints still expose any edit). The writer, the role in Warden's DSN,
-- may only INSERT and SELECT. Auditors read.
CREATE ROLE warden_ledger_owner NOLOGIN;
CREATE ROLE warden_writer LOGIN;          -- add PASSWORD or certificate auth as your site requires
CREATE ROLE warden_auditor LOGIN;

GRANT CREATE, USAGE ON SCHEMA public TO warden_ledger_owner;

-- After the schema exists:
--   GRANT INSERT, SELECT ON audit_log, audit_log_checkpoints TO warden_writer;
--   GRANT SELECT ON audit_log, audit_log_checkpoints TO warden_auditor;
