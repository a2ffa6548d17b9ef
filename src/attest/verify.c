/* Attestation document verification (see verify.h). Order: parse; choose the trust anchor (the
 * pinned AWS root, or a simulated root when allowed); the X.509 chain to it at the requested time
 * (RFC 5280 §6 via OpenSSL's X509_verify_cert); the COSE signature (RFC 9052 §4.4) with the now
 * trusted leaf key; then the caller's expectations, which mean something only once the document
 * is authentic. */
#include "attest/verify.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attest/aws_root.h"
#include "attest/cose.h"
#include "common/buf.h"
#include "common/encoding.h"
#include "crypto/hash.h"

#define UNTRUSTED NSL_ERR_UNAUTHENTICATED

const char *nsl_attest_mode_name(enum nsl_attest_mode mode)
{
    switch (mode) {
    case NSL_ATTEST_MODE_NITRO:
        return "nitro";
    case NSL_ATTEST_MODE_NITRO_DEBUG:
        return "nitro-debug";
    case NSL_ATTEST_MODE_SIMULATED:
        return "simulated";
    }
    return "unknown";
}

static nsl_err oom(struct nsl_error *err)
{
    return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory or OpenSSL failure");
}

static X509 *parse_cert(const struct nsl_attest_blob *b)
{
    const unsigned char *p = b->data;
    X509 *x = d2i_X509(NULL, &p, (long)b->len);
    if (x && p != b->data + b->len) { /* trailing bytes */
        X509_free(x);
        return NULL;
    }
    return x;
}

static void format_time(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, cap, "?");
}

/* ---- trust anchor -------------------------------------------------------------------------- */

static bool is_aws_root(const struct nsl_attest_blob *cert)
{
    return cert->len == NSL_ATTEST_AWS_ROOT_DER_LEN &&
           memcmp(cert->data, nsl_attest_aws_root_der, NSL_ATTEST_AWS_ROOT_DER_LEN) == 0;
}

static bool all_pcrs_zero(const struct nsl_attest_document *doc)
{
    for (unsigned i = 0; i < NSL_ATTEST_MAX_PCRS; i++)
        if ((doc->pcr_mask & (1u << i)) && !nsl_attest_document_pcr_is_zero(doc, i))
            return false;
    return true;
}

/* The root to verify against, as DER: the pinned AWS root when cabundle[0] is it, else the
 * document's own root when simulated documents are allowed and this is one. */
static nsl_err choose_anchor(const struct nsl_attest_document *doc,
                             const struct nsl_attest_policy *policy,
                             const struct nsl_attest_blob **anchor, bool *simulated,
                             struct nsl_error *err)
{
    uint8_t digest[32];
    if (nsl_sha256(nsl_attest_aws_root_der, NSL_ATTEST_AWS_ROOT_DER_LEN, digest) != 0)
        return oom(err);
    if (memcmp(digest, nsl_attest_aws_root_sha256, sizeof digest) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL,
                        "the compiled-in AWS Nitro root does not match its pinned fingerprint");
    *simulated = false;
    *anchor = &doc->cabundle[0];
    if (is_aws_root(&doc->cabundle[0]))
        return NSL_OK;
    bool sim_name =
        strncmp(doc->module_id, NSL_ATTEST_SIM_PREFIX, sizeof NSL_ATTEST_SIM_PREFIX - 1) == 0;
    if (!sim_name)
        return nsl_fail(err, UNTRUSTED,
                        "certificate chain does not lead to the AWS Nitro root "
                        "(cabundle[0] is not the AWS Nitro root G1)");
    if (!policy->allow_simulated)
        return nsl_fail(err, UNTRUSTED, "simulated document refused (module_id %s)",
                        doc->module_id);
    if (!all_pcrs_zero(doc))
        return nsl_fail(err, UNTRUSTED, "simulated document refused (its PCRs are not all zero)");
    *simulated = true;
    return NSL_OK;
}

/* ---- COSE signature ----------------------------------------------------------------------- */

static nsl_err check_leaf_key(EVP_PKEY *key, struct nsl_error *err)
{
    char group[32] = "";
    size_t n = 0;
    if (!key || !EVP_PKEY_is_a(key, "EC") ||
        EVP_PKEY_get_group_name(key, group, sizeof group, &n) != 1 ||
        strcmp(group, "secp384r1") != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "malformed: the leaf certificate's key is not ECDSA P-384");
    return NSL_OK;
}

static nsl_err check_signature(const struct nsl_attest_document *doc, X509 *leaf,
                               struct nsl_error *err)
{
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    NSL_TRY(check_leaf_key(key, err));
    struct nsl_buf tbs = {0};
    uint8_t *der = NULL;
    size_t der_len = 0;
    EVP_MD_CTX *md = NULL;
    nsl_err rc = NSL_OK;
    if (nsl_attest_cose_sig_structure(doc->protected_header.data, doc->protected_header.len,
                                      doc->payload.data, doc->payload.len, &tbs) != 0 ||
        nsl_attest_cose_sig_to_der(doc->signature, &der, &der_len) != 0 ||
        !(md = EVP_MD_CTX_new()) || EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) != 1) {
        rc = oom(err);
        goto cleanup;
    }
    if (EVP_DigestVerify(md, der, der_len, tbs.data, tbs.len) != 1)
        rc = nsl_fail(err, UNTRUSTED, "signature does not verify");
cleanup:
    EVP_MD_CTX_free(md);
    free(der);
    nsl_buf_free(&tbs);
    return rc;
}

/* ---- certificate chain -------------------------------------------------------------------- */

static nsl_err chain_error(X509_STORE_CTX *ctx, bool simulated, int64_t at, struct nsl_error *err)
{
    int e = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    const char *why = X509_verify_cert_error_string(e);
    if (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID) {
        char when[32];
        format_time(at, when, sizeof when);
        return nsl_fail(err, UNTRUSTED,
                        "certificate expired or not yet valid at %s (unix %lld; %s, depth %d)",
                        when, (long long)at, why, depth);
    }
    return nsl_fail(err, UNTRUSTED, "certificate chain does not lead to the %s root (%s, depth %d)",
                    simulated ? "simulated" : "AWS Nitro", why, depth);
}

static nsl_err check_chain(const struct nsl_attest_document *doc, X509 *leaf,
                           const struct nsl_attest_blob *anchor, bool simulated, int64_t at,
                           struct nsl_error *err)
{
    nsl_err rc = NSL_OK;
    X509 *root = NULL;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    if (!store || !ctx || !untrusted) {
        rc = oom(err);
        goto cleanup;
    }
    if (!(root = parse_cert(anchor))) {
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                      "malformed: cabundle[0] is not a DER X.509 certificate");
        goto cleanup;
    }
    for (size_t i = 1; i < doc->cabundle_len; i++) {
        X509 *x = parse_cert(&doc->cabundle[i]);
        if (!x) {
            rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                          "malformed: cabundle[%zu] is not a DER X.509 certificate", i);
            goto cleanup;
        }
        if (!sk_X509_push(untrusted, x)) {
            X509_free(x);
            rc = oom(err);
            goto cleanup;
        }
    }
    if (X509_STORE_add_cert(store, root) != 1 ||
        X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        rc = oom(err);
        goto cleanup;
    }
    /* Not X509_V_FLAG_X509_STRICT: AWS's leaf certificates carry no authority key identifier. */
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_USE_CHECK_TIME);
    X509_VERIFY_PARAM_set_time(param, (time_t)at);
    if (X509_verify_cert(ctx) != 1)
        rc = chain_error(ctx, simulated, at, err);
cleanup:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(root);
    sk_X509_pop_free(untrusted, X509_free);
    return rc;
}

/* ---- the caller's expectations ------------------------------------------------------------ */

static nsl_err check_expectations(const struct nsl_attest_document *doc,
                                  const struct nsl_attest_policy *policy, bool simulated,
                                  enum nsl_attest_mode *mode, struct nsl_error *err)
{
    if (policy->nonce && (!doc->nonce.data || doc->nonce.len != policy->nonce_len ||
                          memcmp(doc->nonce.data, policy->nonce, policy->nonce_len) != 0))
        return nsl_fail(err, UNTRUSTED, "nonce mismatch%s",
                        doc->nonce.data ? "" : " (the document has no nonce)");
    for (unsigned i = 0; i < NSL_ATTEST_MAX_PCRS; i++) {
        if (!(policy->pcr_mask & (1u << i)))
            continue;
        if (!(doc->pcr_mask & (1u << i)))
            return nsl_fail(err, UNTRUSTED, "PCR %u mismatch (the document has no PCR %u)", i, i);
        if (memcmp(doc->pcrs[i], policy->pcrs[i], NSL_ATTEST_PCR_LEN) != 0)
            return nsl_fail(err, UNTRUSTED, "PCR %u mismatch", i);
    }
    if (simulated) {
        *mode = NSL_ATTEST_MODE_SIMULATED;
        return NSL_OK;
    }
    if (!(doc->pcr_mask & 1u))
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: the document has no PCR0");
    bool debug = nsl_attest_document_pcr_is_zero(doc, 0);
    if (debug && !policy->allow_debug)
        return nsl_fail(err, UNTRUSTED, "debug-mode enclave (PCR0 is zero) refused");
    *mode = debug ? NSL_ATTEST_MODE_NITRO_DEBUG : NSL_ATTEST_MODE_NITRO;
    return NSL_OK;
}

static int64_t policy_time(const struct nsl_attest_policy *policy)
{
    return policy->at_set ? policy->at : (int64_t)time(NULL);
}

nsl_err nsl_attest_verify_document(const struct nsl_attest_document *doc,
                                   const struct nsl_attest_policy *policy,
                                   enum nsl_attest_mode *mode, struct nsl_error *err)
{
    const struct nsl_attest_blob *anchor = NULL;
    bool simulated = false;
    if (doc->cabundle_len == 0 || !doc->module_id)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: the document is empty");
    NSL_TRY(choose_anchor(doc, policy, &anchor, &simulated, err));
    X509 *leaf = parse_cert(&doc->certificate);
    if (!leaf)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "malformed: the certificate is not a DER X.509 certificate");
    /* The leaf key first, then what it signed: a damaged certificate is reported as such even
     * though the payload that carries it no longer matches the signature either. */
    nsl_err rc = check_chain(doc, leaf, anchor, simulated, policy_time(policy), err);
    if (rc == NSL_OK)
        rc = check_signature(doc, leaf, err);
    X509_free(leaf);
    if (rc == NSL_OK)
        rc = check_expectations(doc, policy, simulated, mode, err);
    return rc;
}

nsl_err nsl_attest_verify(const uint8_t *data, size_t len, const struct nsl_attest_policy *policy,
                          struct nsl_attest_result *result, struct nsl_error *err)
{
    memset(result, 0, sizeof *result);
    NSL_TRY(nsl_attest_document_parse(data, len, &result->doc, err));
    result->at = policy_time(policy);
    struct nsl_attest_policy fixed = *policy; /* one clock reading for the whole check */
    fixed.at_set = true;
    fixed.at = result->at;
    nsl_err rc = nsl_attest_verify_document(&result->doc, &fixed, &result->mode, err);
    if (rc != NSL_OK)
        nsl_attest_result_free(result);
    return rc;
}

void nsl_attest_result_free(struct nsl_attest_result *result)
{
    if (!result)
        return;
    nsl_attest_document_free(&result->doc);
    memset(result, 0, sizeof *result);
}

int nsl_attest_policy_expect_pcr(struct nsl_attest_policy *policy, unsigned index, const char *hex)
{
    uint8_t value[NSL_ATTEST_PCR_LEN];
    size_t n = 0, len = strlen(hex);
    if (index >= NSL_ATTEST_MAX_PCRS || len != 2 * NSL_ATTEST_PCR_LEN ||
        nsl_hex_decode(hex, len, value, sizeof value, &n) != 0)
        return -1;
    memcpy(policy->pcrs[index], value, sizeof value);
    policy->pcr_mask |= 1u << index;
    return 0;
}
