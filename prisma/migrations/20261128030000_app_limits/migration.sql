-- CreateTable
CREATE TABLE "app_limits" (
    "app_id" TEXT NOT NULL,
    "max_connections" INTEGER,
    "max_messages_per_second" INTEGER,
    "connection_messages_per_second" INTEGER,
    "max_cross_references_per_second" INTEGER,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "app_limits_pkey" PRIMARY KEY ("app_id")
);

-- AddForeignKey
ALTER TABLE "app_limits" ADD CONSTRAINT "app_limits_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;
