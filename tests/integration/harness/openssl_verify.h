/* An independent check of our ECDSA-P256/SHA-256 signatures: the OpenSSL command line
 * (`openssl dgst -sha256 -verify`) on a message, a 64-byte r||s signature and a compressed key. */
#ifndef NSL_TEST_OPENSSL_VERIFY_H
#define NSL_TEST_OPENSSL_VERIFY_H

#include <stddef.h>
#include <stdint.h>

/* Writes the message, the DER signature and the key's SubjectPublicKeyInfo under dir and runs
 * openssl; returns its exit status (0: "Verified OK"). */
int nsl_openssl_verify_p256(const char *dir, const uint8_t pub[33], const uint8_t sig[64],
                            const void *msg, size_t len);
/* The same with the key and signature as hex. */
int nsl_openssl_verify_p256_hex(const char *dir, const char *pub_hex, const char *sig_hex,
                                const void *msg, size_t len);

#endif
