-- Placeholder: schema 9 belongs to issue #16 (the guarded terminal, branch h/term).
-- It exists only so that this branch's migrations number without a gap; when
-- merging, take h/term's 0009_terminal.sql and drop this one.
SELECT 1;
