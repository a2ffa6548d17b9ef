// Neo's state-independent witness check with @cityofzion/neon-core's helpers, shared by
// crosscheck.mjs and verify_tx.mjs.
import * as Neon from "@cityofzion/neon-core";

const { wallet } = Neon;

// Witness i of transaction t, for network magic: the verification script must hash to the
// signer; single-sig: one signature by its key; m-of-n: m signatures matching keys in order (each
// a later key than the previous one).
export function witnessValid(t, i, magic) {
  const w = t.witnesses[i];
  const message = t.getMessageForSigning(magic);
  const verification = w.verificationScript.toBigEndian();
  if (w.scriptHash !== t.signers[i].account.toBigEndian()) return false;
  const sigs = wallet.getSignaturesFromInvocationScript(w.invocationScript.toBigEndian());
  const keys = wallet.getPublicKeysFromVerificationScript(verification);
  const m = keys.length === 1 ? 1 : wallet.getSigningThresholdFromVerificationScript(verification);
  if (sigs.length !== m) return false;
  let x = 0;
  for (let y = 0; x < m && y < keys.length; y++) {
    if (wallet.verify(message, sigs[x], keys[y])) x++;
    if (m - x > keys.length - y - 1) return false;
  }
  return x === m;
}
