/* The attestation service: a Nitro attestation document (or its simulated twin in dev mode)
 * whose public_key is this boot's HPKE key and whose user_data commits to the enclave's signing
 * key and the caller's userData (enclave/identity.h). */
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "common/json.h"
#include "enclave/identity.h"
#include "enclave/storage.h"
#include "services/service.h"

static uint8_t *decode_hex(const char *hex, size_t *len)
{
    size_t n = hex ? strlen(hex) : 0;
    uint8_t *out = malloc(n / 2 + 1);
    if (out && nsl_hex_decode(hex ? hex : "", n, out, n / 2 + 1, len) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static json_t *document_result(struct nsl_call *call, const struct nsl_buf *doc,
                               const struct nsl_neo_signing_key *signer)
{
    char *b64 = nsl_base64_encode_alloc(doc->data, doc->len);
    char hpke[2 * NSL_HPKE_PUBLIC_KEY_LEN + 1], pub[2 * NSL_NEO_PUBKEY_LEN + 1];
    nsl_hex_encode(nsl_identity_hpke_public(call->ctx->identity), NSL_HPKE_PUBLIC_KEY_LEN, hpke);
    nsl_hex_encode(nsl_neo_signing_key_public(signer), NSL_NEO_PUBKEY_LEN, pub);
    json_t *r = b64 ? json_pack("{s:s, s:s, s:s, s:s}", "document", b64, "mode", call->ctx->mode,
                                "hpkePublicKey", hpke, "signerPublicKey", pub)
                    : NULL;
    free(b64);
    return r;
}

nsl_err nsl_attestation_getDocument(struct nsl_call *call)
{
    struct nsl_store *st = nsl_storage_get(call->ctx->storage, &call->error);
    if (!call->ctx->identity)
        return nsl_fail(&call->error, NSL_ERR_UNAVAILABLE, "attestation is not available");
    if (!st)
        return call->error.code;
    size_t nonce_len = 0, data_len = 0;
    uint8_t *nonce = decode_hex(nsl_json_str(call->params, "nonce"), &nonce_len);
    uint8_t *data = decode_hex(nsl_json_str(call->params, "userData"), &data_len);
    struct nsl_buf doc = {0};
    struct nsl_neo_signing_key *signer = NULL;
    nsl_err rc = nonce && data ? nsl_identity_signer(call->ctx->identity, st, &signer, &call->error)
                               : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK)
        rc = nsl_identity_attest(call->ctx->identity, st, nonce, nonce_len, data, data_len, &doc,
                                 &call->error);
    if (rc == NSL_OK && !(call->result = document_result(call, &doc, signer)))
        rc = nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    nsl_neo_signing_key_free(signer);
    nsl_buf_free(&doc);
    free(nonce);
    free(data);
    return rc;
}
