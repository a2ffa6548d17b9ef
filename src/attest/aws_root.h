/* The pinned trust anchor of attestation verification: the AWS Nitro Enclaves root certificate
 * G1 as DER, and its SHA-256 fingerprint (checked against the bytes before each use). */
#ifndef NSL_ATTEST_AWS_ROOT_H
#define NSL_ATTEST_AWS_ROOT_H

#include <stdint.h>

#define NSL_ATTEST_AWS_ROOT_DER_LEN 533

extern const uint8_t nsl_attest_aws_root_der[NSL_ATTEST_AWS_ROOT_DER_LEN];
/* 641A0321A3E244EFE456463195D606317ED7CDCC3C1756E09893F3C68F79BB5B */
extern const uint8_t nsl_attest_aws_root_sha256[32];

#endif
