-- Roles for Warden's PostgreSQL audit ledger. Run as a superuser in the ledger's database,
-- then create the tables (bin/wardenctl audit schema) and run grants.sql: see README.md.
--
-- The owner holds the tables (and could disable the triggers: keep it out of reach; the hash
-- chain and signed checkpoints still expose any edit). The writer, the role in Warden's DSN,
-- may only INSERT and SELECT. Auditors read.
CREATE ROLE warden_ledger_owner NOLOGIN;
CREATE ROLE warden_writer LOGIN;          -- add PASSWORD or certificate auth as your site requires
CREATE ROLE warden_auditor LOGIN;

GRANT CREATE, USAGE ON SCHEMA public TO warden_ledger_owner;
