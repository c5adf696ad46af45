import { type Config, publicHttpUrl } from '@hubstream/config';
import { SEND_EMAIL_JOB } from '@hubstream/jobs';
import { ACCOUNT_TOKENS } from './token-service.ts';

// The mails sent to developers. The dashboard hosts the pages the links
// open; those pages call the API with the token.

/** The send-email job's contract (@hubstream/jobs); the queue checks the payload against its schema. */
export { SEND_EMAIL_JOB };

export type EmailMessage = { to: string; subject: string; text: string; html: string };

export const hoursOf = (ms: number) => {
  const hours = Math.round(ms / 3600_000);
  return hours === 1 ? '1 hour' : `${hours} hours`;
};

const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

export function linkMessage(parts: {
  to: string;
  subject: string;
  intro: string;
  action: string;
  link: string;
  outro: string;
}): EmailMessage {
  const { to, subject, intro, action, link, outro } = parts;
  const href = escapeHtml(link);
  return {
    to,
    subject,
    text: `${intro}\n\n${link}\n\n${outro}\n\nThe Hubstream team\n`,
    html: [
      `<p>${escapeHtml(intro)}</p>`,
      `<p><a href="${href}">${escapeHtml(action)}</a></p>`,
      `<p>If the link does not open, paste this address into your browser:<br>${href}</p>`,
      `<p>${escapeHtml(outro)}</p>`,
      '<p>The Hubstream team</p>',
    ].join('\n'),
  };
}

const linkTo = (config: Config, page: string, token: string) =>
  `${publicHttpUrl(config)}/${page}?token=${encodeURIComponent(token)}`;

export const verificationEmail = (config: Config, to: string, token: string) =>
  linkMessage({
    to,
    subject: 'Verify your email address for Hubstream',
    intro: 'Welcome to Hubstream. Please confirm that this is your email address:',
    action: 'Verify my email address',
    link: linkTo(config, 'verify-email', token),
    outro: `The link expires in ${hoursOf(ACCOUNT_TOKENS.verify_email.ttlMs)}. If you did not create a Hubstream account, you can ignore this email.`,
  });

export const passwordResetEmail = (config: Config, to: string, token: string) =>
  linkMessage({
    to,
    subject: 'Reset your Hubstream password',
    intro: 'We received a request to reset the password of your Hubstream account.',
    action: 'Choose a new password',
    link: linkTo(config, 'reset-password', token),
    outro: `The link works once and expires in ${hoursOf(ACCOUNT_TOKENS.reset_password.ttlMs)}. If you did not ask for this, you can ignore this email: your password stays the same.`,
  });

/** To the new address: opening the link makes it the account's. */
export const emailChangeEmail = (config: Config, to: string, token: string) =>
  linkMessage({
    to,
    subject: 'Confirm your new email address for Hubstream',
    intro:
      'You asked to use this email address for your Hubstream account. Please confirm that it is yours:',
    action: 'Confirm my new email address',
    link: linkTo(config, 'verify-email', token),
    outro: `Until you confirm, your account keeps its current address. The link works once and expires in ${hoursOf(ACCOUNT_TOKENS.change_email.ttlMs)}. If you did not ask for this, you can ignore this email.`,
  });

/** To the old address: a change asked for from a stolen session should not go unnoticed. */
export function emailChangeNotice(config: Config, to: string, newEmail: string): EmailMessage {
  const intro = `Someone signed in to your Hubstream account asked to change its email address from ${to} to ${newEmail}. The change happens only when the link we sent to ${newEmail} is opened.`;
  const outro = `If this was not you, log in at ${publicHttpUrl(config)}, change your password and end the other sessions on the Account page.`;
  return {
    to,
    subject: 'Your Hubstream email address is about to change',
    text: `${intro}\n\n${outro}\n\nThe Hubstream team\n`,
    html: [
      `<p>${escapeHtml(intro)}</p>`,
      `<p>${escapeHtml(outro)}</p>`,
      '<p>The Hubstream team</p>',
    ].join('\n'),
  };
}
