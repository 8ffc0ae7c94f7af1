-- Placeholder on branch gray so 0005_gray.sql has no gap: migration 0003 belongs to
-- another branch (release orders / network assets). DELETE THIS FILE WHEN MERGING.
SELECT 1;
