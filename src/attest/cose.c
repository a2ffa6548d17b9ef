/* COSE_Sign1 helpers (see cose.h). The Sig_structure is encoded here rather than with libcbor
 * so that its bytes are exactly the deterministic encoding of RFC 9052 §4.4 / RFC 8949 §4.2.1
 * whatever the library version. */
#include "attest/cose.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <stdlib.h>

#include "attest/cbor.h"

static const char SIGNATURE1[] = "Signature1";

static int append_head(struct nsl_buf *out, uint8_t major, uint64_t value)
{
    uint8_t head[9];
    return nsl_buf_append(out, head, nsl_attest_cbor_head(major, value, head));
}

static int append_bstr(struct nsl_buf *out, const uint8_t *data, size_t len)
{
    if (append_head(out, 2, len) != 0)
        return -1;
    return len == 0 ? 0 : nsl_buf_append(out, data, len);
}

int nsl_attest_cose_sig_structure(const uint8_t *protected_header, size_t protected_len,
                                  const uint8_t *payload, size_t payload_len, struct nsl_buf *out)
{
    if (append_head(out, 4, 4) != 0 || append_head(out, 3, sizeof SIGNATURE1 - 1) != 0 ||
        nsl_buf_append(out, SIGNATURE1, sizeof SIGNATURE1 - 1) != 0 ||
        append_bstr(out, protected_header, protected_len) != 0 || append_bstr(out, NULL, 0) != 0 ||
        append_bstr(out, payload, payload_len) != 0)
        return -1;
    return 0;
}

int nsl_attest_cose_sig_to_der(const uint8_t sig[NSL_ATTEST_SIGNATURE_LEN], uint8_t **der,
                               size_t *der_len)
{
    *der = NULL;
    *der_len = 0;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, NSL_ATTEST_ES384_COORD, NULL);
    BIGNUM *sv = BN_bin2bn(sig + NSL_ATTEST_ES384_COORD, NSL_ATTEST_ES384_COORD, NULL);
    int rc = -1;
    if (!s || !r || !sv || ECDSA_SIG_set0(s, r, sv) != 1)
        goto cleanup;
    r = sv = NULL; /* owned by s now */
    int n = i2d_ECDSA_SIG(s, NULL);
    unsigned char *buf = n > 0 ? malloc((size_t)n) : NULL, *p = buf;
    if (!buf || i2d_ECDSA_SIG(s, &p) != n) {
        free(buf);
        goto cleanup;
    }
    *der = buf;
    *der_len = (size_t)n;
    rc = 0;
cleanup:
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(s);
    return rc;
}

int nsl_attest_cose_sig_from_der(const uint8_t *der, size_t der_len,
                                 uint8_t sig[NSL_ATTEST_SIGNATURE_LEN])
{
    const unsigned char *p = der;
    ECDSA_SIG *s = der_len <= 0x7FFFFFFF ? d2i_ECDSA_SIG(NULL, &p, (long)der_len) : NULL;
    int rc = -1;
    if (!s || p != der + der_len)
        goto cleanup;
    const BIGNUM *r = NULL, *sv = NULL;
    ECDSA_SIG_get0(s, &r, &sv);
    if (BN_bn2binpad(r, sig, NSL_ATTEST_ES384_COORD) < 0 ||
        BN_bn2binpad(sv, sig + NSL_ATTEST_ES384_COORD, NSL_ATTEST_ES384_COORD) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    ECDSA_SIG_free(s);
    return rc;
}
