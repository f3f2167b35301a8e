import { describe, expect, it } from 'vitest';
import { SDK_LANGUAGES, sdkBaseUrl, sdkSnippet } from './sdkSnippets';

const settings = {
  baseUrl: 'https://licensing.example.com',
  account: 'acct-1',
  product: 'prod-1',
  publicKey: 'e3f1a2b4',
};

describe('sdkSnippets', () => {
  it('names the four settings in every language', () => {
    for (const { id } of SDK_LANGUAGES) {
      const code = sdkSnippet(id, settings);
      for (const value of Object.values(settings)) expect(code, id).toContain(value);
    }
  });

  it('gives SDKs the origin: no trailing slash, no /v1', () => {
    expect(sdkBaseUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(sdkBaseUrl(' https://licensing.example.com/v1 ')).toBe('https://licensing.example.com');
  });
});
