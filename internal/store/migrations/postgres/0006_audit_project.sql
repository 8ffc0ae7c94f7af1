-- Berth schema 6: the audit trail filtered by project (GET /audit?tenant=T&project=P),
-- newest first; without this index the query walks every record of the tenant.
CREATE INDEX audit_records_project ON audit_records (tenant, project, seq);
