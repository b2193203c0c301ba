// A small stateful stand-in for Stripe's API, for behaviour tests.
//
//   node stripe_fake.mjs [--port N] [--spec stripe-openapi.json]
//   prints "stripe fake listening on http://127.0.0.1:PORT" once it listens.
//
// What it does like Stripe (API version 2023-08-16):
// * every request is checked against Stripe's full OpenAPI document: the path
//   and method must exist, form and query parameters must be known and of the
//   right type (400 invalid_request_error parameter_unknown / parameter_missing
//   / parameter_invalid_integer …), before anything else happens;
// * the secret key (Bearer) names an account: objects, idempotency keys,
//   faults and webhook endpoints are per account, so concurrent tests using
//   different keys never see each other;
// * Idempotency-Key on a POST: the first response (even an error from the API
//   itself) is stored and replayed with `Idempotent-Replayed: true`; the same
//   key with other parameters or on another endpoint answers 400
//   idempotency_error; a request refused by validation stores nothing;
// * customers, products, prices, Checkout Sessions (subscription mode),
//   Billing Portal sessions, subscriptions (retrieve, update with proration,
//   cancel_at_period_end, delete), invoices, invoice items (prorations),
//   events (each a snapshot of the object when it happened).
//
// Test controls (same Bearer key; not part of Stripe's API):
//   POST /__fake/webhook  {url, secret}            where and how events are delivered
//   POST /__fake/fault    {path, method?, times?, status?, mode?, delay_ms?, drop?}
//        mode "before" (default): answer `status` without running the request
//        mode "after": run and store the request, then answer `status` (a lost answer)
//        mode "stored": the API's own error, stored under the idempotency key
//        delay_ms: wait before handling; drop: close the connection unanswered
//   POST /__fake/checkout_sessions/{id}/complete  {payment: "succeeds"|"fails"}
//   POST /__fake/invoices/{id}/pay
//   POST /__fake/clock    {advance_seconds}        moves the account's clock forward
//   POST /__fake/deliver  {events?: [ids], times?, secret?, timestamp?, tamper?}
//        signs each event with the official `stripe` package and posts it;
//        without `events`, every event not yet delivered, oldest first
//   GET  /__fake/state    the account's objects and the requests it received
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const port = Number(option('--port', '0'));
const specPath = option('--spec', process.env.ARDOISE_STRIPE_FULL_SPEC ||
  path.resolve(here, '../../../shared/specs/stripe-openapi.json'));
const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
const signer = new Stripe('sk_test_fake_signer');
const API_VERSION = '2023-08-16';

// ---------------------------------------------------------------- the spec

const operations = Object.entries(spec.paths).map(([template, item]) => {
  const names = [];
  const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}]+)\\?\}/g, (_, n) => {
    names.push(n);
    return '([^/]+)';
  });
  return { template, item, names, regex: new RegExp('^' + source + '$'), literal: template.split('{').length };
});
// Literal segments win over templates (/v1/invoices/upcoming before /v1/invoices/{invoice}).
operations.sort((a, b) => a.literal - b.literal);

function findOperation(method, pathname) {
  for (const op of operations) {
    const m = op.regex.exec(pathname);
    if (m && op.item[method.toLowerCase()]) {
      const params = {};
      op.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
      return { template: op.template, operation: op.item[method.toLowerCase()], params };
    }
  }
  return null;
}

function resolve(schema) {
  let s = schema;
  while (s && s.$ref) {
    const parts = s.$ref.replace(/^#\//, '').split('/');
    s = parts.reduce((o, k) => o[k], spec);
  }
  return s;
}

class ParamError extends Error {
  constructor(code, message, param) {
    super(message);
    this.code = code;
    this.param = param;
  }
}

// Form and query strings with Stripe's brackets: a[b][0][c]=v, expand[]=x.
function parseBracketed(text) {
  const root = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const m = /^([^[\]]+)((?:\[[^\]]*\])*)$/.exec(rawKey);
    if (!m) {
      throw new ParamError('parameter_unknown', `Received unknown parameter: ${rawKey}`, rawKey);
    }
    const keys = [m[1], ...[...m[2].matchAll(/\[([^\]]*)\]/g)].map((x) => x[1])];
    let node = root;
    for (let i = 0; i < keys.length; i++) {
      let k = keys[i];
      const last = i === keys.length - 1;
      if (k === '') {
        k = String(Object.keys(node).length);
      }
      if (last) {
        node[k] = value;
      } else {
        if (typeof node[k] !== 'object' || node[k] === null) {
          node[k] = {};
        }
        node = node[k];
      }
    }
  }
  return root;
}

const isIntegerText = (v) => typeof v === 'string' && /^-?\d+$/.test(v);

// Checks `value` (strings and nested objects from the form) against
// `schema`; returns the value with its types (integers, booleans, arrays).
function coerce(value, schemaIn, name) {
  const schema = resolve(schemaIn) || {};
  if (schema.anyOf) {
    let firstError = null;
    for (const alternative of schema.anyOf) {
      try {
        return coerce(value, alternative, name);
      } catch (e) {
        if (!(e instanceof ParamError)) {
          throw e;
        }
        // An error deeper in an object is more telling than a type mismatch.
        if (!firstError || (e.code !== 'parameter_invalid_type' && firstError.code === 'parameter_invalid_type')) {
          firstError = e;
        }
      }
    }
    throw firstError;
  }
  if (schema.enum && typeof value === 'string' && !schema.enum.includes(value)) {
    if (schema.enum.length === 1 && schema.enum[0] === '') {
      throw new ParamError('parameter_invalid_type', `Invalid ${name}: must be an object or empty`, name);
    }
    throw new ParamError('parameter_invalid_empty',
      `Invalid ${name}: must be one of ${schema.enum.join(', ')}`, name);
  }
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') {
        throw new ParamError('parameter_invalid_type', `Invalid string: ${name} must be a string`, name);
      }
      if (schema.maxLength !== undefined && value.length > schema.maxLength) {
        throw new ParamError('parameter_invalid_string', `Invalid ${name}: must be at most ${schema.maxLength} characters`, name);
      }
      return value;
    case 'integer':
      if (!isIntegerText(value)) {
        throw new ParamError('parameter_invalid_integer', `Invalid integer: ${typeof value === 'string' ? value : name}`, name);
      }
      return Number(value);
    case 'number':
      if (typeof value !== 'string' || value.trim() === '' || Number.isNaN(Number(value))) {
        throw new ParamError('parameter_invalid_integer', `Invalid decimal: ${name}`, name);
      }
      return Number(value);
    case 'boolean':
      if (value !== 'true' && value !== 'false') {
        throw new ParamError('parameter_invalid_type', `Invalid boolean: ${typeof value === 'string' ? value : name}`, name);
      }
      return value === 'true';
    case 'array': {
      if (typeof value !== 'object' || value === null) {
        throw new ParamError('parameter_invalid_type', `Invalid array: ${name}`, name);
      }
      const keys = Object.keys(value);
      if (!keys.every(isIntegerText)) {
        throw new ParamError('parameter_invalid_type', `Invalid array: ${name}`, name);
      }
      return keys.sort((a, b) => Number(a) - Number(b)).map((k) => coerce(value[k], schema.items, `${name}[${k}]`));
    }
    case 'object': {
      if (typeof value !== 'object' || value === null) {
        throw new ParamError('parameter_invalid_type', `Invalid object: ${name}`, name);
      }
      const out = {};
      const properties = schema.properties || {};
      for (const [k, v] of Object.entries(value)) {
        const child = name ? `${name}[${k}]` : k;
        if (properties[k]) {
          out[k] = coerce(v, properties[k], child);
        } else if (schema.additionalProperties && schema.additionalProperties !== false) {
          out[k] = schema.additionalProperties === true ? v : coerce(v, schema.additionalProperties, child);
        } else {
          throw new ParamError('parameter_unknown', `Received unknown parameter: ${child}`, child);
        }
      }
      for (const required of schema.required || []) {
        if (!(required in value)) {
          const child = name ? `${name}[${required}]` : required;
          throw new ParamError('parameter_missing', `Missing required param: ${child}.`, child);
        }
      }
      return out;
    }
    default:
      return value;
  }
}

// The request's parameters, typed, or a ParamError.
function validate(method, found, query, body) {
  const op = found.operation;
  for (const p of op.parameters || []) {
    if (p.in === 'path') {
      coerce(found.params[p.name], p.schema, p.name);
    }
  }
  const queryParams = {};
  const declared = Object.fromEntries((op.parameters || []).filter((p) => p.in === 'query').map((p) => [p.name, p]));
  for (const [k, v] of Object.entries(parseBracketed(query))) {
    if (!declared[k]) {
      throw new ParamError('parameter_unknown', `Received unknown parameter: ${k}`, k);
    }
    queryParams[k] = coerce(v, declared[k].schema, k);
  }
  for (const p of Object.values(declared)) {
    if (p.required && !(p.name in queryParams)) {
      throw new ParamError('parameter_missing', `Missing required param: ${p.name}.`, p.name);
    }
  }
  let bodyParams = {};
  const form = parseBracketed(body);
  const schema = op.requestBody?.content?.['application/x-www-form-urlencoded']?.schema;
  if (schema) {
    bodyParams = coerce(form, schema, '');
  } else if (Object.keys(form).length > 0) {
    const k = Object.keys(form)[0];
    throw new ParamError('parameter_unknown', `Received unknown parameter: ${k}`, k);
  }
  return { ...queryParams, ...bodyParams };
}

// ---------------------------------------------------------------- state

const accounts = new Map();
function account(key) {
  if (!accounts.has(key)) {
    accounts.set(key, {
      customers: new Map(), products: new Map(), prices: new Map(), sessions: new Map(), portalSessions: new Map(),
      subscriptions: new Map(), invoices: new Map(), invoiceItems: new Map(), events: [], delivered: new Set(),
      idempotency: new Map(), faults: [], webhook: null, requests: [], clockOffset: 0,
    });
  }
  return accounts.get(key);
}

// The account's clock, which a test may move forward (like Stripe's test
// clocks); set from the account before each request is handled.
let clockOffset = 0;
const now = () => Math.floor(Date.now() / 1000) + clockOffset;
const newId = (prefix) => `${prefix}_${crypto.randomBytes(12).toString('hex')}`;
const clone = (o) => JSON.parse(JSON.stringify(o));

class ApiError extends Error {
  constructor(status, type, message, code, param) {
    super(message);
    Object.assign(this, { status, type, code, param });
  }
  body() {
    const error = { type: this.type, message: this.message };
    if (this.code) {
      error.code = this.code;
    }
    if (this.param) {
      error.param = this.param;
    }
    return { error };
  }
}
const missing = (kind, id, param) =>
  new ApiError(404, 'invalid_request_error', `No such ${kind}: '${id}'`, 'resource_missing', param);

function emit(acct, type, object, previous) {
  const event = {
    id: newId('evt'), object: 'event', api_version: API_VERSION, created: now(),
    data: previous ? { object: clone(object), previous_attributes: previous } : { object: clone(object) },
    livemode: false, pending_webhooks: acct.webhook ? 1 : 0, request: { id: null, idempotency_key: null }, type,
  };
  acct.events.push(event);
  return event;
}

const list = (url, data) => ({ object: 'list', url, has_more: false, data });

function get(map, kind, id, param) {
  const o = map.get(id);
  if (!o) {
    throw missing(kind, id, param);
  }
  return o;
}

const addMonths = (t, n) => {
  const d = new Date(t * 1000);
  d.setUTCMonth(d.getUTCMonth() + n);
  return Math.floor(d.getTime() / 1000);
};
const periodEnd = (start, recurring) => {
  const count = recurring.interval_count || 1;
  switch (recurring.interval) {
    case 'year': return addMonths(start, 12 * count);
    case 'week': return start + 7 * 86400 * count;
    case 'day': return start + 86400 * count;
    default: return addMonths(start, count);
  }
};

function makeInvoice(acct, sub, lines, reason) {
  const amount = lines.reduce((s, l) => s + l.amount, 0);
  const invoice = {
    id: newId('in'), object: 'invoice', customer: sub.customer, subscription: sub.id, status: 'open',
    amount_due: amount, amount_paid: 0, amount_remaining: amount, currency: sub.currency,
    billing_reason: reason, created: now(), period_start: sub.current_period_start, period_end: sub.current_period_end,
    hosted_invoice_url: null, lines: list('/v1/invoices/lines', lines), livemode: false, paid: false,
    subscription_details: { metadata: clone(sub.metadata) },
  };
  invoice.hosted_invoice_url = `https://invoice.stripe.com/i/${invoice.id}`;
  acct.invoices.set(invoice.id, invoice);
  emit(acct, 'invoice.created', invoice);
  emit(acct, 'invoice.finalized', invoice);
  return invoice;
}

function payInvoice(acct, invoice) {
  invoice.status = 'paid';
  invoice.paid = true;
  invoice.amount_paid = invoice.amount_due;
  invoice.amount_remaining = 0;
  emit(acct, 'invoice.paid', invoice);
  const sub = invoice.subscription && acct.subscriptions.get(invoice.subscription);
  if (sub && ['incomplete', 'past_due', 'unpaid'].includes(sub.status)) {
    const previous = { status: sub.status };
    sub.status = 'active';
    emit(acct, 'customer.subscription.updated', sub, previous);
  }
}

// ---------------------------------------------------------------- the API

const handlers = {
  'POST /v1/customers': (acct, p) => {
    const c = {
      id: newId('cus'), object: 'customer', created: now(), livemode: false, name: p.name ?? null,
      email: p.email ?? null, description: p.description ?? null, metadata: p.metadata || {},
    };
    acct.customers.set(c.id, c);
    emit(acct, 'customer.created', c);
    return c;
  },
  'GET /v1/customers/{customer}': (acct, p, path) => get(acct.customers, 'customer', path.customer),
  'GET /v1/customers': (acct) => list('/v1/customers', [...acct.customers.values()].reverse()),
  'POST /v1/products': (acct, p) => {
    const product = { id: p.id || newId('prod'), object: 'product', name: p.name, active: true, metadata: p.metadata || {},
      created: now(), livemode: false };
    acct.products.set(product.id, product);
    return product;
  },
  'POST /v1/prices': (acct, p) => {
    if (!p.product || !acct.products.has(p.product)) {
      throw missing('product', p.product ?? '', 'product');
    }
    if (p.unit_amount === undefined) {
      throw new ApiError(400, 'invalid_request_error', 'Missing required param: unit_amount.', 'parameter_missing', 'unit_amount');
    }
    const price = {
      id: newId('price'), object: 'price', active: true, currency: p.currency.toLowerCase(), product: p.product,
      unit_amount: p.unit_amount, recurring: p.recurring ? { interval: p.recurring.interval,
        interval_count: p.recurring.interval_count || 1 } : null,
      type: p.recurring ? 'recurring' : 'one_time', metadata: p.metadata || {}, created: now(), livemode: false,
    };
    acct.prices.set(price.id, price);
    return price;
  },
  'GET /v1/prices/{price}': (acct, p, path) => get(acct.prices, 'price', path.price),
  'POST /v1/checkout/sessions': (acct, p) => {
    if (p.mode !== 'subscription') {
      throw new ApiError(400, 'invalid_request_error', 'This stand-in only sells subscriptions (mode=subscription).',
        'parameter_invalid_empty', 'mode');
    }
    if (p.customer && !acct.customers.has(p.customer)) {
      throw missing('customer', p.customer, 'customer');
    }
    const items = p.line_items || [];
    if (items.length === 0) {
      throw new ApiError(400, 'invalid_request_error', 'Missing required param: line_items.', 'parameter_missing', 'line_items');
    }
    items.forEach((item, i) => {
      const price = acct.prices.get(item.price);
      if (!price) {
        throw missing('price', item.price ?? '', `line_items[${i}][price]`);
      }
      if (!price.recurring) {
        throw new ApiError(400, 'invalid_request_error',
          'You must provide at least one recurring price in `subscription` mode when using prices.', null, 'line_items');
      }
    });
    const session = {
      id: newId('cs_test'), object: 'checkout.session', mode: 'subscription', status: 'open', payment_status: 'unpaid',
      customer: p.customer ?? null, client_reference_id: p.client_reference_id ?? null, subscription: null,
      success_url: p.success_url ?? null, cancel_url: p.cancel_url ?? null, metadata: p.metadata || {},
      created: now(), expires_at: now() + 86400, livemode: false, url: null,
      // Kept for the completion; Stripe returns line items only through their own endpoint.
      _line_items: items.map((i) => ({ price: i.price, quantity: i.quantity ?? 1 })),
      _subscription_data: p.subscription_data || {},
    };
    session.url = `https://checkout.stripe.com/c/pay/${session.id}`;
    acct.sessions.set(session.id, session);
    return session;
  },
  'GET /v1/checkout/sessions/{session}': (acct, p, path) => get(acct.sessions, 'checkout.session', path.session),
  'POST /v1/billing_portal/sessions': (acct, p) => {
    if (!acct.customers.has(p.customer)) {
      throw missing('customer', p.customer, 'customer');
    }
    const s = { id: newId('bps'), object: 'billing_portal.session', customer: p.customer, return_url: p.return_url ?? null,
      created: now(), livemode: false, url: null };
    s.url = `https://billing.stripe.com/p/session/${s.id}`;
    acct.portalSessions.set(s.id, s);
    return s;
  },
  'GET /v1/subscriptions/{subscription_exposed_id}': (acct, p, path) =>
    get(acct.subscriptions, 'subscription', path.subscription_exposed_id),
  'GET /v1/subscriptions': (acct, p) => list('/v1/subscriptions', [...acct.subscriptions.values()]
    .filter((s) => !p.customer || s.customer === p.customer).reverse()),
  'POST /v1/subscriptions/{subscription_exposed_id}': (acct, p, path) => {
    const sub = get(acct.subscriptions, 'subscription', path.subscription_exposed_id);
    if (sub.status === 'canceled') {
      throw new ApiError(400, 'invalid_request_error',
        'A canceled subscription can only update its cancellation_details and metadata.', null, null);
    }
    const previous = {};
    if (p.metadata) {
      previous.metadata = clone(sub.metadata);
      Object.assign(sub.metadata, p.metadata);
    }
    if (p.cancel_at_period_end !== undefined && p.cancel_at_period_end !== sub.cancel_at_period_end) {
      previous.cancel_at_period_end = sub.cancel_at_period_end;
      sub.cancel_at_period_end = p.cancel_at_period_end;
      sub.cancel_at = p.cancel_at_period_end ? sub.current_period_end : null;
    }
    if (p.items) {
      previous.items = clone(sub.items);
      for (const [i, change] of p.items.entries()) {
        const item = sub.items.data.find((x) => x.id === change.id);
        if (!item) {
          throw missing('subscription_item', change.id ?? '', `items[${i}][id]`);
        }
        const newPrice = change.price ? acct.prices.get(change.price) : item.price;
        if (!newPrice) {
          throw missing('price', change.price, `items[${i}][price]`);
        }
        const quantity = change.quantity ?? item.quantity;
        if (p.proration_behavior !== 'none' && sub.status !== 'trialing') {
          // Unused time on the old price credited, remaining time on the new one charged.
          const span = sub.current_period_end - sub.current_period_start;
          const left = Math.max(0, sub.current_period_end - now());
          const credit = -Math.round((item.price.unit_amount * item.quantity * left) / span);
          const charge = Math.round((newPrice.unit_amount * quantity * left) / span);
          for (const [amount, price, q] of [[credit, item.price, item.quantity], [charge, newPrice, quantity]]) {
            const ii = { id: newId('ii'), object: 'invoiceitem', customer: sub.customer, subscription: sub.id,
              amount, currency: sub.currency, proration: true, price: clone(price), quantity: q, date: now(),
              description: `${amount < 0 ? 'Unused' : 'Remaining'} time on ${price.id}`, livemode: false };
            acct.invoiceItems.set(ii.id, ii);
          }
        }
        item.price = clone(newPrice);
        item.quantity = quantity;
      }
    }
    if (Object.keys(previous).length > 0) {
      emit(acct, 'customer.subscription.updated', sub, previous);
    }
    return sub;
  },
  'DELETE /v1/subscriptions/{subscription_exposed_id}': (acct, p, path) => {
    const sub = get(acct.subscriptions, 'subscription', path.subscription_exposed_id);
    if (sub.status === 'canceled') {
      throw new ApiError(404, 'invalid_request_error', `No such subscription: '${sub.id}'`, 'resource_missing', 'id');
    }
    sub.status = 'canceled';
    sub.canceled_at = now();
    sub.ended_at = now();
    emit(acct, 'customer.subscription.deleted', sub);
    return sub;
  },
  'GET /v1/invoices/{invoice}': (acct, p, path) => get(acct.invoices, 'invoice', path.invoice),
  'GET /v1/invoices': (acct, p) => list('/v1/invoices', [...acct.invoices.values()]
    .filter((i) => (!p.subscription || i.subscription === p.subscription) && (!p.customer || i.customer === p.customer))
    .reverse()),
  'GET /v1/invoiceitems': (acct, p) => list('/v1/invoiceitems', [...acct.invoiceItems.values()]
    .filter((i) => !p.customer || i.customer === p.customer).reverse()),
  'GET /v1/events/{id}': (acct, p, path) => {
    const e = acct.events.find((x) => x.id === path.id);
    if (!e) {
      throw missing('event', path.id, 'id');
    }
    return e;
  },
  'GET /v1/events': (acct, p) => list('/v1/events', [...acct.events]
    .filter((e) => !p.type || e.type === p.type).reverse()),
};

// ---------------------------------------------------------------- controls

function completeSession(acct, id, payment) {
  const session = get(acct.sessions, 'checkout.session', id);
  if (session.status !== 'open') {
    throw new ApiError(400, 'invalid_request_error', `The Checkout Session ${id} is ${session.status}.`);
  }
  const start = now();
  const first = acct.prices.get(session._line_items[0].price);
  const trialDays = session._subscription_data.trial_period_days || 0;
  const sub = {
    id: newId('sub'), object: 'subscription', customer: session.customer, status: 'incomplete', created: start,
    currency: first.currency, cancel_at_period_end: false, cancel_at: null, canceled_at: null, ended_at: null,
    current_period_start: start, current_period_end: trialDays ? start + trialDays * 86400 : periodEnd(start, first.recurring),
    trial_start: trialDays ? start : null, trial_end: trialDays ? start + trialDays * 86400 : null,
    metadata: clone(session._subscription_data.metadata || {}), livemode: false, latest_invoice: null,
    items: list('/v1/subscription_items', session._line_items.map((li) => ({
      id: newId('si'), object: 'subscription_item', price: clone(acct.prices.get(li.price)), quantity: li.quantity,
      created: start,
    }))),
  };
  acct.subscriptions.set(sub.id, sub);
  const lines = sub.items.data.map((item) => ({
    id: newId('il'), object: 'line_item', amount: trialDays ? 0 : item.price.unit_amount * item.quantity,
    currency: sub.currency, price: clone(item.price), quantity: item.quantity, proration: false,
  }));
  const succeeds = payment !== 'fails' || trialDays > 0;
  if (succeeds) {
    sub.status = trialDays ? 'trialing' : 'active';
  }
  session.status = 'complete';
  session.payment_status = succeeds ? (trialDays ? 'no_payment_required' : 'paid') : 'unpaid';
  session.subscription = sub.id;
  emit(acct, 'customer.subscription.created', sub);
  const invoice = makeInvoice(acct, sub, lines, 'subscription_create');
  sub.latest_invoice = invoice.id;
  if (succeeds) {
    payInvoice(acct, invoice);
  } else {
    emit(acct, 'invoice.payment_failed', invoice);
  }
  emit(acct, 'checkout.session.completed', session);
  return { session, subscription: sub, invoice };
}

async function deliver(acct, request) {
  if (!acct.webhook) {
    throw new ApiError(400, 'invalid_request_error', 'No webhook endpoint: POST /__fake/webhook {url, secret} first.');
  }
  const chosen = request.events
    ? request.events.map((id) => {
      const e = acct.events.find((x) => x.id === id);
      if (!e) {
        throw missing('event', id, 'events');
      }
      return e;
    })
    : acct.events.filter((e) => !acct.delivered.has(e.id));
  const results = [];
  for (const event of chosen) {
    for (let n = 0; n < (request.times || 1); n++) {
      const payload = JSON.stringify(event, null, 2);
      const header = signer.webhooks.generateTestHeaderString({
        payload, secret: request.secret || acct.webhook.secret,
        ...(request.timestamp !== undefined ? { timestamp: request.timestamp } : {}),
      });
      // A tampered body keeps the signature made for the original one.
      const sent = request.tamper ? payload.replace(`"${event.type}"`, `"${event.type}" `) + ' ' : payload;
      try {
        const r = await fetch(acct.webhook.url, {
          method: 'POST', body: sent,
          headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': header,
            'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
        });
        const text = await r.text();
        if (r.status >= 200 && r.status < 300) {
          acct.delivered.add(event.id);
        }
        results.push({ event: event.id, type: event.type, status: r.status, body: text });
      } catch (e) {
        results.push({ event: event.id, type: event.type, status: 0, body: String(e.message) });
      }
    }
  }
  return { deliveries: results };
}

function state(acct) {
  const strip = (o) => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('_')));
  return {
    customers: [...acct.customers.values()], prices: [...acct.prices.values()],
    checkout_sessions: [...acct.sessions.values()].map(strip), subscriptions: [...acct.subscriptions.values()],
    invoices: [...acct.invoices.values()], invoice_items: [...acct.invoiceItems.values()],
    events: acct.events.map((e) => ({ id: e.id, type: e.type, delivered: acct.delivered.has(e.id) })),
    requests: acct.requests,
  };
}

async function control(acct, method, pathname, body) {
  const input = body ? JSON.parse(body) : {};
  let m;
  if (method === 'POST' && pathname === '/__fake/webhook') {
    acct.webhook = { url: input.url, secret: input.secret };
    return acct.webhook;
  }
  if (method === 'POST' && pathname === '/__fake/fault') {
    const fault = { method: input.method || 'POST', path: input.path, times: input.times ?? 1, status: input.status ?? 500,
      mode: input.mode || 'before', delay_ms: input.delay_ms || 0, drop: !!input.drop };
    acct.faults.push(fault);
    return fault;
  }
  if (method === 'POST' && (m = /^\/__fake\/checkout_sessions\/([^/]+)\/complete$/.exec(pathname))) {
    return completeSession(acct, m[1], input.payment);
  }
  if (method === 'POST' && (m = /^\/__fake\/invoices\/([^/]+)\/pay$/.exec(pathname))) {
    const invoice = get(acct.invoices, 'invoice', m[1]);
    if (invoice.status !== 'paid') {
      payInvoice(acct, invoice);
    }
    return invoice;
  }
  if (method === 'POST' && pathname === '/__fake/clock') {
    acct.clockOffset += Number(input.advance_seconds || 0);
    clockOffset = acct.clockOffset;
    return { now: now(), offset: acct.clockOffset };
  }
  if (method === 'POST' && pathname === '/__fake/deliver') {
    return deliver(acct, input);
  }
  if (method === 'GET' && pathname === '/__fake/state') {
    return state(acct);
  }
  throw new ApiError(404, 'invalid_request_error', `Unknown control ${method} ${pathname}`);
}

// ---------------------------------------------------------------- the server

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': newId('req'),
    'Stripe-Version': API_VERSION, ...headers });
  res.end(text);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function takeFault(acct, method, template, pathname) {
  const i = acct.faults.findIndex((f) => f.method === method && (f.path === template || f.path === pathname) && f.times > 0);
  if (i < 0) {
    return null;
  }
  const f = acct.faults[i];
  f.times -= 1;
  return f;
}

const faultBody = (status) => new ApiError(status, 'api_error',
  status === 429 ? 'Too many requests hit the API too quickly.' : 'An unknown error occurred on our side (injected fault).')
  .body();

async function handle(req, res, body) {
  const url = new URL(req.url, 'http://fake');
  const auth = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
  if (!auth) {
    send(res, 401, new ApiError(401, 'invalid_request_error',
      'You did not provide an API key. Provide it in the Authorization header (Bearer auth).').body());
    return;
  }
  const acct = account(auth[1]);
  clockOffset = acct.clockOffset;
  if (url.pathname.startsWith('/__fake/')) {
    try {
      send(res, 200, await control(acct, req.method, url.pathname, body));
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(400, 'invalid_request_error', String(e.message));
      send(res, err.status, err.body());
    }
    return;
  }
  const record = { method: req.method, path: url.pathname, idempotency_key: req.headers['idempotency-key'] ?? null,
    stripe_version: req.headers['stripe-version'] ?? null, status: 0, replayed: false };
  acct.requests.push(record);
  const reply = (status, payload, headers) => {
    record.status = status;
    send(res, status, payload, headers);
  };
  const found = findOperation(req.method, url.pathname);
  if (!found) {
    reply(404, new ApiError(404, 'invalid_request_error',
      `Unrecognized request URL (${req.method}: ${url.pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`).body());
    return;
  }
  const fault = takeFault(acct, req.method, found.template, url.pathname);
  if (fault && fault.delay_ms) {
    await sleep(fault.delay_ms);
  }
  if (fault && fault.drop) {
    record.status = -1;
    req.socket.destroy();
    return;
  }
  if (fault && fault.mode === 'before' && !fault.delay_ms) {
    reply(fault.status, faultBody(fault.status), fault.status >= 500 ? { 'Stripe-Should-Retry': 'true' } : {});
    return;
  }
  let params;
  try {
    params = validate(req.method, found, url.search.slice(1), body);
  } catch (e) {
    if (!(e instanceof ParamError)) {
      throw e;
    }
    // Validation failures are not stored under the idempotency key (Stripe's rule).
    reply(400, new ApiError(400, 'invalid_request_error', e.message, e.code, e.param).body());
    return;
  }
  const key = req.method === 'POST' ? req.headers['idempotency-key'] : undefined;
  const fingerprint = JSON.stringify([req.method, url.pathname, body]);
  if (key) {
    const stored = acct.idempotency.get(key);
    if (stored) {
      if (stored.fingerprint !== fingerprint) {
        reply(400, new ApiError(400, 'idempotency_error',
          `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`).body());
        return;
      }
      record.replayed = true;
      if (fault && fault.mode === 'after') {
        reply(fault.status, faultBody(fault.status), { 'Stripe-Should-Retry': 'true' });
        return;
      }
      reply(stored.status, stored.body, { 'Idempotent-Replayed': 'true', 'Original-Request': stored.requestId });
      return;
    }
  }
  const handler = handlers[`${req.method} ${found.template}`];
  let status;
  let payload;
  if (fault && fault.mode === 'stored') {
    status = fault.status;
    payload = faultBody(fault.status);
  } else if (!handler) {
    status = 400;
    payload = new ApiError(400, 'invalid_request_error',
      `The stand-in does not implement ${req.method} ${found.template} (a valid Stripe endpoint).`).body();
  } else {
    try {
      const result = handler(acct, params, found.params);
      status = 200;
      payload = result;
    } catch (e) {
      if (!(e instanceof ApiError)) {
        throw e;
      }
      status = e.status;
      payload = e.body();
    }
  }
  const stripped = JSON.parse(JSON.stringify(payload, (k, v) => (k.startsWith('_') ? undefined : v)));
  if (key) {
    acct.idempotency.set(key, { fingerprint, status, body: stripped, requestId: newId('req') });
  }
  if (fault && fault.mode === 'after') {
    reply(fault.status, faultBody(fault.status), { 'Stripe-Should-Retry': 'true' });
    return;
  }
  reply(status, stripped);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((e) => {
      if (!res.headersSent) {
        send(res, 500, new ApiError(500, 'api_error', `stand-in bug: ${e.stack}`).body());
      }
    });
  });
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`stripe fake listening on http://127.0.0.1:${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
