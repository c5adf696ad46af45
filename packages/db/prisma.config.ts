// Prisma CLI configuration. Only `prisma generate` runs in this repository's
// workflow; migrations are applied by packages/db's runner (see its README),
// and `prisma migrate deploy` run elsewhere agrees with it.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: '../../prisma/schema.prisma',
  migrations: { path: '../../prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/hubstream' },
});
