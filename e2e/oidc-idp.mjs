// A real OpenID provider for Tessera's single sign-on tests: the certified `oidc-provider`
// package on loopback, with its development login and consent pages.
//
//   node oidc-idp.mjs STATE_FILE
//
// STATE_FILE (JSON) is re-read on every use, so a test changes a person's groups between two
// sign-ins by rewriting it:
//   {
//     "accounts": { "ann": { "preferred_username": "ann", "email": "...", "groups": [...], ... } },
//     "misbehave": { "id_token": { "aud": "someone-else" }, "rotate_key": true,
//                    "userinfo": { "sub": "someone-else" }, "token": "not-json" }
//   }
// `misbehave` makes the provider answer like a broken or hostile one, for the refusal tests:
// `id_token` claims are overwritten in the ID token of the next token responses (re-signed with
// the provider's key, so only the claim is wrong); `rotate_key` signs ID tokens with a second
// key that only a fresh fetch of the JWKS shows; `unknown_key` signs them with a key the JWKS
// never shows (kid "second"); `userinfo` claims are overwritten in userinfo
// answers; `token` garbles the token endpoint's successful answer: "not-json" (a JSON content
// type over a body that is not JSON), "no-id-token", "bad-signature" (the ID token's signature
// altered) or "server-error" (HTTP 503); `huge` ("discovery", "jwks", "token" or "userinfo")
// pads that endpoint's JSON answer with a 2 MiB `padding` field; `iss_parameter:
// "unsupported"` makes it a provider without RFC 9207 (no `iss` in its authorization responses,
// no `authorization_response_iss_parameter_supported` in its discovery document; oidc-provider
// sends and announces both by default); `discovery: "server-error"` makes the discovery
// document answer HTTP 500. `GET /_test/counts` answers how many requests each endpoint had
// (`{ "token": 3, "userinfo": 0, "discovery": 1, "jwks": 1 }`), for the tests that check what
// reached the provider. Prints
// `listening <issuer>` once ready.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const stateFile = process.argv[2];
if (!stateFile) {
  console.error('usage: node oidc-idp.mjs STATE_FILE');
  process.exit(2);
}
const readState = () => JSON.parse(readFileSync(stateFile, 'utf8'));

async function rsaKey(kid) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}
const first = await rsaKey('first');
const second = await rsaKey('second');
const publicPart = ({ d, p, q, dp, dq, qi, ...pub }) => pub;

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
// `issuer_trailing_slash: true` (read once, at start) gives the issuer a trailing slash, as
// Auth0's `https://<tenant>.auth0.com/` has: the relying party must keep it exactly.
const slash = readState().issuer_trailing_slash ? '/' : '';
const issuer = `http://127.0.0.1:${server.address().port}${slash}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'tessera',
      client_secret: 'tessera-client-secret',
      // A native client: any port on a loopback redirect URI is allowed (RFC 8252 §7.3), so
      // the test's Tessera can listen on a port chosen by the system.
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/ui/sso/corp/callback', 'http://127.0.0.1/ui/sso/other/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  jwks: { keys: [first] },
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'given_name', 'family_name', 'name'],
    email: ['email', 'email_verified'],
    groups: ['groups', 'department', 'cost_center'],
  },
  scopes: ['openid', 'profile', 'email', 'groups'],
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(_ctx, id) {
    const account = readState().accounts?.[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
  cookies: { keys: ['a test cookie key'] },
});

const counts = { token: 0, userinfo: 0, discovery: 0, jwks: 0 };

provider.use(async (ctx, next) => {
  if (ctx.path === '/token') counts.token += 1;
  if (ctx.path === '/me') counts.userinfo += 1;
  if (ctx.path === '/.well-known/openid-configuration') counts.discovery += 1;
  if (ctx.path === '/jwks') counts.jwks += 1;
  if (ctx.path === '/.well-known/openid-configuration' && readState().misbehave?.discovery === 'server-error') {
    ctx.status = 500;
    ctx.body = 'discovery is down';
    ctx.type = 'text/plain';
    return;
  }
  await next();
  const misbehave = readState().misbehave ?? {};
  if (misbehave.iss_parameter === 'unsupported') {
    if (ctx.path === '/.well-known/openid-configuration' && ctx.status === 200) {
      const { authorization_response_iss_parameter_supported, ...rest } = ctx.body;
      ctx.body = rest;
    }
    const location = ctx.response.get('Location');
    if (location && location.includes('/callback')) {
      const url = new URL(location);
      url.searchParams.delete('iss');
      ctx.response.set('Location', url.toString());
    }
  }
  const endpoints = { discovery: '/.well-known/openid-configuration', jwks: '/jwks', token: '/token', userinfo: '/me' };
  if (misbehave.huge && ctx.path === endpoints[misbehave.huge] && ctx.status === 200) {
    ctx.body = { ...ctx.body, padding: 'x'.repeat(2 * 1024 * 1024) };
  }
  if (ctx.path === '/jwks' && misbehave.rotate_key) {
    ctx.body = { keys: [publicPart(first), publicPart(second)] };
  }
  if (ctx.path === '/me' && ctx.status === 200 && misbehave.userinfo) {
    ctx.body = { ...ctx.body, ...misbehave.userinfo };
  }
  if (ctx.path === '/token' && ctx.status === 200 && misbehave.token) {
    const answer = ctx.body;
    if (misbehave.token === 'not-json') {
      ctx.body = '<html>surprise</html>';
      ctx.type = 'application/json';
    } else if (misbehave.token === 'no-id-token') {
      const { id_token, ...rest } = answer;
      ctx.body = rest;
    } else if (misbehave.token === 'bad-signature') {
      const [header, payload, signature] = answer.id_token.split('.');
      const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
      ctx.body = { ...answer, id_token: `${header}.${payload}.${flipped}` };
    } else if (misbehave.token === 'server-error') {
      ctx.status = 503;
      ctx.body = 'down for maintenance';
      ctx.type = 'text/plain';
    }
    return;
  }
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token) {
    if (!misbehave.id_token && !misbehave.rotate_key && !misbehave.unknown_key) return;
    const payload = jose.decodeJwt(ctx.body.id_token);
    const key = misbehave.rotate_key || misbehave.unknown_key ? second : first;
    ctx.body = {
      ...ctx.body,
      id_token: await new jose.SignJWT({ ...payload, ...(misbehave.id_token ?? {}) })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid })
        .sign(await jose.importJWK(key, 'RS256')),
    };
  }
});

const handle = provider.callback();
server.on('request', (req, res) => {
  if (req.url === '/_test/counts') {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(counts));
    return;
  }
  handle(req, res);
});
console.log(`listening ${issuer}`);
