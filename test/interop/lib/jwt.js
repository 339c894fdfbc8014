'use strict';
// HS256 JWTs with node:crypto only.
//   sign({sub, name, color, role, collections, docs, exp}, secret)

const crypto = require('node:crypto');

const b64url = (buf) => Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

function sign(claims, secret, { alg = 'HS256' } = {}) {
  const header = b64url(JSON.stringify({ alg, typ: 'JWT' }));
  const payload = b64url(JSON.stringify(claims));
  const sig = b64url(crypto.createHmac('sha256', secret).update(`${header}.${payload}`).digest());
  return `${header}.${payload}.${sig}`;
}

// Seconds since the epoch, as JWT exp wants.
const inSeconds = (s) => Math.floor(Date.now() / 1000) + s;

module.exports = { sign, inSeconds, b64url };
