// Stripe webhook signatures computed by the official `stripe` package.
//   node stripe_sign.mjs sign PAYLOAD SECRET TIMESTAMP   prints the Stripe-Signature header
//   node stripe_sign.mjs verify PAYLOAD HEADER SECRET    prints the event id, or exits 1 with the reason
import Stripe from 'stripe';

const [mode, payload, a, b] = process.argv.slice(2);
const stripe = new Stripe('sk_test_unused');
if (mode === 'sign' && payload !== undefined && a && b) {
  process.stdout.write(stripe.webhooks.generateTestHeaderString({ payload, secret: a, timestamp: Number(b) }));
} else if (mode === 'verify' && payload !== undefined && a && b) {
  try {
    process.stdout.write(stripe.webhooks.constructEvent(payload, a, b).id);
  } catch (e) {
    process.stdout.write(String(e.message));
    process.exit(1);
  }
} else {
  console.error('usage: node stripe_sign.mjs sign PAYLOAD SECRET TIMESTAMP | verify PAYLOAD HEADER SECRET');
  process.exit(2);
}
