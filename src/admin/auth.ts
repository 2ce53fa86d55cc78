// Who may use the admin API: a bearer token equal to admin.token, or the dashboard's session
// cookie, which holds an HMAC of the token (never the token itself) so that changing the token
// ends every session. Comparisons are constant-time.
import { createHmac, timingSafeEqual } from "node:crypto";

const COOKIE = "portcullis_admin";

function equalSecrets(offered: string, expected: string): boolean {
  const a = Buffer.from(offered);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function tokenMatches(authorization: string | undefined, token: string): boolean {
  return authorization !== undefined && authorization.startsWith("Bearer ") && equalSecrets(authorization.slice(7), token);
}

function sessionValue(token: string): string {
  return createHmac("sha256", token).update("portcullis admin session").digest("base64url");
}

/** The Set-Cookie value for a signed-in browser: HttpOnly, SameSite=Strict, the whole admin listener. */
export function sessionCookie(token: string): string {
  return `${COOKIE}=${sessionValue(token)}; Path=/; HttpOnly; SameSite=Strict`;
}

export function sessionMatches(cookieHeader: string | undefined, token: string): boolean {
  const match = cookieHeader ? new RegExp(`(?:^|;\\s*)${COOKIE}=([^;]+)`).exec(cookieHeader) : null;
  return match !== null && equalSecrets(match[1], sessionValue(token));
}
