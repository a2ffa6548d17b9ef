/* Strict JSON over jansson: parsing refuses duplicate keys, NUL in strings and anything but one
 * object; schemas check every field's presence, type and length and refuse unknown fields. */
#ifndef NSL_COMMON_JSON_H
#define NSL_COMMON_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errors.h"

enum nsl_field_type {
    NSL_FIELD_STRING, /* UTF-8 text up to max_len bytes */
    NSL_FIELD_HEX,    /* lowercase/uppercase hex, max_len = max decoded bytes */
    NSL_FIELD_BASE64, /* padded base64, max_len = max decoded bytes */
    NSL_FIELD_DIGITS, /* integer amount as a string of digits, up to max_len digits */
    NSL_FIELD_INT,    /* JSON integer in [min, max] */
    NSL_FIELD_BOOL,
    NSL_FIELD_OBJECT, /* any object; max_len bounds its member count */
    NSL_FIELD_ARRAY,  /* any array; max_len bounds its length */
    NSL_FIELD_ANY,    /* any JSON value */
};

struct nsl_field_spec {
    const char *name;
    enum nsl_field_type type;
    bool required;
    size_t max_len;
    int64_t min, max; /* NSL_FIELD_INT only */
    const char *doc;
};

/* The terminating row of a schema array has name == NULL. */
#define NSL_FIELDS_END                                                                             \
    {                                                                                              \
        NULL, NSL_FIELD_ANY, false, 0, 0, 0, NULL                                                  \
    }

const char *nsl_field_type_name(enum nsl_field_type type);

/* Parses exactly one JSON object. On failure returns NULL and fills err with code; a duplicate
 * key in a frame payload (code BAD_FRAME) is reported as INVALID_REQUEST, since the frame itself
 * was sound (ARCHITECTURE §2). */
json_t *nsl_json_parse_object(const char *data, size_t len, nsl_err code, struct nsl_error *err);

/* Checks obj against spec: unknown members, missing required members, wrong types, oversize
 * values. Failures use code and name the field as "<where>.<field>". */
nsl_err nsl_json_check(const json_t *obj, const struct nsl_field_spec *spec, nsl_err code,
                       const char *where, struct nsl_error *err);

/* Accessors for checked objects: NULL / default when the member is absent. */
const char *nsl_json_str(const json_t *obj, const char *name);
json_int_t nsl_json_int(const json_t *obj, const char *name, json_int_t fallback);
bool nsl_json_bool(const json_t *obj, const char *name, bool fallback);

/* Serializes compactly (no spaces); returns malloc'd text or NULL. */
char *nsl_json_dump(const json_t *value, size_t *len);

#endif
