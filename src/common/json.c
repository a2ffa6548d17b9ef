/* Strict JSON parsing and schema checks (see json.h). */
#include "common/json.h"

#include <string.h>

#include "common/encoding.h"

const char *nsl_field_type_name(enum nsl_field_type type)
{
    static const char *const names[] = {"string",  "hex",    "base64", "digits", "integer",
                                        "boolean", "object", "array",  "any"};
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "any";
}

json_t *nsl_json_parse_object(const char *data, size_t len, nsl_err code, struct nsl_error *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v && json_error_code(&jerr) == json_error_duplicate_key) {
        nsl_fail(err, code == NSL_ERR_BAD_FRAME ? NSL_ERR_INVALID_REQUEST : code, "%s", jerr.text);
        return NULL;
    }
    if (!v) {
        nsl_fail(err, code, "malformed JSON at offset %d: %s", jerr.position, jerr.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        nsl_fail(err, code, "expected a JSON object");
        return NULL;
    }
    return v;
}

static const struct nsl_field_spec *find_spec(const struct nsl_field_spec *spec, const char *name)
{
    for (; spec && spec->name; spec++)
        if (strcmp(spec->name, name) == 0)
            return spec;
    return NULL;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0 || (n > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool is_hex(const char *s, size_t n)
{
    if (n % 2)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

/* True when s is canonical base64 of at most max_len decoded bytes (0: no limit). */
static bool is_base64(const char *s, size_t n, size_t max_len)
{
    if (n % 4)
        return false;
    size_t cap = nsl_base64_decoded_max(n);
    uint8_t *tmp = malloc(cap ? cap : 1);
    size_t out;
    bool ok = tmp && nsl_base64_decode(s, n, tmp, cap, &out) == 0 && (!max_len || out <= max_len);
    free(tmp);
    return ok;
}

static nsl_err check_value(const json_t *v, const struct nsl_field_spec *f, nsl_err code,
                           const char *where, struct nsl_error *err)
{
    const char *tn = nsl_field_type_name(f->type);
    switch (f->type) {
    case NSL_FIELD_STRING:
    case NSL_FIELD_HEX:
    case NSL_FIELD_BASE64:
    case NSL_FIELD_DIGITS: {
        if (!json_is_string(v))
            return nsl_fail(err, code, "%s.%s must be a %s string", where, f->name, tn);
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (f->type == NSL_FIELD_STRING && f->max_len && n > f->max_len)
            return nsl_fail(err, code, "%s.%s is longer than %zu bytes", where, f->name,
                            f->max_len);
        if (f->type == NSL_FIELD_DIGITS && (!all_digits(s, n) || (f->max_len && n > f->max_len)))
            return nsl_fail(err, code, "%s.%s must be a string of at most %zu decimal digits",
                            where, f->name, f->max_len);
        if (f->type == NSL_FIELD_HEX && (!is_hex(s, n) || (f->max_len && n / 2 > f->max_len)))
            return nsl_fail(err, code, "%s.%s must be hex of at most %zu bytes", where, f->name,
                            f->max_len);
        if (f->type == NSL_FIELD_BASE64 &&
            ((f->max_len && n / 4 * 3 > f->max_len + 2) || !is_base64(s, n, f->max_len)))
            return nsl_fail(err, code, "%s.%s must be base64 of at most %zu bytes", where, f->name,
                            f->max_len);
        return NSL_OK;
    }
    case NSL_FIELD_INT:
        if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
            return nsl_fail(err, code, "%s.%s must be an integer in [%lld, %lld]", where, f->name,
                            (long long)f->min, (long long)f->max);
        return NSL_OK;
    case NSL_FIELD_BOOL:
        if (!json_is_boolean(v))
            return nsl_fail(err, code, "%s.%s must be a boolean", where, f->name);
        return NSL_OK;
    case NSL_FIELD_OBJECT:
        if (!json_is_object(v) || (f->max_len && json_object_size(v) > f->max_len))
            return nsl_fail(err, code, "%s.%s must be an object of at most %zu members", where,
                            f->name, f->max_len);
        return NSL_OK;
    case NSL_FIELD_ARRAY:
        if (!json_is_array(v) || (f->max_len && json_array_size(v) > f->max_len))
            return nsl_fail(err, code, "%s.%s must be an array of at most %zu items", where,
                            f->name, f->max_len);
        return NSL_OK;
    case NSL_FIELD_ANY:
        return NSL_OK;
    }
    return nsl_fail(err, NSL_ERR_INTERNAL, "unknown field type");
}

nsl_err nsl_json_check(const json_t *obj, const struct nsl_field_spec *spec, nsl_err code,
                       const char *where, struct nsl_error *err)
{
    if (!json_is_object(obj))
        return nsl_fail(err, code, "%s must be an object", where);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        const struct nsl_field_spec *f = find_spec(spec, key);
        if (!f)
            return nsl_fail(err, code, "%s has unknown field \"%.64s\"", where, key);
        NSL_TRY(check_value(value, f, code, where, err));
    }
    for (const struct nsl_field_spec *f = spec; f && f->name; f++)
        if (f->required && !json_object_get(obj, f->name))
            return nsl_fail(err, code, "%s.%s is required", where, f->name);
    return NSL_OK;
}

const char *nsl_json_str(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

json_int_t nsl_json_int(const json_t *obj, const char *name, json_int_t fallback)
{
    json_t *v = json_object_get(obj, name);
    return json_is_integer(v) ? json_integer_value(v) : fallback;
}

bool nsl_json_bool(const json_t *obj, const char *name, bool fallback)
{
    json_t *v = json_object_get(obj, name);
    return json_is_boolean(v) ? json_is_true(v) : fallback;
}

char *nsl_json_dump(const json_t *value, size_t *len)
{
    char *s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && len)
        *len = strlen(s);
    return s;
}
