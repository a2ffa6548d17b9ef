/* The egress proxy's pure parts (docs/egress.md): parsing the enclave's HTTP CONNECT request head
 * (RFC 9110 §9.3.6, authority-form target) and matching its host:port against the allowlist.
 * No sockets here, so every case is unit-tested (tests/unit/test_parent_egress.c). */
#ifndef NSL_PARENT_EGRESS_REQUEST_H
#define NSL_PARENT_EGRESS_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NSL_EGRESS_HEAD_MAX 8192 /* a CONNECT head longer than this is refused (400) */
#define NSL_EGRESS_HOST_MAX 253

/* Where a CONNECT asks to go. host is lowercased and without brackets for IPv6. */
struct nsl_egress_target {
    char host[NSL_EGRESS_HOST_MAX + 1];
    uint16_t port;
};

/* The length of the head (through the blank line) when buf holds all of it, else 0. Accepts
 * "\r\n\r\n" and, leniently, "\n\n". */
size_t nsl_egress_head_length(const char *buf, size_t len);

/* Parses "CONNECT host:port HTTP/1.x" and header lines up to the blank line. Header lines are
 * checked for shape (a name, a colon) but otherwise ignored. Returns 0, or -1 with a reason fit
 * to send back in why. */
int nsl_egress_parse_connect(const char *head, size_t len, struct nsl_egress_target *target,
                             char *why, size_t why_len);

/* Parses "host:port" (host a name, an IPv4 address or [IPv6]) into target; 0 or -1. */
int nsl_egress_parse_authority(const char *text, size_t len, struct nsl_egress_target *target);

/* The allowlist of --egress-allow: exact host:port pairs (host compared case-insensitively). */
struct nsl_egress_allowlist {
    size_t count;
    struct nsl_egress_target *entries;
};

/* Parses "HOST:PORT,HOST:PORT,..." (spaces around entries ignored; "" = empty list). Returns 0,
 * or -1 with the offending entry named in why. Free with nsl_egress_allowlist_clear. */
int nsl_egress_allowlist_parse(const char *text, struct nsl_egress_allowlist *list, char *why,
                               size_t why_len);
void nsl_egress_allowlist_clear(struct nsl_egress_allowlist *list);
bool nsl_egress_allowlist_match(const struct nsl_egress_allowlist *list,
                                const struct nsl_egress_target *target);

/* "host:port", with brackets around an IPv6 host. */
void nsl_egress_target_format(const struct nsl_egress_target *target, char *out, size_t len);

#endif
