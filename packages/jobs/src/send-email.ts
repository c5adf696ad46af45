import Type, { type Static } from 'typebox';
import { defineContract } from './contract.ts';

export const SEND_EMAIL_JOB = 'send-email';

export const SendEmailPayload = Type.Object(
  {
    to: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' }),
    subject: Type.String({ minLength: 1, maxLength: 200 }),
    text: Type.String({ minLength: 1 }),
    html: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export type SendEmail = Static<typeof SendEmailPayload>;

/** One email; enqueued by the control plane (verification, password reset, email change). */
export const sendEmailContract = defineContract({
  name: SEND_EMAIL_JOB,
  payload: SendEmailPayload,
  attempts: 5,
  backoffMs: 2_000,
});
