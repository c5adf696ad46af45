-- Which starter template (issue 13: "development", "signed-in", "locked") a
-- permissions version was made from; null for versions written by hand.
ALTER TABLE "permission_versions" ADD COLUMN "template" TEXT;
