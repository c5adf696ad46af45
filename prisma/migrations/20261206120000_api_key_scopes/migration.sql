-- What an app API key may do, and who it acts as on the HTTP data API.
-- scopes: 'users' (manage the app's users through the control plane, what
-- every key could do before) and/or 'data' (the realtime node's HTTP data
-- API as a trusted backend). Existing keys keep exactly what they had. The
-- column is nullable as Prisma makes every list column; null reads as [].
-- user_id / server_data: the fixed user.id and user.data Valve rules see for
-- requests made with the key (null: the key's name decides the id).
ALTER TABLE "api_keys" ADD COLUMN "scopes" TEXT[] DEFAULT ARRAY['users']::TEXT[],
ADD COLUMN "user_id" TEXT,
ADD COLUMN "server_data" JSONB;
