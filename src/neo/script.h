/* Neo N3 verification and invocation scripts and script hashes (neo Contract.cs, Helper.cs):
 *   single-sig:  0c 21 <33-byte key> 41 56e7b327        (PUSHDATA1 key; SYSCALL CheckSig)
 *   multisig:    PUSH m, 0c 21 <key> for each key sorted by (X, Y), PUSH n, 41 9ed0dc3a
 *   invocation:  0c 40 <64-byte signature>              (one per required signature)
 * A script hash is Hash160(script) in serialization ("raw") order; Neo displays it as 0x and the
 * reversed bytes in hex. */
#ifndef NSL_NEO_SCRIPT_H
#define NSL_NEO_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/errors.h"
#include "neo/key.h"

#define NSL_NEO_HASH160_LEN         20
#define NSL_NEO_HASH160_DISPLAY_LEN 43 /* "0x" + 40 hex + NUL */
#define NSL_NEO_SINGLE_SIG_LEN      40
#define NSL_NEO_INVOCATION_LEN      66
#define NSL_NEO_MULTISIG_MAX_KEYS   1024 /* neo Contract.CreateMultiSigRedeemScript */
#define NSL_NEO_MULTISIG_KEY_STRIDE 35   /* 0c 21 <33 bytes> */

/* Pure codecs: 0 or -1 (invalid point). */
int nsl_neo_script_single_sig(const uint8_t pub[NSL_NEO_PUBKEY_LEN],
                              uint8_t out[NSL_NEO_SINGLE_SIG_LEN]);
int nsl_neo_script_invocation(const uint8_t sig[NSL_NEO_SIG_LEN],
                              uint8_t out[NSL_NEO_INVOCATION_LEN]);

/* An m-of-n multisig verification script (keys are sorted; the input is not changed). Fails on
 * m outside 1..n, n over 1024, an invalid or repeated key. */
nsl_err nsl_neo_script_multisig(size_t m, const uint8_t (*pubs)[NSL_NEO_PUBKEY_LEN], size_t n,
                                struct nsl_buf *out, struct nsl_error *err);

/* Recognisers (neo Helper.IsSignatureContract / IsMultiSigContract): 0 when the script has exactly
 * that shape. *pub points at the key inside script; multisig keys start at *first_key (the key
 * bytes of the first PUSHDATA1), one every NSL_NEO_MULTISIG_KEY_STRIDE bytes. */
int nsl_neo_script_parse_single_sig(const uint8_t *script, size_t len, const uint8_t **pub);
int nsl_neo_script_parse_multisig(const uint8_t *script, size_t len, size_t *m, size_t *n,
                                  const uint8_t **first_key);
/* The signatures of an invocation script made only of 0c 40 <sig> pushes: *count of them, the
 * first at *first_sig, one every NSL_NEO_INVOCATION_LEN bytes. */
int nsl_neo_script_parse_invocation(const uint8_t *script, size_t len, size_t *count,
                                    const uint8_t **first_sig);

int nsl_neo_script_hash(const uint8_t *script, size_t len, uint8_t hash[NSL_NEO_HASH160_LEN]);
/* Display form "0x" + reversed hex, and back (the 0x is optional on input; either case). */
void nsl_neo_hash160_display(const uint8_t hash[NSL_NEO_HASH160_LEN],
                             char out[NSL_NEO_HASH160_DISPLAY_LEN]);
int nsl_neo_hash160_parse(const char *text, uint8_t hash[NSL_NEO_HASH160_LEN]);

#endif
