// Independent TOTP code (RFC 6238, SHA1, 6 digits, 30 s) computed by otplib.
// Usage: node totp_code.mjs <base32secret> [unixSeconds]
import { generate } from 'otplib';

const [secret, when] = process.argv.slice(2);
if (secret === undefined) {
  console.error('usage: node totp_code.mjs <base32secret> [unixSeconds]');
  process.exit(2);
}
const epoch = when === undefined ? Math.floor(Date.now() / 1000) : Number(when);
if (!Number.isInteger(epoch) || epoch < 0) {
  console.error(`invalid unixSeconds: ${when}`);
  process.exit(2);
}

try {
  console.log(await generate({ secret, epoch, algorithm: 'sha1', digits: 6, period: 30 }));
} catch (err) {
  console.error(`${err.name}: ${err.message}`);
  process.exit(1);
}
