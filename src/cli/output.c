/* Readable and JSON rendering of results (see output.h). */
#include "cli/output.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/rpc.h"

#define INDENT 2
#define BOLD   "\033[1m"
#define RED    "\033[31m"
#define RESET  "\033[0m"

bool nsl_cli_output_colour(FILE *out)
{
    const char *no_colour = getenv("NO_COLOR"); /* https://no-color.org: set and not empty */
    return isatty(fileno(out)) && !(no_colour && no_colour[0]);
}

/* Writes text with control characters (other than those allowed) shown as \xNN. */
static void put_text(FILE *out, const char *s, size_t n, bool allow_newline)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(c == '\t' || (c == '\n' && allow_newline))) || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}

static bool is_scalar(const json_t *v)
{
    return !json_is_object(v) && !json_is_array(v);
}

/* A scalar (or, inside a table cell or list, a compact nested value) on one line. */
static void put_inline(FILE *out, const json_t *v)
{
    if (json_is_string(v)) {
        put_text(out, json_string_value(v), json_string_length(v), false);
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text)
        put_text(out, text, strlen(text), false);
    free(text);
}

/* Display width of text as put_text writes it: UTF-8 code points, escapes 4 wide. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            w += (*p < 0x20 && *p != '\t') || *p == 0x7f ? 4 : 1;
    return w;
}

static size_t inline_width(const json_t *v)
{
    if (json_is_string(v))
        return text_width(json_string_value(v));
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t w = text ? text_width(text) : 0;
    free(text);
    return w;
}

static void put_indent(FILE *out, int depth)
{
    fprintf(out, "%*s", depth * INDENT, "");
}

static bool all_objects(const json_t *array)
{
    size_t i;
    json_t *item;
    json_array_foreach(array, i, item) if (!json_is_object(item)) return false;
    return json_array_size(array) > 0;
}

/* The union of the rows' keys in order of first appearance, each with its column width. */
static json_t *table_columns(const json_t *rows)
{
    json_t *cols = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *key;
        json_t *cell;
        json_object_foreach(row, key, cell)
        {
            size_t cw = inline_width(cell), kw = text_width(key);
            size_t need = cw > kw ? cw : kw;
            json_t *have = json_object_get(cols, key);
            if (!have || (size_t)json_integer_value(have) < need)
                json_object_set_new(cols, key, json_integer((json_int_t)need));
        }
    }
    return cols;
}

/* One cell padded to width; escapes (colour) do not count towards the width. */
static void put_cell(FILE *out, const json_t *cell, size_t width, bool last, bool bold)
{
    size_t w = cell ? inline_width(cell) : 1;
    if (bold)
        fputs(BOLD, out);
    if (cell)
        put_inline(out, cell);
    else
        fputc('-', out);
    if (bold)
        fputs(RESET, out);
    if (!last)
        fprintf(out, "%*s", (int)(width - w + 2), "");
}

/* Arrays of objects: a header line of the keys (bold with colour), then one aligned line per
 * object. */
static void put_table(FILE *out, const json_t *rows, int depth, bool colour)
{
    json_t *cols = table_columns(rows);
    size_t ncols = json_object_size(cols), c;
    const char *key;
    json_t *width;
    put_indent(out, depth);
    c = 0;
    json_object_foreach(cols, key, width)
    {
        json_t *name = json_string(key);
        put_cell(out, name, (size_t)json_integer_value(width), ++c == ncols, colour);
        json_decref(name);
    }
    fputc('\n', out);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        put_indent(out, depth);
        c = 0;
        json_object_foreach(cols, key, width) put_cell(
            out, json_object_get(row, key), (size_t)json_integer_value(width), ++c == ncols, false);
        fputc('\n', out);
    }
    json_decref(cols);
}

static void put_value(FILE *out, const json_t *v, int depth, bool colour);

static void put_list(FILE *out, const json_t *array, int depth)
{
    size_t i;
    json_t *item;
    json_array_foreach(array, i, item)
    {
        put_indent(out, depth);
        fputs("- ", out);
        put_inline(out, item);
        fputc('\n', out);
    }
}

/* Multi-line text (function logs, PEM) goes on its own indented lines below the key. */
static void put_multiline(FILE *out, const char *s, int depth)
{
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        put_indent(out, depth);
        put_text(out, s, n, false);
        fputc('\n', out);
        s += n + (nl ? 1 : 0);
    }
}

static void put_member(FILE *out, const char *key, const json_t *v, int depth, bool colour)
{
    put_indent(out, depth);
    put_text(out, key, strlen(key), false);
    fputc(':', out);
    if (json_is_string(v) && strchr(json_string_value(v), '\n')) {
        fputc('\n', out);
        put_multiline(out, json_string_value(v), depth + 1);
    } else if (is_scalar(v) || (json_is_object(v) && json_object_size(v) == 0)) {
        fputc(' ', out);
        put_inline(out, v);
        fputc('\n', out);
    } else if (json_is_array(v) && json_array_size(v) == 0) {
        fputs(" (none)\n", out);
    } else {
        fputc('\n', out);
        put_value(out, v, depth + 1, colour);
    }
}

static void put_value(FILE *out, const json_t *v, int depth, bool colour)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *member;
        json_object_foreach((json_t *)v, key, member) put_member(out, key, member, depth, colour);
    } else if (json_is_array(v)) {
        if (all_objects(v))
            put_table(out, v, depth, colour);
        else
            put_list(out, v, depth);
    } else if (json_is_string(v) && strchr(json_string_value(v), '\n')) {
        put_multiline(out, json_string_value(v), depth);
    } else {
        put_indent(out, depth);
        put_inline(out, v);
        fputc('\n', out);
    }
}

void nsl_cli_output_readable(FILE *out, const json_t *value)
{
    if (json_is_array(value) && json_array_size(value) == 0)
        fputs("(none)\n", out);
    else if (json_is_object(value) && json_object_size(value) == 0)
        fputs("(empty)\n", out);
    else
        put_value(out, value, 0, nsl_cli_output_colour(out));
}

void nsl_cli_output_json(FILE *out, const json_t *value)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (text) {
        fputs(text, out);
        fputc('\n', out);
    }
    free(text);
}

void nsl_cli_output_error(FILE *out, const json_t *error)
{
    const char *message = json_string_value(json_object_get(error, "message"));
    bool colour = nsl_cli_output_colour(out);
    fprintf(out, "%serror: %s%s: ", colour ? RED : "", nsl_cli_rpc_error_name(error),
            colour ? RESET : "");
    put_text(out, message ? message : "(no message)", strlen(message ? message : "(no message)"),
             false);
    fputc('\n', out);
}

int nsl_cli_output_failure(bool json, const struct nsl_error *err, int status)
{
    json_t *error = nsl_cli_rpc_error_object(err->code, err->message);
    if (!error) {
        fprintf(stderr, "error: %s: %s\n", nsl_err_name(err->code), err->message);
        return status;
    }
    nsl_cli_output_error(stderr, error);
    if (json)
        nsl_cli_output_json(stdout, error);
    json_decref(error);
    return status;
}
