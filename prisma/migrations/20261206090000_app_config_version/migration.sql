-- An app's config_version counts the changes to everything a realtime node
-- caches about it: the app row (its active permission version), its auth
-- settings and its limits. Triggers bump it, whoever writes, so nodes that
-- compare it with the copy they hold (APP_FRESHNESS_CHECK_INTERVAL_MS) repair
-- a lost app.changed announcement. Writes that change nothing but updated_at
-- (Prisma's upsert with an empty update) do not count.
ALTER TABLE "apps" ADD COLUMN "config_version" BIGINT NOT NULL DEFAULT 1;

CREATE FUNCTION "hs_app_config_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'apps' THEN
    IF NEW."config_version" = OLD."config_version"
      AND (to_jsonb(NEW) - 'updated_at' - 'config_version')
        IS DISTINCT FROM (to_jsonb(OLD) - 'updated_at' - 'config_version') THEN
      NEW."config_version" := OLD."config_version" + 1;
    END IF;
    RETURN NEW;
  END IF;
  IF TG_OP = 'DELETE' THEN
    UPDATE "apps" SET "config_version" = "config_version" + 1 WHERE "id" = OLD."app_id";
  ELSIF TG_OP = 'INSERT'
    OR (to_jsonb(NEW) - 'updated_at') IS DISTINCT FROM (to_jsonb(OLD) - 'updated_at') THEN
    UPDATE "apps" SET "config_version" = "config_version" + 1 WHERE "id" = NEW."app_id";
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "apps_config_version" BEFORE UPDATE ON "apps"
  FOR EACH ROW EXECUTE FUNCTION "hs_app_config_changed"();

CREATE TRIGGER "app_auth_settings_config_version" AFTER INSERT OR UPDATE OR DELETE ON "app_auth_settings"
  FOR EACH ROW EXECUTE FUNCTION "hs_app_config_changed"();

CREATE TRIGGER "app_limits_config_version" AFTER INSERT OR UPDATE OR DELETE ON "app_limits"
  FOR EACH ROW EXECUTE FUNCTION "hs_app_config_changed"();
