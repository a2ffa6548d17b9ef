/* The Nitro Secure Module device (/dev/nsm, docs/nsm.md): CBOR requests and responses as the
 * NSM driver and AWS's SDKs define them (../shared/NITRO.md), and one ioctl that carries them.
 * The encoders and decoders are pure functions over bytes so they are tested without a device;
 * nsl_nsm_call is the only code that touches the kernel. Responses are parsed by key; an NSM
 * error body ({"Error": "InvalidArgument"}, ...) becomes an error naming it. */
#ifndef NSL_ATTEST_NSM_H
#define NSL_ATTEST_NSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/errors.h"

#define NSL_NSM_DEVICE           "/dev/nsm"
#define NSL_NSM_MAX_REQUEST      4096   /* bytes of CBOR the driver takes */
#define NSL_NSM_RESPONSE_CAP     0x3000 /* response buffer: 12288 bytes */
#define NSL_NSM_MAX_RANDOM       256    /* bytes one GetRandom returns at most */
#define NSL_NSM_MAX_USER_DATA    512
#define NSL_NSM_MAX_NONCE        512
#define NSL_NSM_MAX_PUBLIC_KEY   1024
#define NSL_NSM_PCR_COUNT        32 /* real NSM: 0..15 locked at boot, 16..31 extendable */
#define NSL_NSM_PCR_LOCKED_COUNT 16
#define NSL_NSM_PCR_LEN          48 /* SHA-384 */
#define NSL_NSM_MAX_PCR_LEN      64 /* longest PCR any NSM digest gives (SHA-512) */

/* ---- requests (append CBOR to out) ---------------------------------------------------------- */

/* The bare text "GetRandom" (6947657452616e646f6d). */
nsl_err nsl_nsm_encode_get_random(struct nsl_buf *out, struct nsl_error *err);
/* {"Attestation": {"user_data": bstr|null, "nonce": bstr|null, "public_key": bstr|null}}; a NULL
 * pointer is null. Fields over their limit are NSL_ERR_LIMIT_EXCEEDED. */
nsl_err nsl_nsm_encode_attestation(const uint8_t *user_data, size_t user_data_len,
                                   const uint8_t *nonce, size_t nonce_len,
                                   const uint8_t *public_key, size_t public_key_len,
                                   struct nsl_buf *out, struct nsl_error *err);
/* {"DescribePCR": {"index": index}} (index < 32, else NSL_ERR_INVALID_PARAMS). */
nsl_err nsl_nsm_encode_describe_pcr(unsigned index, struct nsl_buf *out, struct nsl_error *err);

/* ---- responses --------------------------------------------------------------------------- */

/* {"GetRandom": {"random": bstr}}: copies the bytes (1..256) to out (capacity cap). */
nsl_err nsl_nsm_decode_get_random(const uint8_t *resp, size_t len, uint8_t *out, size_t cap,
                                  size_t *out_len, struct nsl_error *err);
/* {"Attestation": {"document": bstr}}: appends the document to doc. */
nsl_err nsl_nsm_decode_attestation(const uint8_t *resp, size_t len, struct nsl_buf *doc,
                                   struct nsl_error *err);
/* {"DescribePCR": {"lock": bool, "data": bstr}}: data is 32..64 bytes. */
nsl_err nsl_nsm_decode_describe_pcr(const uint8_t *resp, size_t len, bool *locked,
                                    uint8_t data[NSL_NSM_MAX_PCR_LEN], size_t *data_len,
                                    struct nsl_error *err);

/* ---- the device ---------------------------------------------------------------------------- */

struct nsl_nsm;

/* Opens the device at path (NSL_NSM_DEVICE on Nitro). A missing or unopenable device is
 * NSL_ERR_UNAVAILABLE naming the path and the reason. */
nsl_err nsl_nsm_open(const char *path, struct nsl_nsm **nsm, struct nsl_error *err);
void nsl_nsm_close(struct nsl_nsm *nsm);

/* One NSM_IOCTL_RAW round trip: req (at most 4096 bytes) in, the response appended to resp
 * (truncated by the kernel at 12288 bytes). Transport failures (errno) are NSL_ERR_UNAVAILABLE. */
nsl_err nsl_nsm_call(struct nsl_nsm *nsm, const uint8_t *req, size_t req_len, struct nsl_buf *resp,
                     struct nsl_error *err);

/* GetRandom as often as needed to fill len bytes. */
nsl_err nsl_nsm_get_random(struct nsl_nsm *nsm, uint8_t *out, size_t len, struct nsl_error *err);
/* Attestation: appends the COSE_Sign1 document to doc (NULL fields are null). */
nsl_err nsl_nsm_attest(struct nsl_nsm *nsm, const uint8_t *user_data, size_t user_data_len,
                       const uint8_t *nonce, size_t nonce_len, const uint8_t *public_key,
                       size_t public_key_len, struct nsl_buf *doc, struct nsl_error *err);
nsl_err nsl_nsm_describe_pcr(struct nsl_nsm *nsm, unsigned index, bool *locked,
                             uint8_t data[NSL_NSM_MAX_PCR_LEN], size_t *data_len,
                             struct nsl_error *err);
/* Mixes 256 bytes of NSM randomness into OpenSSL's DRBG (RAND_add). A fresh enclave may have no
 * entropy: call this before generating any key, as its own statement (never inside an assert). */
nsl_err nsl_nsm_seed_drbg(struct nsl_nsm *nsm, struct nsl_error *err);

#endif
