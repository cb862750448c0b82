import { describe, expect, it } from 'vitest';
import { tenantDirectoryName } from './tenant-directory-name.js';

describe('tenantDirectoryName', () => {
  it('keeps plain ids readable and escapes everything else', () => {
    expect(tenantDirectoryName('acme-01')).toBe('t-acme-01');
    expect(tenantDirectoryName('Acme.eu:1')).toBe('t-_41cme_2eeu_3a1');
  });

  it('cannot produce a path that escapes the log directory', () => {
    for (const id of ['..', '.', '...', '..:..', 'a..b']) {
      const name = tenantDirectoryName(id);
      expect(name).toMatch(/^t-[a-z0-9_-]+$/);
      expect(name).not.toContain('.');
    }
    for (const hostile of ['../etc', '..\\x', '/abs', 'a/b', '', 'nul\0']) expect(() => tenantDirectoryName(hostile)).toThrow(/Invalid tenant id/);
  });

  it('is injective and case-distinct (case-insensitive file systems)', () => {
    const ids = ['a', 'A', '_', 'a.b', 'a:b', 'a-b', 'a_2eb'.replace('_', '.'), 'x'.repeat(128), 'X'.repeat(66), 'X'.repeat(67)];
    const names = ids.filter((id) => /^[A-Za-z0-9._:-]+$/.test(id)).map(tenantDirectoryName);
    expect(new Set(names.map((name) => name.toLowerCase())).size).toBe(names.length);
  });

  it('hashes ids whose encoding would be too long for a file name', () => {
    expect(tenantDirectoryName('X'.repeat(66))).toMatch(/^t-/);
    expect(tenantDirectoryName('X'.repeat(128))).toMatch(/^h-[0-9a-f]{64}$/);
  });
});
