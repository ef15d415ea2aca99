/**
 * CloudStack API request signing, exactly as the management server verifies it
 * (reference/cloudstack.md §3.1, `ApiServer.verifyRequest`):
 *
 *   every parameter but `signature`, names sorted as sent (case-sensitive, like Java's
 *   `Collections.sort`), `name=URLEncoder.encode(value,"UTF-8")` with `+` turned into `%20`,
 *   joined by `&`, the WHOLE string lowercased, HMAC-SHA1 with the secret key, Base64.
 *
 * Java's URLEncoder leaves only `A-Z a-z 0-9 . - * _` alone (space → `+`); JavaScript's
 * `encodeURIComponent` additionally leaves `! ' ( ) ~` alone and encodes `*`, so those are fixed.
 */
import { createHmac } from 'node:crypto';

/** `URLEncoder.encode(value, "UTF-8").replaceAll("\\+", "%20")`. */
export function javaUrlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2A/g, '*');
}

/** Parameter names in the order the server sorts them (UTF-16 code-unit order, as Java's String.compareTo). */
export function sortedNames(params: Record<string, string>): string[] {
  return Object.keys(params)
    .filter((k) => k.toLowerCase() !== 'signature')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The string the server signs: sorted, Java-encoded, lowercased. */
export function stringToSign(params: Record<string, string>): string {
  return sortedNames(params)
    .map((k) => `${k}=${javaUrlEncode(params[k]!)}`)
    .join('&')
    .toLowerCase();
}

/** The Base64 HMAC-SHA1 signature of `params` (not yet URL-encoded). */
export function signRequest(params: Record<string, string>, secretKey: string): string {
  return createHmac('sha1', Buffer.from(secretKey, 'utf8')).update(stringToSign(params), 'utf8').digest('base64');
}

/**
 * The query string to send: the same sorted, Java-encoded parameters (original case) followed by
 * the URL-encoded signature. The server decodes them back to the signed values.
 */
export function buildSignedQuery(params: Record<string, string>, secretKey: string): string {
  const query = sortedNames(params)
    .map((k) => `${javaUrlEncode(k)}=${javaUrlEncode(params[k]!)}`)
    .join('&');
  return `${query}&signature=${javaUrlEncode(signRequest(params, secretKey))}`;
}

/** `expires` for signatureversion 3: `yyyy-MM-dd'T'HH:mm:ssZ` in UTC, e.g. `2026-11-23T01:00:00+0000`. */
export function formatExpires(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+0000`;
}
