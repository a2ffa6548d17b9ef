// Checks a signed Neo N3 transaction with the Neo reference SDK, @cityofzion/neon-core (pinned in
// package.json). Used by tests/integration/test_wallet.c on the wallet service's output.
//
//   node tests/neon/verify_tx.mjs <signed transaction hex> <network magic>
//
// Prints one JSON line, {"valid": bool, "txid": "0x...", "failed": [witness indexes]}, and exits 0
// when every signer has a witness and every witness is valid for that network, 1 otherwise (with
// an "error" member when the transaction cannot be read), 2 on bad usage. "reserialized" tells
// whether neon-core writes the transaction back to the same bytes.
import * as Neon from "@cityofzion/neon-core";
import { witnessValid } from "./witness.mjs";

const { tx, u } = Neon;

const [hexArg, magicArg] = process.argv.slice(2);
if (!hexArg || !magicArg || !/^[0-9]+$/.test(magicArg)) {
  console.error("usage: node verify_tx.mjs <signed transaction hex> <network magic>");
  process.exit(2);
}
const hex = hexArg.toLowerCase();
const magic = Number(magicArg);

// neon-core 5.10.1's Transaction constructor drops `attributes`, so Transaction.deserialize loses
// them (and the txid with them): we read them again, skipping the fixed header and the signers.
function readAttributes(hexstring) {
  const ss = new u.StringStream(hexstring);
  ss.read(1 + 4 + 8 + 8 + 4); // version, nonce, system fee, network fee, validUntilBlock
  const nsigners = ss.readVarInt();
  for (let i = 0; i < nsigners; i++) tx.Signer.deserialize(ss);
  const n = ss.readVarInt();
  return Array.from({ length: n }, () => tx.TransactionAttribute.fromStream(ss));
}

let result;
try {
  const t = tx.Transaction.deserialize(hex);
  t.attributes = readAttributes(hex);
  const failed = [];
  for (let i = 0; i < t.signers.length; i++) {
    let ok = false;
    try {
      ok = i < t.witnesses.length && witnessValid(t, i, magic);
    } catch {
      ok = false;
    }
    if (!ok) failed.push(i);
  }
  const complete = t.signers.length > 0 && t.witnesses.length === t.signers.length;
  result = {
    valid: complete && failed.length === 0,
    txid: "0x" + t.hash(),
    failed,
    reserialized: t.serialize(true) === hex,
  };
} catch (e) {
  result = { valid: false, txid: null, failed: [], error: String(e && e.message ? e.message : e) };
}
console.log(JSON.stringify(result));
process.exit(result.valid ? 0 : 1);
