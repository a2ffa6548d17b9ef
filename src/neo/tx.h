/* The Neo N3 transaction format (neo Transaction.cs, Signer.cs, Witness.cs, TransactionAttribute
 * and its subclasses), all integers little-endian, var-int/var-bytes as in varint.h:
 *   version u8 (= 0) | nonce u32 | systemFee i64 (>= 0) | networkFee i64 (>= 0) |
 *   validUntilBlock u32 | signers (var-int 1..16) | attributes (var-int 0..16-signers) |
 *   script (var-bytes 1..65535)                       <- the "unsigned" part, hashed for the txid
 *   | witnesses (var-int = number of signers; each invocation and verification var-bytes
 *     of at most 1024)
 * Signer: account (20) | scopes u8 | [contracts: var-int <=16 x 20] if 0x10 | [groups: var-int
 * <=16 x 33] if 0x20 | [rules: var-int <=16, see witness_rule.h] if 0x40. Scopes None 0x00,
 * CalledByEntry 0x01, CustomContracts 0x10, CustomGroups 0x20, WitnessRules 0x40, Global 0x80
 * (alone only). Signer accounts are distinct.
 * Attribute: type u8 | body: HighPriority 0x01 (none), OracleResponse 0x11 (id u64, code u8,
 * result var-bytes <= 65535, empty unless code is Success), NotValidBefore 0x20 (u32), Conflicts
 * 0x21 (32-byte hash; may repeat), NotaryAssisted 0x22 (nKeys u8); other types at most once.
 * Whole transaction at most 102400 bytes.
 *
 * txid = SHA-256(unsigned part), displayed as 0x + reversed hex. Sign data = u32le(network magic)
 * || txid (raw). Decoding is strict: truncation, trailing bytes, an unknown version or type, a
 * non-canonical var-int, or any limit exceeded fails with INVALID_PARAMS and a message naming it.
 *
 * A decoded transaction points into its input for the script, the serialized witness rules and an
 * oracle result: keep the input alive while the transaction is used. The struct is large (about
 * 50 KB): allocate it, don't put it on a small stack. */
#ifndef NSL_NEO_TX_H
#define NSL_NEO_TX_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/errors.h"
#include "neo/key.h"
#include "neo/script.h"
#include "neo/witness_rule.h"

#define NSL_NEO_TX_VERSION          0
#define NSL_NEO_TX_MAX_SIZE         102400 /* Transaction.MaxTransactionSize */
#define NSL_NEO_TX_MAX_ATTRIBUTES   16     /* signers + attributes, MaxTransactionAttributes */
#define NSL_NEO_TX_MAX_SCRIPT       65535
#define NSL_NEO_MAX_INVOCATION      1024 /* Witness.MaxInvocationScript */
#define NSL_NEO_MAX_VERIFICATION    1024 /* Witness.MaxVerificationScript */
#define NSL_NEO_ORACLE_MAX_RESULT   65535
#define NSL_NEO_TXID_LEN            32
#define NSL_NEO_HASH256_DISPLAY_LEN 67 /* "0x" + 64 hex + NUL */
#define NSL_NEO_SIGN_DATA_LEN       36

enum nsl_neo_scope {
    NSL_NEO_SCOPE_NONE = 0x00,
    NSL_NEO_SCOPE_CALLED_BY_ENTRY = 0x01,
    NSL_NEO_SCOPE_CUSTOM_CONTRACTS = 0x10,
    NSL_NEO_SCOPE_CUSTOM_GROUPS = 0x20,
    NSL_NEO_SCOPE_WITNESS_RULES = 0x40,
    NSL_NEO_SCOPE_GLOBAL = 0x80,
};

enum nsl_neo_attr_type {
    NSL_NEO_ATTR_HIGH_PRIORITY = 0x01,
    NSL_NEO_ATTR_ORACLE_RESPONSE = 0x11,
    NSL_NEO_ATTR_NOT_VALID_BEFORE = 0x20,
    NSL_NEO_ATTR_CONFLICTS = 0x21,
    NSL_NEO_ATTR_NOTARY_ASSISTED = 0x22,
};

struct nsl_neo_signer {
    uint8_t account[NSL_NEO_HASH160_LEN];
    uint8_t scopes;
    uint8_t ncontracts; /* used with CustomContracts */
    uint8_t ngroups;    /* used with CustomGroups */
    uint8_t nrules;     /* used with WitnessRules */
    uint8_t contracts[NSL_NEO_MAX_SUBITEMS][NSL_NEO_HASH160_LEN];
    uint8_t groups[NSL_NEO_MAX_SUBITEMS][NSL_NEO_PUBKEY_LEN];
    const uint8_t *rules; /* nrules serialized rules, without their count */
    size_t rules_len;
};

struct nsl_neo_attr {
    uint8_t type;
    uint64_t oracle_id;
    uint8_t oracle_code;
    const uint8_t *oracle_result;
    size_t oracle_result_len;
    uint32_t not_valid_before;
    uint8_t conflicts[NSL_NEO_TXID_LEN];
    uint8_t notary_keys;
};

struct nsl_neo_witness {
    size_t invocation_len;
    size_t verification_len;
    uint8_t invocation[NSL_NEO_MAX_INVOCATION];
    uint8_t verification[NSL_NEO_MAX_VERIFICATION];
};

struct nsl_neo_tx {
    uint8_t version;
    uint32_t nonce;
    int64_t system_fee;
    int64_t network_fee;
    uint32_t valid_until_block;
    size_t nsigners;
    struct nsl_neo_signer signers[NSL_NEO_TX_MAX_ATTRIBUTES];
    size_t nattrs;
    struct nsl_neo_attr attrs[NSL_NEO_TX_MAX_ATTRIBUTES];
    const uint8_t *script;
    size_t script_len;
    size_t nwitnesses; /* 0 while unsigned, else nsigners */
    struct nsl_neo_witness witnesses[NSL_NEO_TX_MAX_ATTRIBUTES];
};

/* A signed (full) transaction, or only the unsigned part (then nwitnesses = 0). */
nsl_err nsl_neo_tx_decode(const uint8_t *data, size_t len, struct nsl_neo_tx *tx,
                          struct nsl_error *err);
nsl_err nsl_neo_tx_decode_unsigned(const uint8_t *data, size_t len, struct nsl_neo_tx *tx,
                                   struct nsl_error *err);

/* Append the encoding to out after checking every rule the decoder checks. The full encoding
 * needs one witness per signer. On failure out is left as it was. */
nsl_err nsl_neo_tx_encode_unsigned(const struct nsl_neo_tx *tx, struct nsl_buf *out,
                                   struct nsl_error *err);
nsl_err nsl_neo_tx_encode(const struct nsl_neo_tx *tx, struct nsl_buf *out, struct nsl_error *err);

nsl_err nsl_neo_tx_hash(const struct nsl_neo_tx *tx, uint8_t txid[NSL_NEO_TXID_LEN],
                        struct nsl_error *err);
nsl_err nsl_neo_tx_sign_data(const struct nsl_neo_tx *tx, uint32_t network_magic,
                             uint8_t out[NSL_NEO_SIGN_DATA_LEN], struct nsl_error *err);
/* 0x + reversed hex of a 32-byte hash (txid, block hash). */
void nsl_neo_hash256_display(const uint8_t hash[NSL_NEO_TXID_LEN],
                             char out[NSL_NEO_HASH256_DISPLAY_LEN]);

#endif
