/**
 * One catalogue of error codes. Every error netdiag raises on purpose has a code, a message that
 * names the input and what is wrong, and a remedy. Messages never carry secrets: use
 * `redact()` on anything that may hold a URL with credentials or a signed query.
 */
export const ERROR_CODES = {
  E_ARGS: 'bad command-line arguments',
  E_CONFIG: 'invalid configuration',
  E_INPUT_READ: 'input could not be read',
  E_INPUT_UNRECOGNISED: 'input content not recognised',
  E_INPUT_PARSE: 'input could not be parsed',
  E_EXEC: 'external command failed',
  E_EXEC_TIMEOUT: 'external command timed out',
  E_HTTP: 'HTTP request failed',
  E_AUTH: 'authentication failed',
  E_API: 'API returned an error',
  E_TIMEOUT: 'operation timed out',
  E_PRECONDITION: 'precondition not met',
  E_INTERNAL: 'internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class NetdiagError extends Error {
  readonly code: ErrorCode;
  readonly remedy?: string;
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; remedy?: string } = {}) {
    super(redact(message), opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'NetdiagError';
    this.code = code;
    this.remedy = opts.remedy;
  }
}

const SECRET_PARAMS = /([?&;](?:apikey|api_key|secretkey|secret_key|signature|password|passwd|sessionkey|token)=)[^&\s"']*/gi;
const SECRET_FLAGS = /(--(?:api-key|secret-key|nvp-password|password)[ =])\S+/gi;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s:]+:[^/@\s]+@/gi;

/** Remove secrets from text that is about to reach a log, a report or an error. */
export function redact(text: string, extraSecrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(SECRET_PARAMS, '$1***').replace(SECRET_FLAGS, '$1***').replace(URL_CREDENTIALS, '$1***@');
  for (const s of extraSecrets) if (s && s.length >= 4) out = out.split(s).join('***');
  return out;
}

/** A one-line description of any thrown value, with secrets removed. */
export function describeError(err: unknown): string {
  if (err instanceof NetdiagError) return `${err.code}: ${err.message}${err.remedy ? ` (${err.remedy})` : ''}`;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    // Node's fs errors already begin with their code ("ENOENT: no such file..."): do not say it twice.
    return redact(code && !err.message.startsWith(`${code}:`) ? `${code}: ${err.message}` : err.message);
  }
  return redact(String(err));
}
