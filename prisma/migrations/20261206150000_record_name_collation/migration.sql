-- Record names compare byte by byte (the "C" collation), whatever the
-- database's locale: the dashboard's data browser lists an app's records by
-- name prefix and pages on by name, and only in C order are the names with a
-- prefix one contiguous range of the primary key (app_id, name), so a page is
-- an index range scan however many records the app has. Under a language
-- collation (the official image's en_US.utf8) "a-b" and "ab" interleave and a
-- prefix search would read every record of the app. Equality, which is all
-- the record stores ask, is the same in both. Rebuilds the primary key index.
ALTER TABLE "records" ALTER COLUMN "name" SET DATA TYPE TEXT COLLATE "C";
