-- Account settings (issue 18 item 4).
-- change_email: a link mailed to the address a developer wants to move to;
-- "email" holds that address until the link is opened, and the account's
-- own address stays in force until then.
-- sessions.user_agent / address: what the session list shows of where each
-- session was opened (the browser's User-Agent, cut to 512 characters, and
-- the client address as the control plane saw it).
ALTER TYPE "account_token_purpose" ADD VALUE 'change_email';
ALTER TABLE "account_tokens" ADD COLUMN "email" TEXT;
ALTER TABLE "sessions" ADD COLUMN "user_agent" TEXT,
ADD COLUMN "address" TEXT;
