/* CONNECT head parsing and allowlist matching (see egress_request.h). Everything reads through
 * explicit lengths: the head comes from the enclave, which the parent does not trust to be
 * well-formed, and the parent must never read past what it received. */
#include "parent/egress_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t nsl_egress_head_length(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

static bool ipv6_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

int nsl_egress_parse_authority(const char *text, size_t len, struct nsl_egress_target *target)
{
    size_t host_start, host_end, colon;
    if (len == 0)
        return -1;
    if (text[0] == '[') {
        const char *close = memchr(text, ']', len);
        if (!close)
            return -1;
        host_start = 1;
        host_end = (size_t)(close - text);
        colon = host_end + 1;
        for (size_t i = host_start; i < host_end; i++)
            if (!ipv6_char(text[i]))
                return -1;
    } else {
        const char *c = memchr(text, ':', len);
        if (!c)
            return -1;
        host_start = 0;
        host_end = colon = (size_t)(c - text);
        for (size_t i = 0; i < host_end; i++)
            if (!name_char(text[i]))
                return -1;
    }
    size_t host_len = host_end - host_start;
    if (host_len == 0 || host_len > NSL_EGRESS_HOST_MAX || colon >= len || text[colon] != ':')
        return -1;
    size_t digits = len - colon - 1;
    if (digits == 0 || digits > 5)
        return -1;
    unsigned long port = 0;
    for (size_t i = colon + 1; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        port = port * 10 + (unsigned long)(text[i] - '0');
    }
    if (port == 0 || port > 65535)
        return -1;
    for (size_t i = 0; i < host_len; i++)
        target->host[i] = lower(text[host_start + i]);
    target->host[host_len] = 0;
    target->port = (uint16_t)port;
    return 0;
}

static int fail(char *why, size_t why_len, const char *reason)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", reason);
    return -1;
}

/* Checks one header line (without its line ending): "Name: value", name a token. */
static bool header_ok(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && line[i] != ':') {
        char c = line[i];
        if (c <= ' ' || c >= 127 || strchr("\"(),/;<=>?@[\\]{}", c))
            return false;
        i++;
    }
    if (i == 0 || i == len)
        return false;
    for (; i < len; i++)
        if ((unsigned char)line[i] < ' ' && line[i] != '\t')
            return false;
    return true;
}

int nsl_egress_parse_connect(const char *head, size_t len, struct nsl_egress_target *target,
                             char *why, size_t why_len)
{
    const char *nl = memchr(head, '\n', len);
    if (!nl)
        return fail(why, why_len, "request line not terminated");
    size_t line_len = (size_t)(nl - head);
    if (line_len > 0 && head[line_len - 1] == '\r')
        line_len--;
    static const char method[] = "CONNECT ";
    if (line_len < sizeof method - 1 || memcmp(head, method, sizeof method - 1) != 0)
        return fail(why, why_len, "only CONNECT is supported");
    const char *target_text = head + sizeof method - 1;
    const char *space = memchr(target_text, ' ', line_len - (sizeof method - 1));
    if (!space)
        return fail(why, why_len, "request line is not CONNECT host:port HTTP/1.1");
    const char *version = space + 1;
    size_t version_len = (size_t)(head + line_len - version);
    if (!(version_len == 8 &&
          (memcmp(version, "HTTP/1.1", 8) == 0 || memcmp(version, "HTTP/1.0", 8) == 0)))
        return fail(why, why_len, "request line is not CONNECT host:port HTTP/1.1");
    if (nsl_egress_parse_authority(target_text, (size_t)(space - target_text), target) != 0)
        return fail(why, why_len, "target is not host:port");
    /* Header lines, up to the blank line that ends the head. */
    const char *p = nl + 1, *end = head + len;
    for (;;) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            return fail(why, why_len, "request head not terminated by a blank line");
        size_t l = (size_t)(e - p);
        if (l > 0 && p[l - 1] == '\r')
            l--;
        if (l == 0)
            return 0;
        if (!header_ok(p, l))
            return fail(why, why_len, "malformed header line");
        p = e + 1;
    }
}

int nsl_egress_allowlist_parse(const char *text, struct nsl_egress_allowlist *list, char *why,
                               size_t why_len)
{
    *list = (struct nsl_egress_allowlist){0};
    size_t n = 1;
    for (const char *c = text; *c; c++)
        n += *c == ',';
    list->entries = calloc(n, sizeof *list->entries);
    if (!list->entries)
        return fail(why, why_len, "out of memory");
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (t > s) {
            if (nsl_egress_parse_authority(s, (size_t)(t - s), &list->entries[list->count]) != 0) {
                if (why && why_len)
                    snprintf(why, why_len, "\"%.*s\" is not HOST:PORT",
                             (int)(t - s > 64 ? 64 : t - s), s);
                nsl_egress_allowlist_clear(list);
                return -1;
            }
            list->count++;
        } else if (comma || p != text) {
            if (why && why_len)
                snprintf(why, why_len, "empty entry");
            nsl_egress_allowlist_clear(list);
            return -1;
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

void nsl_egress_allowlist_clear(struct nsl_egress_allowlist *list)
{
    free(list->entries);
    *list = (struct nsl_egress_allowlist){0};
}

bool nsl_egress_allowlist_match(const struct nsl_egress_allowlist *list,
                                const struct nsl_egress_target *target)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->entries[i].port == target->port &&
            strcmp(list->entries[i].host, target->host) == 0)
            return true;
    return false;
}

void nsl_egress_target_format(const struct nsl_egress_target *target, char *out, size_t len)
{
    bool v6 = strchr(target->host, ':') != NULL;
    snprintf(out, len, "%s%s%s:%u", v6 ? "[" : "", target->host, v6 ? "]" : "",
             (unsigned)target->port);
}
