import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '@beddel/contracts';
import { secretSourceFromEnv, secretSourceFromObject } from './secret-sources.js';

describe('secretSourceFromObject', () => {
  it('reads values per tenant and nothing from Object.prototype', () => {
    const values = { acme: { API_BASE_URL: 'https://acme.example' }, globex: { API_BASE_URL: 'https://globex.example' } };
    const source = secretSourceFromObject(values);
    expect(source.read('acme', 'API_BASE_URL')).toBe('https://acme.example');
    expect(source.read('globex', 'API_BASE_URL')).toBe('https://globex.example');
    expect(source.read('acme', 'OTHER')).toBeUndefined();
    expect(source.read('initech', 'API_BASE_URL')).toBeUndefined();
    expect(source.read('acme', 'constructor')).toBeUndefined();
    expect(source.read('toString', 'valueOf')).toBeUndefined();
  });

  it('copies the object, and refuses values that are not strings', () => {
    const values: Record<string, Record<string, string>> = { acme: { KEY: 'one' } };
    const source = secretSourceFromObject(values);
    values.acme!.KEY = 'two';
    expect(source.read('acme', 'KEY')).toBe('one');
    expect(() => secretSourceFromObject({ acme: { KEY: 42 as unknown as string } })).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIGURATION }));
  });
});

describe('secretSourceFromEnv', () => {
  it('reads <prefix><KEY> for every tenant, from the env it is given', () => {
    const env = { BEDDEL_SECRET_API_BASE_URL: 'https://api.example', API_BASE_URL: 'unprefixed', PATH: '/usr/bin' };
    const source = secretSourceFromEnv('BEDDEL_SECRET_', env);
    expect(source.read('acme', 'API_BASE_URL')).toBe('https://api.example');
    expect(source.read('globex', 'API_BASE_URL')).toBe('https://api.example');
    expect(source.read('acme', 'PATH')).toBeUndefined();
    env.BEDDEL_SECRET_API_BASE_URL = 'changed';
    expect(source.read('acme', 'API_BASE_URL')).toBe('https://api.example');
  });

  it('refuses an empty or odd prefix', () => {
    expect(() => secretSourceFromEnv('', {})).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIGURATION }));
    expect(() => secretSourceFromEnv('BAD PREFIX', {})).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIGURATION }));
  });
});
