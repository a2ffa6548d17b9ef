// Operator dashboard of nsl-parent (docs/dashboard.md). Plain browser JavaScript, no libraries.
// It reads the service through the same JSON-RPC API as any client (POST /v1/rpc) plus GET
// /metrics, /healthz and /v1/openrpc.json, and writes every value into the page with textContent
// (never innerHTML): names, sources and audit entries come from users.
'use strict';

const REFRESH_MS = 5000;
const SLOW_EVERY = 12; // attestation and gas bank audit: every 12th refresh (60 s)
const API_KEY_STORE = 'nsl-dashboard-apikey';
const DENIALS = new Set(['UNAUTHENTICATED', 'PERMISSION_DENIED', 'RATE_LIMITED']);

// The credential: {scheme: 'apikey', apiKey} or {scheme: 'neo-sig', account, key: CryptoKey}.
let credential = null;
let methods = null; // method name -> x-flags, from /v1/openrpc.json
let permissions = []; // the signed-in account's effective permissions (account.whoami)
let refreshCount = 0;
let timer = null;
let refreshing = false; // a refresh is running
let again = false; // "Refresh now" was pressed during it
let lastMetrics = null; // {at, calls: Map} of the previous /metrics sample, for rates
let slowCache = {}; // panel -> last result of the slow calls

// ---------- small helpers ----------

function el(tag, attrs, ...children) {
  const svg = ['svg', 'rect', 'line', 'polyline', 'circle', 'text'].includes(tag);
  const e = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag)
                : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children)
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function unhex(text) {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
  return out;
}

function randomHex(n) {
  return hex(crypto.getRandomValues(new Uint8Array(n)));
}

// An integer amount in units of 10^-decimals (a string of digits) as a decimal number, without
// going through floating point: prices and datoshi are exact in the API and stay so on the page.
function decimal(digits, decimals) {
  const text = String(digits);
  const negative = text.startsWith('-');
  const s = text.replace(/^-/, '').padStart(decimals + 1, '0');
  const whole = s.slice(0, s.length - decimals).replace(/^0+(?=\d)/, '');
  const frac = s.slice(s.length - decimals).replace(/0+$/, '');
  return (negative ? '-' : '') + whole + (frac ? '.' + frac : '');
}

function gas(datoshi) {
  return decimal(datoshi, 8) + ' GAS';
}

function when(unixSeconds) {
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function table(headers, rows, numeric) {
  const head = el('tr', {}, ...headers.map((h, i) =>
    el('th', numeric && numeric[i] ? {class: 'num'} : {}, h)));
  const body = rows.map((r) => el('tr', {}, ...r.map((c, i) =>
    el('td', numeric && numeric[i] ? {class: 'num'} : {}, c))));
  return el('table', {}, el('thead', {}, head), el('tbody', {}, ...body));
}

function dl(pairs) {
  const d = el('dl');
  for (const [k, v] of pairs) d.append(el('dt', {}, k), el('dd', {}, v));
  return d;
}

// Replaces a panel's content. state: ok | empty | error | needs-signature | loading.
function show(panel, state, ...content) {
  const body = document.querySelector('#' + panel + ' .body');
  body.dataset.state = state;
  body.replaceChildren(...content);
}

class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// ---------- credentials and requests ----------

// RFC 8785 JSON canonicalization: ES2015 JSON.stringify already writes strings and numbers the
// RFC's way; objects need their keys sorted by UTF-16 code units, which is what sort() does.
function jcs(v) {
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  if (v !== null && typeof v === 'object')
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + jcs(v[k])).join(',') +
           '}';
  return JSON.stringify(v);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

// ARCHITECTURE §5: the signature covers service, operation, the params' JCS hash, time and nonce.
async function signatureHeader(method, params) {
  const [service, operation] = method.split('.');
  const ts = String(Math.floor(Date.now() / 1000));
  const nonce = randomHex(16);
  const enc = new TextEncoder();
  const digest = hex(await sha256(enc.encode(jcs(params))));
  const message = ['NSL-REQ-1', service, operation, digest, ts, nonce].join('\n');
  const sig = await crypto.subtle.sign({name: 'ECDSA', hash: 'SHA-256'}, credential.key,
                                       enc.encode(message));
  return `NSL-SIG account=${credential.account},ts=${ts},nonce=${nonce},sig=${hex(new Uint8Array(sig))}`;
}

function flagsOf(method) {
  return (methods && methods.get(method)) || [];
}

// Mirrors the enclave's check (services/permissions.c) only to avoid calls that would be denied:
// each denial is an audit-log entry, and a dashboard refreshing every 5 s must not flood the log.
function granted(method) {
  const [service, operation] = method.split('.');
  return permissions.some((p) => p === '*' || p === service + ':*' ||
                                 p === service + ':' + operation);
}

function needsSignature(method) {
  return flagsOf(method).includes('admin') && (!credential || credential.scheme !== 'neo-sig');
}

async function rpc(method, params) {
  params = params || {};
  const headers = {'Content-Type': 'application/json'};
  if (!flagsOf(method).includes('public'))
    headers.Authorization = credential.scheme === 'apikey' ? 'NSL-APIKEY ' + credential.apiKey
                                                           : await signatureHeader(method, params);
  const resp = await fetch('/v1/rpc', {
    method: 'POST', headers, cache: 'no-store', credentials: 'omit',
    body: JSON.stringify({jsonrpc: '2.0', id: 1, method, params}),
  });
  const reply = await resp.json();
  if (reply.error)
    throw new RpcError((reply.error.data && reply.error.data.code) || 'ERROR', reply.error.message);
  return reply.result;
}

// The 32-byte secp256r1 private key from 64 hex digits or a WIF (base58check of 0x80 | key | 0x01).
async function privateKeyBytes(text) {
  text = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return unhex(text);
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let n = 0n;
  for (const c of text) {
    const d = alphabet.indexOf(c);
    if (d < 0) throw new Error('the private key is neither 64 hex digits nor a WIF');
    n = n * 58n + BigInt(d);
  }
  const bytes = unhex(n.toString(16).padStart(76, '0'));
  if (!bytes || bytes.length !== 38 || bytes[0] !== 0x80 || bytes[33] !== 0x01)
    throw new Error('the WIF is not a compressed Neo private key');
  const check = await sha256(await sha256(bytes.slice(0, 34)));
  if (check.slice(0, 4).some((b, i) => b !== bytes[34 + i]))
    throw new Error('the WIF checksum does not match');
  return bytes.slice(1, 33);
}

// PKCS#8 of a P-256 key without its optional public key (RFC 5208, RFC 5915): WebCrypto derives
// the public point itself.
const PKCS8_PREFIX = unhex('3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420');

async function importSigningKey(text) {
  if (!window.isSecureContext || !crypto.subtle)
    throw new Error('signing needs a secure context: open the dashboard over HTTPS or 127.0.0.1');
  const d = await privateKeyBytes(text);
  const der = new Uint8Array(PKCS8_PREFIX.length + 32);
  der.set(PKCS8_PREFIX);
  der.set(d, PKCS8_PREFIX.length);
  try {
    return await crypto.subtle.importKey('pkcs8', der, {name: 'ECDSA', namedCurve: 'P-256'}, false,
                                         ['sign']);
  } catch (e) {
    throw new Error('the private key is not a valid secp256r1 key');
  } finally {
    d.fill(0);
    der.fill(0);
  }
}

async function loadMethods() {
  if (methods) return;
  const resp = await fetch('/v1/openrpc.json', {cache: 'no-store'});
  const doc = await resp.json();
  methods = new Map(doc.methods.map((m) => [m.name, m['x-flags'] || []]));
}

async function signIn(event) {
  event.preventDefault();
  const error = document.getElementById('signin-error');
  error.textContent = '';
  const account = document.getElementById('account').value.trim();
  const keyText = document.getElementById('signing-key').value;
  const apiKey = document.getElementById('api-key').value.trim();
  try {
    await loadMethods();
    if (keyText && account)
      credential = {scheme: 'neo-sig', account, key: await importSigningKey(keyText)};
    else if (apiKey)
      credential = {scheme: 'apikey', apiKey};
    else
      throw new Error('enter an account ID and its private key, or an API key');
    await start();
  } catch (e) {
    credential = null;
    error.textContent = 'Sign-in failed: ' + (e.code ? e.code + ': ' : '') + e.message;
  } finally {
    document.getElementById('signing-key').value = '';
    document.getElementById('api-key').value = '';
  }
}

async function start() {
  const me = await rpc('account.whoami');
  permissions = me.permissions || [];
  if (credential.scheme === 'apikey') sessionStorage.setItem(API_KEY_STORE, credential.apiKey);
  document.getElementById('who').textContent =
      `signed in as ${me.accountId} (${me.scheme}; roles ${(me.roles || []).join(', ')})`;
  document.getElementById('signin').hidden = true;
  document.getElementById('panels').hidden = false;
  document.getElementById('signout').hidden = false;
  refreshCount = 0;
  slowCache = {};
  refresh(true);
}

function signOut() {
  clearTimeout(timer);
  credential = null;
  sessionStorage.removeItem(API_KEY_STORE);
  location.reload();
}

// ---------- panels ----------

function failure(panel, e) {
  if (e instanceof RpcError) show(panel, 'error', `${e.code}: ${e.message}`);
  else show(panel, 'error', 'Could not load: ' + e.message);
}

function signatureNeeded(panel, method) {
  show(panel, 'needs-signature',
       `${method} is an admin operation: sign in with a signing key (neo-sig) to see this panel.`);
}

function permissionNeeded(panel, method) {
  const [service, operation] = method.split('.');
  show(panel, 'needs-permission',
       `This account lacks the permission ${service}:${operation} that this panel needs.`);
}

// Prometheus text: value of each sample of metric, by its method label.
function samples(text, metric) {
  const out = new Map();
  const re = new RegExp('^' + metric + '\\{method="([^"]*)"\\} (\\S+)$', 'gm');
  for (const m of text.matchAll(re)) out.set(m[1], Number(m[2]));
  return out;
}

async function refreshRates() {
  const resp = await fetch('/metrics', {cache: 'no-store'});
  const text = await resp.text();
  const calls = samples(text, 'nsl_http_requests_total');
  const errors = samples(text, 'nsl_http_request_errors_total');
  const now = Date.now();
  const prev = lastMetrics;
  lastMetrics = {at: now, calls};
  const rows = [];
  for (const [method, n] of calls) {
    if (!n) continue;
    const rate = prev ? ((n - (prev.calls.get(method) || 0)) / ((now - prev.at) / 1000)) : null;
    rows.push([method, String(n), String(errors.get(method) || 0),
               rate === null ? '-' : rate.toFixed(2)]);
  }
  const up = /^nsl_enclave_up (\d+)$/m.exec(text);
  const note = el('p', {class: 'note'},
                  'Counted by this nsl-parent since it started, this dashboard\'s own calls ' +
                  'included. Enclave connection: ', up && up[1] === '1' ? 'up' : 'down', '.');
  if (!rows.length) return show('p-rates', 'empty', 'No JSON-RPC calls yet.', note);
  rows.sort((a, b) => Number(b[1]) - Number(a[1]));
  show('p-rates', 'ok', table(['operation', 'calls', 'errors', 'calls/s'], rows,
                              [false, true, true, true]), note);
}

// ---- attestation: a minimal CBOR reader (RFC 8949) for the COSE_Sign1 document ----

function cborRead(bytes) {
  let pos = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  function need(n) {
    if (pos + n > bytes.length) throw new Error('truncated CBOR');
  }
  function length(ai) {
    if (ai < 24) return ai;
    const size = {24: 1, 25: 2, 26: 4, 27: 8}[ai];
    if (!size) throw new Error('unsupported CBOR length');
    need(size);
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + bytes[pos + i];
    pos += size;
    return v;
  }
  function item() {
    need(1);
    const ib = bytes[pos++];
    const major = ib >> 5, ai = ib & 31;
    if (major === 7) {
      if (ai === 20) return false;
      if (ai === 21) return true;
      if (ai === 22) return null;
      if (ai === 27) { need(8); pos += 8; return view.getFloat64(pos - 8); }
      throw new Error('unsupported CBOR simple value');
    }
    if (ai === 31) return indefinite(major); // Nitro writes its payload map this way (§3.2)
    const n = length(ai);
    switch (major) {
    case 0: return n;
    case 1: return -1 - n;
    case 2: need(n); pos += n; return bytes.subarray(pos - n, pos);
    case 3: need(n); pos += n; return new TextDecoder().decode(bytes.subarray(pos - n, pos));
    case 4: return Array.from({length: n}, item);
    case 5: {
      const m = new Map();
      for (let i = 0; i < n; i++) { const k = item(); m.set(k, item()); }
      return m;
    }
    case 6: return item(); // a tag (COSE_Sign1 is tag 18): the value is what matters here
    }
    throw new Error('bad CBOR');
  }
  function atBreak() {
    need(1);
    if (bytes[pos] !== 0xff) return false;
    pos++;
    return true;
  }
  function indefinite(major) {
    if (major === 4 || major === 5) {
      const items = [];
      while (!atBreak()) items.push(item());
      if (major === 4) return items;
      if (items.length % 2) throw new Error('odd CBOR map');
      const m = new Map();
      for (let i = 0; i < items.length; i += 2) m.set(items[i], items[i + 1]);
      return m;
    }
    if (major === 2 || major === 3) { // chunks of the same major type
      const chunks = [];
      while (!atBreak()) chunks.push(item());
      if (major === 3) return chunks.join('');
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
      return out;
    }
    throw new Error('bad indefinite-length CBOR');
  }
  return item();
}

function decodeDocument(b64) {
  const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const cose = cborRead(raw);
  if (!Array.isArray(cose) || cose.length !== 4 || !(cose[2] instanceof Uint8Array))
    throw new Error('not a COSE_Sign1 structure');
  return cborRead(cose[2]);
}

async function fetchAttestation() {
  const nonce = randomHex(32);
  const result = await rpc('attestation.getDocument', {nonce});
  const doc = decodeDocument(result.document);
  return {nonce, result, doc};
}

function attestationView(a) {
  const doc = a.doc;
  const pcrs = doc.get('pcrs') instanceof Map ? doc.get('pcrs') : new Map();
  const nonceOk = doc.get('nonce') instanceof Uint8Array && hex(doc.get('nonce')) === a.nonce;
  const keyOk = doc.get('public_key') instanceof Uint8Array &&
                hex(doc.get('public_key')) === a.result.hpkePublicKey;
  const pcrRows = [0, 1, 2, 8].filter((i) => pcrs.has(i)).map((i) => [`PCR${i}`,
                                                                     el('code', {}, hex(pcrs.get(i)))]);
  const mark = (ok) => el('span', {class: ok ? 'ok' : 'bad'}, ok ? 'yes' : 'NO');
  return [
    dl([['module id', el('code', {}, String(doc.get('module_id')))],
        ['document time', when(Math.floor(Number(doc.get('timestamp')) / 1000))],
        ['digest', String(doc.get('digest'))],
        ...pcrRows,
        ['PCRs in document', String(pcrs.size)],
        ['signer key', el('code', {}, a.result.signerPublicKey)]]),
    el('p', {}, 'Checked by this page: the document echoes this page\'s fresh nonce: ',
       mark(nonceOk), '; its public_key is the HPKE key the enclave reported: ', mark(keyOk), '.'),
    el('p', {class: 'warn'}, 'Not checked by this page: the COSE signature and the certificate ' +
       'chain to the AWS Nitro root, nor the PCR values against your build. The browser cannot ' +
       'verify them here and the page comes from the untrusted host: verify with ' +
       '`nsl attest verify --nonce ... --pcr0 ...` on a machine you trust.'),
  ];
}

async function refreshEnclave(slow) {
  const health = await fetch('/healthz', {cache: 'no-store'}).then((r) => r.json());
  if (!granted('system.info')) return permissionNeeded('p-enclave', 'system.info');
  const info = await rpc('system.info');
  if (slow || !slowCache.attestation) {
    try {
      slowCache.attestation = await fetchAttestation();
    } catch (e) {
      slowCache.attestation = {error: e};
    }
  }
  const a = slowCache.attestation;
  const simulated = info.mode !== 'nitro';
  const storage = info.storage || {};
  const summary = dl([
    ['enclave', health.enclave === 'up' ? 'up' : 'down'],
    ['mode', el('span', {class: simulated ? 'warn' : 'ok'}, info.mode +
                                   (simulated ? ' (dev: simulated NSM, not a real enclave)' : ''))],
    ['version', info.version],
    ['uptime', `${info.uptimeSec} s`],
    ['sealed storage', `${storage.state || '?'}, key provider ${storage.keyProvider || '?'}` +
                           (storage.secure === false ? ' (not secure: dev only)' : '')],
  ]);
  const att = a.error ? [el('p', {class: 'error'}, 'Attestation document: ' + a.error.message)]
                      : attestationView(a);
  show('p-enclave', 'ok', summary, el('h3', {}, 'Attestation document'), ...att);
}

// A round's price or a source's answer as a number, for drawing only.
function plotValue(price, decimals) {
  return Number(decimal(price, decimals));
}

function chart(rounds) {
  // rounds newest first; plot oldest to newest.
  const pts = rounds.slice().reverse().map((r) => {
    const p = plotValue(r.price, r.decimals);
    const prices = (r.sources || []).filter((s) => s.ok && s.price)
                       .map((s) => plotValue(s.price, r.decimals));
    return {t: r.timestamp, p, lo: Math.min(...prices, p), hi: Math.max(...prices, p)};
  });
  const W = 600, H = 180, L = 60, R = 10, T = 10, B = 24;
  let lo = Math.min(...pts.map((x) => x.lo)), hi = Math.max(...pts.map((x) => x.hi));
  if (hi === lo) { hi += Math.abs(hi) * 0.01 || 1; lo -= Math.abs(lo) * 0.01 || 1; }
  const x = (i) => L + (pts.length === 1 ? (W - L - R) / 2 : i * (W - L - R) / (pts.length - 1));
  const y = (v) => T + (hi - v) * (H - T - B) / (hi - lo);
  const svg = el('svg', {class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
                         'aria-label': 'price history with source spread'});
  for (const v of [lo, (lo + hi) / 2, hi]) {
    svg.append(el('line', {class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v)}));
    svg.append(el('text', {class: 'axis', x: 4, y: y(v) + 4}, v.toPrecision(6)));
  }
  const band = Math.min(14, Math.max(3, (W - L - R) / Math.max(pts.length, 1) / 2));
  pts.forEach((pt, i) => svg.append(el('rect', {class: 'spread', x: x(i) - band / 2, y: y(pt.hi),
                                                width: band, height: Math.max(1, y(pt.lo) - y(pt.hi))})));
  svg.append(el('polyline', {class: 'price', points: pts.map((pt, i) => `${x(i)},${y(pt.p)}`).join(' ')}));
  pts.forEach((pt, i) => svg.append(el('circle', {class: 'dot', cx: x(i), cy: y(pt.p), r: 3})));
  svg.append(el('text', {class: 'axis', x: L, y: H - 6}, when(pts[0].t)));
  svg.append(el('text', {class: 'axis', x: W - R - 130, y: H - 6}, when(pts[pts.length - 1].t)));
  return svg;
}

function pairView(pair, rounds) {
  const box = el('div', {class: 'pair'}, el('h3', {}, pair.pair));
  if (!rounds.length) {
    box.append(el('p', {class: 'note'}, 'No round published yet.'));
    return box;
  }
  const last = rounds[0];
  const ok = (last.sources || []).filter((s) => s.ok && s.price);
  // Spread in the feed's integer units (exact), shown scaled like the prices.
  const units = ok.map((s) => BigInt(s.price));
  const spread = units.length ? units.reduce((a, b) => (a > b ? a : b)) -
                                units.reduce((a, b) => (a < b ? a : b)) : 0n;
  const bps = BigInt(last.price) > 0n ? spread * 10000n / BigInt(last.price) : 0n;
  box.append(dl([['latest price', `${decimal(last.price, last.decimals)} (round ${last.round}, ` +
                                      `${when(last.timestamp)})`],
                 ['sources agreeing', `${ok.length} of ${(last.sources || []).length}`],
                 ['source spread', `${decimal(spread, last.decimals)} (${bps} bps)`]]),
             chart(rounds),
             table(['source', 'price', 'status'], (last.sources || []).map((s) =>
               [s.name, s.price ? decimal(s.price, last.decimals) : '-',
                s.ok ? 'ok' : (s.error || 'failed')]), [false, true, false]),
             el('p', {class: 'note'}, 'Line: the published (median) price per round; band: ' +
                'lowest to highest agreeing source. Rounds are signed by the enclave; this page ' +
                'does not check the signatures (docs/pricefeed.md shows how).'));
  return box;
}

async function refreshPrices() {
  for (const method of ['pricefeed.pairs', 'pricefeed.history'])
    if (!granted(method)) return permissionNeeded('p-prices', method);
  const {pairs} = await rpc('pricefeed.pairs');
  if (!pairs || !pairs.length) return show('p-prices', 'empty', 'No price pairs configured.');
  const views = [];
  for (const p of pairs) {
    const {rounds} = await rpc('pricefeed.history', {pair: p.pair, limit: 50});
    views.push(pairView(p, rounds || []));
  }
  show('p-prices', 'ok', ...views);
}

async function refreshGasbank(slow) {
  const bank = await rpc('gasbank.bankAddress');
  const address = dl([['bank address', el('code', {}, bank.address || '?')]]);
  if (needsSignature('gasbank.audit'))
    return show('p-gasbank', 'needs-signature', address,
                el('p', {}, 'Totals and the ledger audit come from gasbank.audit, an admin ' +
                            'operation: sign in with a signing key (neo-sig) to see them.'));
  if (!granted('gasbank.audit')) return permissionNeeded('p-gasbank', 'gasbank.audit');
  if (slow || !slowCache.audit) slowCache.audit = {at: Date.now(), result: await rpc('gasbank.audit')};
  const a = slowCache.audit.result;
  const t = a.totals || {};
  const problems = (a.problems || []).map((p) => [p.accountId || '', p.problem]);
  const status = el('span', {class: a.ok ? 'ok' : 'bad'},
                    a.ok ? 'every invariant holds' : `${problems.length} problem(s)`);
  show('p-gasbank', a.accounts ? 'ok' : 'empty', address,
       dl([['ledger audit', status],
           ['accounts', String(a.accounts)],
           ['ledger entries', String(a.entries)],
           ['deposits', gas(t.deposits || '0')],
           ['available', gas(t.available || '0')],
           ['reserved', gas(t.reserved || '0')],
           ['withdrawals', gas(t.withdrawals || '0')],
           ['charges', gas(t.charges || '0')]]),
       problems.length ? table(['account', 'problem'], problems) : '',
       a.accounts ? '' : el('p', {}, 'No gas bank account yet.'),
       el('p', {class: 'note'}, `Audited ${when(Math.floor(slowCache.audit.at / 1000))} ` +
          '(gasbank.audit runs once a minute and on "Refresh now": each run is an audited ' +
          'admin call).'));
}

async function refreshFunctions() {
  const text = await fetch('/metrics', {cache: 'no-store'}).then((r) => r.text());
  const viaParent = samples(text, 'nsl_http_requests_total').get('function.invoke') || 0;
  const failed = samples(text, 'nsl_http_request_errors_total').get('function.invoke') || 0;
  let inEnclave = 'needs system:metrics';
  if (granted('system.metrics')) {
    const m = await rpc('system.metrics');
    inEnclave = String((m.requests || {})['function.invoke'] || 0);
  }
  const counts = dl([['function.invoke via this parent', `${viaParent} (${failed} failed)`],
                     ['function.invoke in the enclave', inEnclave]]);
  if (!granted('function.list'))
    return show('p-functions', 'needs-permission', counts,
                el('p', {}, 'Listing functions needs the permission function:list.'));
  const {functions} = await rpc('function.list');
  if (!functions || !functions.length)
    return show('p-functions', viaParent ? 'ok' : 'empty', counts,
                el('p', {}, 'This account has no functions.'));
  const rows = [];
  for (const f of functions) {
    let runs = 'needs function:runs';
    if (granted('function.runs')) {
      try {
        const list = (await rpc('function.runs', {name: f.name, limit: 100})).runs || [];
        const ok = list.filter((x) => x.ok).length;
        runs = list.length ? `${ok} ok, ${list.length - ok} failed` : 'none';
      } catch (e) {
        runs = e.code || 'error';
      }
    }
    rows.push([f.name, String(f.version), el('code', {}, String(f.codeHash).slice(0, 16)), runs]);
  }
  show('p-functions', 'ok', counts, el('h3', {}, 'Your functions'),
       table(['name', 'version', 'code hash', 'scheduled runs (last 100)'], rows));
}

async function refreshAudit() {
  if (needsSignature('account.auditLog')) return signatureNeeded('p-audit', 'account.auditLog');
  if (!granted('account.auditLog')) return permissionNeeded('p-audit', 'account.auditLog');
  const head = (await rpc('account.auditLog', {limit: 1})).head;
  const log = await rpc('account.auditLog', {since: Math.max(1, head - 199), limit: 200});
  const chain = el('p', {}, `Hash chain of ${log.head} entries: `,
                   el('span', {class: log.verified ? 'ok' : 'bad'},
                      log.verified ? 'verified by the enclave' : 'BROKEN: ' + log.problem));
  const denials = (log.entries || []).filter((e) => DENIALS.has(e.outcome)).reverse().slice(0, 20);
  if (!denials.length)
    return show('p-audit', 'empty', chain, 'No denials among the last 200 audit entries.');
  show('p-audit', 'ok', chain,
       table(['#', 'time', 'account', 'operation', 'outcome'],
             denials.map((e) => [String(e.seq), when(e.time), e.account || '(none)', e.operation,
                                 e.outcome])));
}

const PANELS = [
  ['p-enclave', refreshEnclave],
  ['p-rates', refreshRates],
  ['p-prices', refreshPrices],
  ['p-gasbank', refreshGasbank],
  ['p-functions', refreshFunctions],
  ['p-audit', refreshAudit],
];

// Every REFRESH_MS, and at once on "Refresh now" (which also reruns the once-a-minute calls).
async function refresh(now) {
  if (!credential) return;
  if (refreshing) {
    again = again || now === true;
    return;
  }
  refreshing = true;
  clearTimeout(timer);
  const slow = now === true || refreshCount % SLOW_EVERY === 0;
  refreshCount++;
  // One panel after another: signed requests each spend a nonce, and the service's rate limit is
  // per account, so the dashboard keeps its load small and steady.
  for (const [panel, fn] of PANELS) {
    try {
      await fn(slow);
    } catch (e) {
      failure(panel, e);
    }
  }
  document.getElementById('refreshed').textContent = 'Refreshed ' + new Date().toLocaleTimeString();
  refreshing = false;
  if (again) {
    again = false;
    refresh(true);
  } else if (credential) {
    timer = setTimeout(refresh, REFRESH_MS);
  }
}

async function restore() {
  const apiKey = sessionStorage.getItem(API_KEY_STORE);
  if (!apiKey) return;
  try {
    await loadMethods();
    credential = {scheme: 'apikey', apiKey};
    await start();
  } catch (e) {
    credential = null;
    sessionStorage.removeItem(API_KEY_STORE);
    document.getElementById('signin-error').textContent = 'Stored API key refused: ' + e.message;
  }
}

document.getElementById('signin-form').addEventListener('submit', signIn);
document.getElementById('signout').addEventListener('click', signOut);
document.getElementById('refresh-now').addEventListener('click', () => refresh(true));
restore();
