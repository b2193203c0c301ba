// Independent check of Ardoise access tokens with jose.
// Usage: node jwt_verify.mjs <token> <secret> <issuer> <audience>
// Prints the payload as JSON and exits 0, or prints the error and exits 1.
import { jwtVerify } from 'jose';

const [token, secret, issuer, audience] = process.argv.slice(2);
if (token === undefined || secret === undefined || issuer === undefined || audience === undefined) {
  console.error('usage: node jwt_verify.mjs <token> <secret> <issuer> <audience>');
  process.exit(2);
}

try {
  const key = new TextEncoder().encode(secret);
  const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer, audience });
  console.log(JSON.stringify(payload));
  process.exit(0);
} catch (err) {
  console.log(`${err.code ?? 'ERROR'}: ${err.message}`);
  process.exit(1);
}
