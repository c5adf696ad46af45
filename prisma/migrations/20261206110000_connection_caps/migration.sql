-- An app's own per-connection caps (null: the platform default from the
-- config): names per bulk message, subscriptions per topic, listen patterns
-- per topic, provided RPCs and RPCs waiting for their answer.
ALTER TABLE "app_limits" ADD COLUMN "max_names_per_message" INTEGER,
ADD COLUMN "max_subscriptions_per_connection" INTEGER,
ADD COLUMN "max_listens_per_connection" INTEGER,
ADD COLUMN "max_provides_per_connection" INTEGER,
ADD COLUMN "max_pending_rpcs_per_connection" INTEGER;
