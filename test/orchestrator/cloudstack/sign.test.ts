import { describe, expect, it } from 'vitest';
import { buildSignedQuery, formatExpires, javaUrlEncode, signRequest, stringToSign } from '../../../orchestrator/cloudstack/sign.js';

// reference/cloudstack.md §3.1: the documented worked example of the developer's guide.
const apikey = 'plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg';
const secret = 'VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ';

describe('CloudStack request signing (§3.1)', () => {
  it('reproduces the documented test vector', () => {
    const params = { command: 'listUsers', response: 'json', apikey };
    expect(stringToSign(params)).toBe('apikey=plgwjfzk4gys3momtvmjuvg-x-jlwlnfauj9gabbbf9edm-kaymmailqzzq1elzlyq_u38zcm0bewzgudp66mg&command=listusers&response=json');
    expect(signRequest(params, secret)).toBe('TTpdDq/7j/J58XCRHomKoQXEQds=');
    expect(buildSignedQuery(params, secret)).toMatch(/&signature=TTpdDq%2F7j%2FJ58XCRHomKoQXEQds%3D$/);
  });

  it('encodes values as Java URLEncoder does, space as %20', () => {
    expect(javaUrlEncode("a b!'()*~+/=é")).toBe('a%20b%21%27%28%29*%7E%2B%2F%3D%C3%A9');
    expect(javaUrlEncode('A-Z_a.z*0')).toBe('A-Z_a.z*0');
  });

  it('sorts names case-sensitively and leaves out signature', () => {
    expect(stringToSign({ b: '1', A: '2', a: '3', signature: 'x' })).toBe('a=2&a=3&b=1');
  });

  it('formats expires as yyyy-MM-ddTHH:mm:ssZ', () => {
    expect(formatExpires(Date.UTC(2026, 10, 23, 1, 2, 3, 456))).toBe('2026-11-23T01:02:03+0000');
  });
});
