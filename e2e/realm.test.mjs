// Tessera's realm as integrators use it, with the real libraries: node `jose` verifies an
// exchanged access token against the JWKS fetched over HTTP, and `oauth4webapi` validates it as
// an RFC 9068 JWT access token from the discovery document. Run by crates/cli/tests/realm_clients.rs
// with TESSERA_URL and TESSERA_PAT (a PAT of a user named jane) in the environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';

const base = process.env.TESSERA_URL;
const pat = process.env.TESSERA_PAT;
const issuer = `${base}/auth/realms/DominoRealm`;

async function exchange(subject, extra = {}) {
  const response = await fetch(`${issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subject,
      ...extra,
    }),
  });
  return { status: response.status, body: await response.json() };
}

test('jose verifies an exchanged token against the JWKS', async () => {
  const { status, body } = await exchange(pat);
  assert.equal(status, 200);
  const jwks = createRemoteJWKSet(new URL(`${issuer}/protocol/openid-connect/certs`));
  const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, {
    issuer,
    audience: 'domino-platform',
    typ: 'at+jwt',
    requiredClaims: ['sid', 'client_id', 'jti', 'iat'],
  });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.preferred_username, 'jane');
  assert.equal(payload.client_id, payload.azp);
  assert.equal(payload.given_name, undefined, 'absent claims are left out');
});

test('oauth4webapi validates it as an RFC 9068 access token', async () => {
  const options = { [oauth.allowInsecureRequests]: true };
  const discovery = await oauth.discoveryRequest(new URL(issuer), { ...options, algorithm: 'oidc' });
  const as = await oauth.processDiscoveryResponse(new URL(issuer), discovery);
  const { body } = await exchange(pat);
  const request = new Request('https://rs.example/api', {
    headers: { authorization: `Bearer ${body.access_token}` },
  });
  const claims = await oauth.validateJwtAccessToken(as, request, 'domino-platform', options);
  assert.equal(claims.preferred_username, 'jane');
  assert.ok(claims.sid);
});

test('a requested audience the realm cannot serve is invalid_target', async () => {
  const { status, body } = await exchange(pat, { audience: 'billing-service-that-does-not-exist' });
  assert.equal(status, 400);
  assert.equal(body.error, 'invalid_target');
});

test('a token with a critical header extension is refused by Tessera', async () => {
  const { body } = await exchange(pat);
  const [, payload, signature] = body.access_token.split('.');
  const header = { ...decodeProtectedHeader(body.access_token), crit: ['x-unknown'] };
  const forged = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${payload}.${signature}`;
  const response = await fetch(`${base}/v4/users/self`, { headers: { authorization: `Bearer ${forged}` } });
  assert.equal(response.status, 401);
});

test('the JWKS answers a browser origin', async () => {
  const response = await fetch(`${issuer}/protocol/openid-connect/certs`, {
    headers: { origin: 'https://app.example' },
  });
  assert.equal(response.headers.get('access-control-allow-origin'), '*');
});
