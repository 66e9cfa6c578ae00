import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UrlSigner } from './signing.ts';

const signer = new UrlSigner('a-test-secret-of-at-least-thirty-two-chars');
const scope = { tenantId: randomUUID(), videoId: randomUUID(), expires: Math.floor(Date.now() / 1000) + 60 };
const parts = (p: string) => p.split('/');

describe('signed capability URLs', () => {
  it('verify what they signed, until the expiry', () => {
    expect(signer.verify('playback', parts(signer.path('playback', scope)))).toEqual({ ok: true, scope });
    expect(signer.verify('playback', parts(signer.path('playback', scope)), scope.expires)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuse a changed character, another video, organization, expiry or purpose', () => {
    const [t, v, e, sig] = parts(signer.path('playback', scope)) as [string, string, string, string];
    const flipped = `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    expect(signer.verify('playback', [t, v, e, flipped])).toEqual({ ok: false, reason: 'bad signature' });
    expect(signer.verify('playback', [t, randomUUID(), e, sig])).toEqual({ ok: false, reason: 'bad signature' });
    expect(signer.verify('playback', [randomUUID(), v, e, sig])).toEqual({ ok: false, reason: 'bad signature' });
    expect(signer.verify('playback', [t, v, String(Number(e) + 1), sig])).toEqual({ ok: false, reason: 'bad signature' });
    expect(signer.verify('upload', [t, v, e, sig])).toEqual({ ok: false, reason: 'bad signature' });
    expect(signer.verify('playback', [t, v, e])).toEqual({ ok: false, reason: 'malformed URL' });
    expect(signer.verify('playback', ['x', v, e, sig])).toEqual({ ok: false, reason: 'malformed URL' });
  });

  it('derive a key per organization, and another secret signs differently', () => {
    expect(signer.key(scope.tenantId, 'playback').equals(signer.key(randomUUID(), 'playback'))).toBe(false);
    const other = new UrlSigner('another-test-secret-of-thirty-two-chars');
    expect(other.verify('playback', parts(signer.path('playback', scope)))).toEqual({ ok: false, reason: 'bad signature' });
  });
});
