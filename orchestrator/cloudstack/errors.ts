/**
 * Typed CloudStack API errors: one place maps an HTTP status / `errorcode` (ApiErrorCode) and
 * `cserrorcode` (CSExceptionErrorCode) of reference/cloudstack.md §3.3 to an error class.
 * Messages name the command and what went wrong, never the api key, signature or secret.
 */
import { NetdiagError, type ErrorCode } from '../../core/errors.js';

/** ApiErrorCode: the HTTP status equals `errorcode`. */
export const API_ERROR_CODES = {
  401: 'UNAUTHORIZED',
  411: 'UNAUTHORIZED2FA',
  405: 'METHOD_NOT_ALLOWED',
  429: 'API_LIMIT_EXCEED',
  430: 'MALFORMED_PARAMETER_ERROR',
  431: 'PARAM_ERROR',
  432: 'UNSUPPORTED_ACTION_ERROR',
  530: 'INTERNAL_ERROR',
  531: 'ACCOUNT_ERROR',
  532: 'ACCOUNT_RESOURCE_LIMIT_ERROR',
  533: 'INSUFFICIENT_CAPACITY_ERROR',
  534: 'RESOURCE_UNAVAILABLE_ERROR',
  535: 'RESOURCE_ALLOCATION_ERROR',
  536: 'RESOURCE_IN_USE_ERROR',
  537: 'NETWORK_RULE_CONFLICT_ERROR',
} as const;
export type ApiErrorName = (typeof API_ERROR_CODES)[keyof typeof API_ERROR_CODES];

/** CSExceptionErrorCode: the Java exception class behind `cserrorcode`. */
export const CS_EXCEPTION_CODES: Record<number, string> = {
  4250: 'CloudRuntimeException',
  4260: 'ExecutionException',
  4285: 'AgentUnavailableException',
  4405: 'AgentUnavailableException',
  4300: 'ConcurrentOperationException',
  4425: 'ConcurrentOperationException',
  4330: 'InsufficientNetworkCapacityException',
  4465: 'InsufficientNetworkCapacityException',
  4350: 'InvalidParameterValueException',
  4490: 'InvalidParameterValueException',
  4365: 'PermissionDeniedException',
  4505: 'PermissionDeniedException',
  4380: 'ResourceUnavailableException',
  4520: 'ResourceUnavailableException',
  4480: 'InsufficientVirtualNetworkCapacityException',
  9999: 'ServerApiException',
};

export interface CloudStackErrorDetails {
  command: string;
  /** HTTP status (0 when there was no HTTP answer). */
  status: number;
  errorcode?: number;
  cserrorcode?: number;
  errortext?: string;
  cause?: unknown;
}

/** Every CloudStack failure is one of these; `apiError`/`exception` name the codes. */
export class CloudStackApiError extends NetdiagError {
  readonly command: string;
  readonly status: number;
  readonly errorcode?: number;
  readonly cserrorcode?: number;
  readonly errortext?: string;
  /** ApiErrorCode name of `errorcode` (or of the HTTP status), when known. */
  readonly apiError?: ApiErrorName;
  /** Exception class of `cserrorcode`, when known. */
  readonly exception?: string;
  constructor(code: ErrorCode, d: CloudStackErrorDetails, message: string, remedy: string) {
    super(code, message, { cause: d.cause, remedy });
    this.name = 'CloudStackApiError';
    this.command = d.command;
    this.status = d.status;
    this.errorcode = d.errorcode;
    this.cserrorcode = d.cserrorcode;
    this.errortext = d.errortext;
    const ec = d.errorcode ?? d.status;
    this.apiError = (API_ERROR_CODES as Record<number, ApiErrorName>)[ec];
    this.exception = d.cserrorcode !== undefined ? CS_EXCEPTION_CODES[d.cserrorcode] : undefined;
  }
  /** Whether a read may be tried again (overload, transient server or transport trouble). */
  get retryable(): boolean {
    return false;
  }
}

function describe(d: CloudStackErrorDetails): string {
  const codes = [d.errorcode !== undefined ? `errorcode ${d.errorcode}` : d.status ? `HTTP ${d.status}` : '', d.cserrorcode !== undefined ? `cserrorcode ${d.cserrorcode}${CS_EXCEPTION_CODES[d.cserrorcode] ? ` ${CS_EXCEPTION_CODES[d.cserrorcode]}` : ''}` : '']
    .filter(Boolean)
    .join(', ');
  return `CloudStack ${d.command} failed${codes ? ` (${codes})` : ''}${d.errortext ? `: ${d.errortext}` : ''}`;
}

/** 401 / 411: bad api key, bad signature, expired request, or no permission for the command. */
export class CloudStackAuthError extends CloudStackApiError {
  constructor(d: CloudStackErrorDetails) {
    super('E_AUTH', d, describe(d), 'check --api-key/--secret-key (or NETDIAG_API_KEY/NETDIAG_SECRET_KEY), that the account may call this command, and that this machine\'s clock is right (signed requests expire)');
    this.name = 'CloudStackAuthError';
  }
}
/** 405: the HTTP method is not allowed for the command. */
export class CloudStackMethodNotAllowedError extends CloudStackApiError {
  constructor(d: CloudStackErrorDetails) {
    super('E_API', d, describe(d), 'the management server refuses this HTTP method for the command (POST-only commands)');
    this.name = 'CloudStackMethodNotAllowedError';
  }
}
/** 430 / 431: a missing, malformed or invalid parameter (InvalidParameterValueException 4350). */
export class CloudStackParamError extends CloudStackApiError {
  constructor(d: CloudStackErrorDetails) {
    super('E_API', d, describe(d), 'the management server refused a parameter; check the ids and values');
    this.name = 'CloudStackParamError';
  }
}
/** 432: the command does not exist on this server or is not available to this account. */
export class CloudStackUnsupportedError extends CloudStackApiError {
  constructor(d: CloudStackErrorDetails) {
    super('E_API', d, describe(d), 'the command is missing on this CloudStack version or plugin set (e.g. the NiciraNvp plugin), or the account\'s role lacks it');
    this.name = 'CloudStackUnsupportedError';
  }
}
/** 429: api.throttling limit reached. */
export class CloudStackRateLimitError extends CloudStackApiError {
  constructor(d: CloudStackErrorDetails) {
    super('E_API', d, describe(d), 'the account exceeded api.throttling.max calls per api.throttling.interval; lower --rate-limit or raise the limit');
    this.name = 'CloudStackRateLimitError';
  }
  override get retryable(): boolean {
    return true;
  }
}
/** 530–537 and other 5xx: the server failed (internal error, account, capacity, resource in use...). */
export class CloudStackServerError extends CloudStackApiError {
  constructor(d: CloudStackErrorDetails) {
    super('E_API', d, describe(d), 'the management server failed the command; see its management-server.log around this time');
    this.name = 'CloudStackServerError';
  }
  /** Transient: overload/proxy errors, internal errors and an unavailable resource; not account/capacity/in-use/conflict. */
  override get retryable(): boolean {
    const c = this.errorcode ?? this.status;
    return [500, 502, 503, 504, 530, 534].includes(c) || (this.errorcode === undefined && this.status >= 500);
  }
}
/** Any other 4xx. */
export class CloudStackClientError extends CloudStackApiError {
  constructor(d: CloudStackErrorDetails) {
    super('E_API', d, describe(d), 'the management server refused the request; check --cloudstack-url (http(s)://host:8080/client/api)');
    this.name = 'CloudStackClientError';
  }
}
/** No HTTP answer: connection refused/reset, DNS, TLS. */
export class CloudStackTransportError extends CloudStackApiError {
  constructor(d: CloudStackErrorDetails) {
    super('E_HTTP', d, `CloudStack ${d.command} failed: ${d.errortext ?? 'no answer'}`, 'check that --cloudstack-url is reachable from here, and the TLS settings (--ca-file, --insecure)');
    this.name = 'CloudStackTransportError';
  }
  override get retryable(): boolean {
    return true;
  }
}
/** No answer in time (a request, or an async job past its deadline). */
export class CloudStackTimeoutError extends CloudStackApiError {
  readonly jobid?: string;
  constructor(d: CloudStackErrorDetails & { jobid?: string }) {
    super('E_TIMEOUT', d, `CloudStack ${d.command} timed out: ${d.errortext ?? 'no answer in time'}`, d.jobid ? `job ${d.jobid} may still finish: check it with queryAsyncJobResult before trying again` : 'the management server did not answer in time; check its load, or raise the timeout');
    this.name = 'CloudStackTimeoutError';
    this.jobid = d.jobid;
  }
  override get retryable(): boolean {
    return this.jobid === undefined;
  }
}
/** The answer is not CloudStack's API (HTML error page, not JSON, no `<command>response`). */
export class CloudStackProtocolError extends CloudStackApiError {
  constructor(d: CloudStackErrorDetails) {
    super('E_API', d, describe(d), 'the URL does not answer like a CloudStack API endpoint; --cloudstack-url is http(s)://host:8080/client/api');
    this.name = 'CloudStackProtocolError';
  }
  override get retryable(): boolean {
    return this.status >= 500;
  }
}
/** An async job ended with jobstatus 2; `errortext` is the job's. */
export class CloudStackJobError extends CloudStackApiError {
  readonly jobid: string;
  readonly jobresult: unknown;
  constructor(d: CloudStackErrorDetails & { jobid: string; jobresult: unknown }) {
    super('E_API', d, `CloudStack job ${d.jobid} of ${d.command} failed${d.errorcode !== undefined ? ` (errorcode ${d.errorcode})` : ''}: ${d.errortext ?? 'no error text'}`, 'see the job in the management-server.log (its job id) and the state of the object it worked on');
    this.name = 'CloudStackJobError';
    this.jobid = d.jobid;
    this.jobresult = d.jobresult;
  }
}

/** The typed error for an HTTP status and/or a CloudStack error body. */
export function cloudStackErrorFor(d: CloudStackErrorDetails): CloudStackApiError {
  const c = d.errorcode ?? d.status;
  if (c === 401 || c === 411) return new CloudStackAuthError(d);
  if (c === 405) return new CloudStackMethodNotAllowedError(d);
  if (c === 429) return new CloudStackRateLimitError(d);
  if (c === 430 || c === 431) return new CloudStackParamError(d);
  if (c === 432) return new CloudStackUnsupportedError(d);
  if (c >= 500) return new CloudStackServerError(d);
  return new CloudStackClientError(d);
}
