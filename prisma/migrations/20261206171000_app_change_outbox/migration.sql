-- The outbox of "app changed" announcements. The transaction that changes an
-- app writes its row, with the app's config_version after the change (NULL
-- when the app was deleted); the control plane publishes the rows on the
-- cluster bus after the commit and deletes them, and publishes again
-- whatever a failed publish or a stopped process left. No foreign key: the
-- announcement of a deleted app outlives its row.
CREATE TABLE "app_changes" (
    "id" BIGSERIAL NOT NULL,
    "app_id" TEXT NOT NULL,
    "what" TEXT NOT NULL,
    "config_version" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "app_changes_pkey" PRIMARY KEY ("id")
);
