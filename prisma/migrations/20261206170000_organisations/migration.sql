-- Organisations, members, invitations and roles (issue 18 item 5).
-- An organisation owns apps; its members use them as their role allows
-- (owner > admin > developer > viewer; the control plane's role table,
-- apps/control-plane/src/routes/orgs/roles.ts, says what each may do).
-- Every account that exists now becomes a one-person organisation it owns,
-- and its apps move there. apps.account_id stays as who created the app,
-- and no longer deletes the app with that account: the organisation does.
CREATE TYPE "org_role" AS ENUM ('owner', 'admin', 'developer', 'viewer');

CREATE TABLE "organisations" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "personal_account_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "organisations_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "memberships" (
    "organisation_id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "role" "org_role" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "memberships_pkey" PRIMARY KEY ("organisation_id", "account_id")
);

CREATE TABLE "invitations" (
    "id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "role" "org_role" NOT NULL,
    "token_hash" TEXT NOT NULL,
    "invited_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "accepted_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "invitations_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "organisations_personal_account_id_key" ON "organisations"("personal_account_id");
CREATE INDEX "memberships_account_id_idx" ON "memberships"("account_id");
-- One owner per organisation: a transfer demotes the owner before it promotes.
CREATE UNIQUE INDEX "memberships_one_owner" ON "memberships"("organisation_id") WHERE "role" = 'owner';
CREATE UNIQUE INDEX "invitations_token_hash_key" ON "invitations"("token_hash");
CREATE INDEX "invitations_organisation_id_idx" ON "invitations"("organisation_id");

ALTER TABLE "organisations" ADD CONSTRAINT "organisations_personal_account_id_fkey" FOREIGN KEY ("personal_account_id") REFERENCES "accounts"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_invited_by_id_fkey" FOREIGN KEY ("invited_by_id") REFERENCES "accounts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Every account so far: its own organisation, named after its address, owned by it.
INSERT INTO "organisations" ("id", "name", "personal_account_id", "created_at", "updated_at")
  SELECT gen_random_uuid(), "email", "id", "created_at", CURRENT_TIMESTAMP FROM "accounts";
INSERT INTO "memberships" ("organisation_id", "account_id", "role", "created_at", "updated_at")
  SELECT "id", "personal_account_id", 'owner', "created_at", CURRENT_TIMESTAMP
  FROM "organisations" WHERE "personal_account_id" IS NOT NULL;

-- Its apps move there.
ALTER TABLE "apps" ADD COLUMN "organisation_id" UUID;
UPDATE "apps" SET "organisation_id" = o."id"
  FROM "organisations" o WHERE o."personal_account_id" = "apps"."account_id";
ALTER TABLE "apps" ALTER COLUMN "organisation_id" SET NOT NULL;
CREATE INDEX "apps_organisation_id_idx" ON "apps"("organisation_id");
ALTER TABLE "apps" ADD CONSTRAINT "apps_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "apps" ALTER COLUMN "account_id" DROP NOT NULL;
ALTER TABLE "apps" DROP CONSTRAINT "apps_account_id_fkey";
ALTER TABLE "apps" ADD CONSTRAINT "apps_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- An app inserted without an organisation (scripts, tests, code written
-- before organisations) goes to its account's own organisation, made on the
-- spot if the account has none yet.
CREATE FUNCTION "hs_app_default_organisation"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  org UUID;
BEGIN
  IF NEW."organisation_id" IS NOT NULL THEN
    RETURN NEW;
  END IF;
  IF NEW."account_id" IS NULL THEN
    RAISE EXCEPTION 'app % has neither an organisation nor an account', NEW."id";
  END IF;
  SELECT "id" INTO org FROM "organisations" WHERE "personal_account_id" = NEW."account_id";
  IF org IS NULL THEN
    org := gen_random_uuid();
    INSERT INTO "organisations" ("id", "name", "personal_account_id", "updated_at")
      SELECT org, "email", "id", CURRENT_TIMESTAMP FROM "accounts" WHERE "id" = NEW."account_id";
    INSERT INTO "memberships" ("organisation_id", "account_id", "role", "updated_at")
      VALUES (org, NEW."account_id", 'owner', CURRENT_TIMESTAMP);
  END IF;
  NEW."organisation_id" := org;
  RETURN NEW;
END $$;

CREATE TRIGGER "apps_default_organisation" BEFORE INSERT ON "apps"
  FOR EACH ROW EXECUTE FUNCTION "hs_app_default_organisation"();
