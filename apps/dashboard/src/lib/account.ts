// Helpers of the Account page that need no React.

/** A session as GET /v1/account/sessions lists it. */
export type AccountSession = {
  id: string;
  kind: 'cookie' | 'bearer';
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string;
  userAgent: string | null;
  address: string | null;
  current: boolean;
};

// Checked in order: Edge and Opera also say "Chrome", Chrome also says "Safari".
const BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\bOPR\//, 'Opera'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/(?:\b|Headless)Chrom(?:e|ium)\/|\bCriOS\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/^curl\//, 'curl'],
  [/^node\b|\bundici\b|^node-fetch/, 'Node.js'],
  [/^python-requests\/|^Python-urllib\//, 'Python'],
];

const SYSTEMS: [RegExp, string][] = [
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bLinux\b/, 'Linux'],
];

/**
 * A short name for where a session was opened ("Chrome on Linux"), from its
 * User-Agent; the raw text when nothing is recognised, cut to stay readable.
 */
export function describeUserAgent(userAgent: string | null, kind: AccountSession['kind']): string {
  const fallback = kind === 'cookie' ? 'A browser' : 'A script (session token)';
  const ua = userAgent?.trim();
  if (!ua) return fallback;
  const browser = BROWSERS.find(([pattern]) => pattern.test(ua))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  return ua.length > 60 ? `${ua.slice(0, 59)}…` : ua;
}

/** What the delete dialog's typed address must be: the account's, compared as the server does. */
export const confirmsEmail = (typed: string, email: string) =>
  typed.trim().toLowerCase() === email.trim().toLowerCase();
