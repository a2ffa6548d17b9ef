// The Neo reference SDK's side of tests/integration/test_neon_crosscheck.c.
//
//   node tests/neon/crosscheck.mjs in.json out.json
//
// in.json holds keys, multisig accounts, NEP-2 keys, messages, NEP-17 transfers and transactions
// that our C Neo module made. For each, @cityofzion/neon-core (pinned in package.json) recomputes
// what it can independently (addresses, script hashes, scripts, NEP-2 strings, transaction bytes
// and hashes), verifies our signatures, and signs messages and transactions with keys we give it,
// so that the C test can verify those with our code. Every answer goes to out.json, in the same
// order as the input; the C test makes every comparison. An item that throws gets {"error": ...}.
//
// Work-arounds for neon-core 5.10.1, all in building or reading transactions:
//  - the Transaction constructor drops `attributes` (so Transaction.deserialize loses them too):
//    we set tx.attributes after construction;
//  - OracleResponseAttribute serializes `result` from base64 and `id` with toString(16): we give
//    it base64 and a BigInt id;
//  - it knows only the HighPriority and OracleResponse attributes, so the C side generates no
//    others (NotValidBefore, Conflicts, NotaryAssisted are covered by the C unit tests only);
//  - NEP-2 with a cost other than r = p: see neonCost below;
//  - Account/multisig helpers do not sort keys: we sort them as neo's ECPoint.CompareTo does
//    (by X, then Y) before constructMultiSigVerificationScript.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as Neon from "@cityofzion/neon-core";
import { witnessValid } from "./witness.mjs";

const { wallet, tx, sc, u } = Neon;
const require = createRequire(import.meta.url);
const neonVersion = require("@cityofzion/neon-core/package.json").version;

const [inPath, outPath] = process.argv.slice(2);
if (!inPath || !outPath) {
  console.error("usage: node crosscheck.mjs in.json out.json");
  process.exit(2);
}
const input = JSON.parse(readFileSync(inPath, "utf8"));

// Runs f on every item; an exception becomes {"error": message} for that item.
async function each(items, f) {
  const out = [];
  for (const item of items ?? []) {
    try {
      out.push(await f(item));
    } catch (e) {
      out.push({ error: String(e && e.message ? e.message : e) });
    }
  }
  return out;
}

// neo ECPoint order: X, then Y, as unsigned integers.
function sortKeys(keys) {
  const xy = (k) => {
    const full = wallet.getPublicKeyUnencoded(k);
    return [BigInt("0x" + full.slice(2, 66)), BigInt("0x" + full.slice(66, 130))];
  };
  return [...keys].sort((a, b) => {
    const [ax, ay] = xy(a);
    const [bx, by] = xy(b);
    if (ax !== bx) return ax < bx ? -1 : 1;
    return ay < by ? -1 : ay > by ? 1 : 0;
  });
}

function account(privateKey) {
  const publicKey = wallet.getPublicKeyFromPrivateKey(privateKey);
  const scriptHash = wallet.getScriptHashFromPublicKey(publicKey);
  return {
    wif: wallet.getWIFFromPrivateKey(privateKey),
    publicKey,
    verificationScript: wallet.getVerificationScriptFromPublicKey(publicKey),
    scriptHash: "0x" + scriptHash,
    address: wallet.getAddressFromScriptHash(scriptHash),
  };
}

function buildAttribute(a) {
  if (a.type === "HighPriority") return new tx.HighPriorityAttribute();
  if (a.type === "OracleResponse")
    return new tx.OracleResponseAttribute(BigInt(a.id), a.code, u.hex2base64(a.result));
  throw new Error(`attribute type ${a.type} is not known to neon-core`);
}

function buildTransaction(f) {
  const t = new tx.Transaction({
    version: f.version,
    nonce: f.nonce,
    systemFee: f.systemFee,
    networkFee: f.networkFee,
    validUntilBlock: f.validUntilBlock,
    script: f.script,
    signers: f.signers.map((s) => ({
      account: s.account,
      scopes: s.scopes,
      allowedContracts: s.allowedContracts ?? [],
      allowedGroups: s.allowedGroups ?? [],
      rules: s.rules ?? [],
    })),
  });
  t.attributes = f.attributes.map(buildAttribute);
  return t;
}

const out = { neonVersion };


out.keys = await each(input.keys, (k) => ({
  ...account(k.privateKey),
  privateKeyFromWif: wallet.getPrivateKeyFromWIF(k.wif),
  hashFromAddress: "0x" + wallet.getScriptHashFromAddress(k.address),
}));

out.neonKeys = await each(Array.from({ length: input.neonKeyCount ?? 0 }), () => {
  const privateKey = wallet.generatePrivateKey();
  return { privateKey, ...account(privateKey) };
});

out.multisig = await each(input.multisig, (ms) => {
  const script = wallet.constructMultiSigVerificationScript(ms.m, sortKeys(ms.publicKeys));
  const scriptHash = wallet.getScriptHashFromVerificationScript(script);
  return {
    script,
    scriptHash: "0x" + scriptHash,
    address: wallet.getAddressFromScriptHash(scriptHash),
  };
});

// neon-core 5.10.1 hands (n, r, p) to ethereum-cryptography's scrypt(password, salt, n, p, r, ...):
// r and p arrive swapped. NEP-2's own cost (r = p = 8) is unaffected; for other costs we swap
// them back so that the scrypt that runs is the one asked for (RFC 7914's N, r, p).
const neonCost = (c) => ({ n: c.n, r: c.p, p: c.r });

out.nep2 = await each(input.nep2, async (n) => {
  const wif = wallet.getWIFFromPrivateKey(n.privateKey);
  const encrypted = await wallet.encrypt(wif, n.passphrase, neonCost(n.scrypt));
  const decryptedWif = await wallet.decrypt(n.encrypted, n.passphrase, neonCost(n.scrypt));
  let wrongPassphraseRejected = null;
  if (n.wrongPassphrase !== undefined) {
    try {
      await wallet.decrypt(n.encrypted, n.wrongPassphrase, neonCost(n.scrypt));
      wrongPassphraseRejected = false;
    } catch {
      wrongPassphraseRejected = true;
    }
  }
  return {
    encrypted,
    decrypted: wallet.getPrivateKeyFromWIF(decryptedWif),
    wrongPassphraseRejected,
  };
});

out.messages = await each(input.messages, (m) => ({
  valid: wallet.verify(m.message, m.signature, m.publicKey),
}));

out.neonSigned = await each(input.neonSign, (m) => ({
  publicKey: wallet.getPublicKeyFromPrivateKey(m.privateKey),
  signature: wallet.sign(m.message, m.privateKey),
}));

out.transfers = await each(input.transfers, (t) => ({
  script: sc.createScript({
    scriptHash: t.token,
    operation: "transfer",
    args: [
      sc.ContractParam.hash160(t.from),
      sc.ContractParam.hash160(t.to),
      sc.ContractParam.integer(t.amount),
      sc.ContractParam.any(null),
    ],
  }),
}));

out.transactions = await each(input.transactions, (item) => {
  const built = buildTransaction(item.fields);
  // neon-core's reading of our bytes (its constructor drops attributes: see the top).
  const read = tx.Transaction.deserialize(item.signed);
  read.attributes = built.attributes;
  const witnessesValid = read.witnesses.map((_, i) => witnessValid(read, i, item.network));
  const wrongNetworkValid = read.witnesses.map((_, i) =>
    witnessValid(read, i, item.otherNetwork),
  );
  // neon-core signs: single-sig signers with tx.sign, multisig ones with Witness.buildMultiSig.
  const message = built.getMessageForSigning(item.network);
  for (const s of item.neonSigners) {
    if (s.verificationScript) {
      const sigs = s.privateKeys.map((k) => wallet.sign(message, k));
      built.addWitness(tx.Witness.buildMultiSig(message, sigs, s.verificationScript));
    } else {
      built.sign(new wallet.Account(s.privateKeys[0]), item.network);
    }
  }
  return {
    unsigned: built.serialize(false),
    hash: "0x" + built.hash(),
    reserialized: read.serialize(true),
    reserializedHash: "0x" + read.hash(),
    witnessesValid,
    wrongNetworkValid,
    neonSigned: built.serialize(true),
  };
});

writeFileSync(outPath, JSON.stringify(out));
