/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "da-json.h"

/*
 * A strict RFC 8259 parser that builds a json-glib tree.
 *
 * It is iterative: open arrays and objects live on an explicit stack that
 * never grows past the depth limit, so hostile nesting costs neither C stack
 * nor more than one pass over the input.  Every value is attached to its
 * parent as soon as it is made, so on error freeing the root frees all.
 */

G_DEFINE_QUARK (da-json-error-quark, da_json_error)

typedef struct {
  JsonNode *node; /* the open array or object, owned by its parent or the root */
  char *key;      /* member name waiting for its value; objects only */
} DaJsonLevel;

typedef struct {
  const guchar *start;
  const guchar *p;
  const guchar *end;
  DaJsonLimits limits;
  gsize n_nodes;
  GArray *stack; /* of DaJsonLevel */
  GString *scratch;
  gsize error_offset;
  GError *error;
} DaJsonParser;

static gboolean parser_fail (DaJsonParser *self, DaJsonError code, const guchar *where,
                             const char *format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
parser_fail (DaJsonParser *self, DaJsonError code, const guchar *where, const char *format, ...)
{
  va_list args;
  g_autofree char *what = NULL;

  /* the first failure is the one that explains the input */
  if (self->error != NULL)
    return FALSE;
  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  self->error_offset = (gsize) (where - self->start);
  self->error = g_error_new (DA_JSON_ERROR, code, "%s at byte %" G_GSIZE_FORMAT, what, self->error_offset);
  return FALSE;
}

/* "'x'", "end of input" or "byte 0x07", for messages */
static const char *
describe_found (const guchar *p, const guchar *end, char buf[16])
{
  if (p >= end)
    return "end of input";
  if (*p > 0x20 && *p < 0x7f)
    g_snprintf (buf, 16, "'%c'", *p);
  else
    g_snprintf (buf, 16, "byte 0x%02x", *p);
  return buf;
}

static gboolean
parser_fail_expected (DaJsonParser *self, const char *expected)
{
  char buf[16];
  const guchar *p = self->p;

  /* name the common non-JSON habits explicitly */
  if (p < self->end) {
    if (*p == '/')
      return parser_fail (self, DA_JSON_ERROR_SYNTAX, p, "comments are not allowed");
    if (*p == '\'')
      return parser_fail (self, DA_JSON_ERROR_SYNTAX, p, "single quotes are not allowed; strings use '\"'");
    if (p == self->start && self->end - p >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
      return parser_fail (self, DA_JSON_ERROR_SYNTAX, p, "a byte order mark is not allowed");
  }
  return parser_fail (self, DA_JSON_ERROR_SYNTAX, p, "expected %s but found %s",
                      expected, describe_found (p, self->end, buf));
}

static inline void
skip_whitespace (DaJsonParser *self)
{
  const guchar *p = self->p;

  while (p < self->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  self->p = p;
}

/*
 * Length of the well-formed UTF-8 sequence at @p (Unicode 15, table 3-7),
 * or 0 with @why set.  Overlong forms, UTF-16 surrogates and code points
 * above U+10FFFF are not well-formed.
 */
static guint
utf8_sequence_length (const guchar *p, const guchar *end, const char **why)
{
  guchar lead = p[0];
  guchar lo = 0x80, hi = 0xbf;
  guint n;

  if (lead < 0x80)
    return 1;
  if (lead < 0xc0) {
    *why = "unexpected continuation byte";
    return 0;
  }
  if (lead < 0xc2) {
    *why = "overlong encoding";
    return 0;
  }
  if (lead < 0xe0) {
    n = 2;
  } else if (lead < 0xf0) {
    n = 3;
    if (lead == 0xe0)
      lo = 0xa0;
    else if (lead == 0xed)
      hi = 0x9f;
  } else if (lead < 0xf5) {
    n = 4;
    if (lead == 0xf0)
      lo = 0x90;
    else if (lead == 0xf4)
      hi = 0x8f;
  } else {
    *why = lead < 0xf8 ? "code point above U+10FFFF" : "byte that never occurs in UTF-8";
    return 0;
  }
  for (guint i = 1; i < n; i++) {
    guchar b;

    if (p + i >= end) {
      *why = "truncated sequence";
      return 0;
    }
    b = p[i];
    if (b < 0x80 || b > 0xbf) {
      *why = "incomplete sequence";
      return 0;
    }
    if (i == 1 && (b < lo || b > hi)) {
      if (lead == 0xe0 || lead == 0xf0)
        *why = "overlong encoding";
      else if (lead == 0xed)
        *why = "UTF-16 surrogate encoded in UTF-8";
      else
        *why = "code point above U+10FFFF";
      return 0;
    }
  }
  return n;
}

static gboolean
read_hex4 (const guchar *p, const guchar *end, gunichar *out)
{
  gunichar v = 0;

  if (end - p < 4)
    return FALSE;
  for (guint i = 0; i < 4; i++) {
    int d = g_ascii_xdigit_value ((char) p[i]);

    if (d < 0)
      return FALSE;
    v = (v << 4) | (gunichar) d;
  }
  *out = v;
  return TRUE;
}

/* *@pp is at a backslash inside a string: decode one escape into @out, move past it */
static gboolean
parse_escape (DaJsonParser *self, const guchar **pp, GString *out)
{
  const guchar *backslash = *pp;
  const guchar *p = backslash + 1;
  gunichar c;

  if (p >= self->end)
    return parser_fail (self, DA_JSON_ERROR_SYNTAX, p, "unterminated string");
  switch (*p) {
  case '"': g_string_append_c (out, '"'); break;
  case '\\': g_string_append_c (out, '\\'); break;
  case '/': g_string_append_c (out, '/'); break;
  case 'b': g_string_append_c (out, '\b'); break;
  case 'f': g_string_append_c (out, '\f'); break;
  case 'n': g_string_append_c (out, '\n'); break;
  case 'r': g_string_append_c (out, '\r'); break;
  case 't': g_string_append_c (out, '\t'); break;
  case 'u':
    if (!read_hex4 (p + 1, self->end, &c))
      return parser_fail (self, DA_JSON_ERROR_SYNTAX, backslash, "invalid \\u escape: expected four hex digits");
    p += 4;
    if (c == 0)
      return parser_fail (self, DA_JSON_ERROR_ENCODING, backslash, "\\u0000 is not allowed in a string");
    if (c >= 0xdc00 && c <= 0xdfff)
      return parser_fail (self, DA_JSON_ERROR_ENCODING, backslash, "lone UTF-16 low surrogate \\u%04X", c);
    if (c >= 0xd800 && c <= 0xdbff) {
      gunichar low;

      if (self->end - p < 3 || p[1] != '\\' || p[2] != 'u' || !read_hex4 (p + 3, self->end, &low) ||
          low < 0xdc00 || low > 0xdfff)
        return parser_fail (self, DA_JSON_ERROR_ENCODING, backslash,
                            "lone UTF-16 high surrogate \\u%04X (not followed by a low surrogate)", c);
      c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
      p += 6;
    }
    g_string_append_unichar (out, c);
    break;
  default:
    if (*p > 0x20 && *p < 0x7f)
      return parser_fail (self, DA_JSON_ERROR_SYNTAX, backslash, "invalid escape '\\%c'", *p);
    return parser_fail (self, DA_JSON_ERROR_SYNTAX, backslash, "invalid escape (backslash before byte 0x%02x)", *p);
  }
  *pp = p + 1;
  return TRUE;
}

/* @self->p is at the opening quote; the decoded string goes to self->scratch */
static gboolean
parse_string (DaJsonParser *self)
{
  const guchar *open = self->p;
  const guchar *p = open + 1;
  const guchar *end = self->end;
  GString *out = self->scratch;

  g_string_truncate (out, 0);
  for (;;) {
    const guchar *run = p;

    /* the common case: a run of printable ASCII */
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
      p++;
    if (p > run)
      g_string_append_len (out, (const char *) run, p - run);
    if (p >= end)
      return parser_fail (self, DA_JSON_ERROR_SYNTAX, open, "unterminated string");
    if (*p == '"') {
      self->p = p + 1;
      return TRUE;
    }
    if (*p == '\\') {
      if (!parse_escape (self, &p, out))
        return FALSE;
    } else if (*p < 0x20) {
      return parser_fail (self, DA_JSON_ERROR_SYNTAX, p,
                          "control character U+%04X must be escaped in a string", (guint) *p);
    } else {
      const char *why = NULL;
      guint n = utf8_sequence_length (p, end, &why);

      if (n == 0)
        return parser_fail (self, DA_JSON_ERROR_ENCODING, p, "invalid UTF-8 (%s)", why);
      g_string_append_len (out, (const char *) p, n);
      p += n;
    }
  }
}

static JsonNode *
parse_number (DaJsonParser *self)
{
  const guchar *start = self->p;
  const guchar *p = start;
  const guchar *end = self->end;
  gboolean negative = FALSE;
  gboolean integral = TRUE;
  gboolean fits = TRUE;
  guint64 magnitude = 0;
  char found[16];

  if (*p == '-') {
    negative = TRUE;
    p++;
  }
  if (p >= end || !g_ascii_isdigit (*p)) {
    parser_fail (self, DA_JSON_ERROR_SYNTAX, p, "expected a digit after '-' but found %s", describe_found (p, end, found));
    return NULL;
  }
  if (*p == '0') {
    p++;
    if (p < end && g_ascii_isdigit (*p)) {
      parser_fail (self, DA_JSON_ERROR_SYNTAX, start, "a number must not have a leading zero");
      return NULL;
    }
  } else {
    for (; p < end && g_ascii_isdigit (*p); p++) {
      guint d = *p - '0';

      if (magnitude > (G_MAXUINT64 - d) / 10)
        fits = FALSE;
      else
        magnitude = magnitude * 10 + d;
    }
  }
  if (p < end && *p == '.') {
    integral = FALSE;
    p++;
    if (p >= end || !g_ascii_isdigit (*p)) {
      parser_fail (self, DA_JSON_ERROR_SYNTAX, p, "expected a digit after '.' but found %s", describe_found (p, end, found));
      return NULL;
    }
    while (p < end && g_ascii_isdigit (*p))
      p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    integral = FALSE;
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (p >= end || !g_ascii_isdigit (*p)) {
      parser_fail (self, DA_JSON_ERROR_SYNTAX, p, "expected a digit in the exponent but found %s",
                   describe_found (p, end, found));
      return NULL;
    }
    while (p < end && g_ascii_isdigit (*p))
      p++;
  }
  self->p = p;

  if (integral && fits) {
    if (!negative && magnitude <= (guint64) G_MAXINT64)
      return json_node_init_int (json_node_alloc (), (gint64) magnitude);
    if (negative && magnitude <= (guint64) G_MAXINT64 + 1)
      return json_node_init_int (json_node_alloc (), (gint64) (0 - magnitude));
  }

  /* everything else is a double; the grammar above already vetted the
   * text, and strtod needs it terminated */
  {
    gsize len = (gsize) (p - start);
    char small[64];
    g_autofree char *large = NULL;
    char *text = small;
    double value;

    if (len >= sizeof small)
      text = large = g_malloc (len + 1);
    memcpy (text, start, len);
    text[len] = '\0';
    value = g_ascii_strtod (text, NULL);
    if (!isfinite (value)) {
      parser_fail (self, DA_JSON_ERROR_RANGE, start, "number out of range");
      return NULL;
    }
    return json_node_init_double (json_node_alloc (), value);
  }
}

static inline DaJsonLevel *
parser_top (DaJsonParser *self)
{
  return &g_array_index (self->stack, DaJsonLevel, self->stack->len - 1);
}

/* @self->p is where a member name should start: read it and the ':' */
static gboolean
parse_member_name (DaJsonParser *self)
{
  DaJsonLevel *level = parser_top (self);
  const guchar *open = self->p;

  if (open >= self->end || *open != '"')
    return parser_fail_expected (self, "a member name (a string)");
  if (!parse_string (self))
    return FALSE;
  if (json_object_has_member (json_node_get_object (level->node), self->scratch->str)) {
    g_autoptr (GString) quoted = g_string_new (NULL);

    da_json_append_excerpt (quoted, self->scratch->str, 64);
    return parser_fail (self, DA_JSON_ERROR_DUPLICATE_KEY, open, "duplicate key %s", quoted->str);
  }
  level->key = g_strndup (self->scratch->str, self->scratch->len);
  skip_whitespace (self);
  if (self->p >= self->end || *self->p != ':')
    return parser_fail_expected (self, "':'");
  self->p++;
  return TRUE;
}

/* @self->p is at the first byte of a value; a container comes back empty */
static JsonNode *
parse_value (DaJsonParser *self)
{
  const guchar *p = self->p;
  gsize left = (gsize) (self->end - p);

  if (left == 0) {
    parser_fail_expected (self, "a value");
    return NULL;
  }
  if (self->n_nodes >= self->limits.max_nodes) {
    parser_fail (self, DA_JSON_ERROR_TOO_MANY_NODES, p, "more than %" G_GSIZE_FORMAT " values", self->limits.max_nodes);
    return NULL;
  }
  self->n_nodes++;

  switch (*p) {
  case '{':
  case '[':
    if (self->stack->len >= self->limits.max_depth) {
      parser_fail (self, DA_JSON_ERROR_DEPTH, p, "nesting deeper than %u levels", self->limits.max_depth);
      return NULL;
    }
    self->p++;
    if (*p == '{') {
      JsonNode *node = json_node_new (JSON_NODE_OBJECT);

      json_node_take_object (node, json_object_new ());
      return node;
    } else {
      JsonNode *node = json_node_new (JSON_NODE_ARRAY);

      json_node_take_array (node, json_array_new ());
      return node;
    }
  case '"':
    if (!parse_string (self))
      return NULL;
    return json_node_init_string (json_node_alloc (), self->scratch->str);
  case 't':
    if (left >= 4 && memcmp (p, "true", 4) == 0) {
      self->p += 4;
      return json_node_init_boolean (json_node_alloc (), TRUE);
    }
    break;
  case 'f':
    if (left >= 5 && memcmp (p, "false", 5) == 0) {
      self->p += 5;
      return json_node_init_boolean (json_node_alloc (), FALSE);
    }
    break;
  case 'n':
    if (left >= 4 && memcmp (p, "null", 4) == 0) {
      self->p += 4;
      return json_node_init_null (json_node_alloc ());
    }
    break;
  case '-':
  case '0': case '1': case '2': case '3': case '4':
  case '5': case '6': case '7': case '8': case '9':
    return parse_number (self);
  default:
    break;
  }
  parser_fail_expected (self, "a value");
  return NULL;
}

static void
parser_attach (DaJsonParser *self, JsonNode **root, JsonNode *node)
{
  DaJsonLevel *level;

  if (self->stack->len == 0) {
    *root = node;
    return;
  }
  level = parser_top (self);
  if (JSON_NODE_HOLDS_ARRAY (level->node)) {
    json_array_add_element (json_node_get_array (level->node), node);
  } else {
    json_object_set_member (json_node_get_object (level->node), level->key, node);
    g_clear_pointer (&level->key, g_free);
  }
}

static void
level_clear (gpointer data)
{
  DaJsonLevel *level = data;

  g_clear_pointer (&level->key, g_free);
}

static JsonNode *
parser_run (DaJsonParser *self)
{
  JsonNode *root = NULL;
  gboolean want_value = TRUE;

  for (;;) {
    skip_whitespace (self);
    if (want_value) {
      JsonNode *node = parse_value (self);

      if (node == NULL)
        goto fail;
      parser_attach (self, &root, node);
      want_value = FALSE;
      if (JSON_NODE_HOLDS_OBJECT (node) || JSON_NODE_HOLDS_ARRAY (node)) {
        DaJsonLevel level = { node, NULL };
        gboolean is_object = JSON_NODE_HOLDS_OBJECT (node);

        /* a container comes back from parse_value just opened and empty */
        g_array_append_val (self->stack, level);
        skip_whitespace (self);
        if (self->p < self->end && *self->p == (is_object ? '}' : ']')) {
          self->p++;
          g_array_set_size (self->stack, self->stack->len - 1);
        } else if (is_object) {
          if (!parse_member_name (self))
            goto fail;
          want_value = TRUE;
        } else {
          want_value = TRUE;
        }
      }
    } else {
      DaJsonLevel *level;
      gboolean is_object;
      guchar close;

      if (self->stack->len == 0) {
        if (self->p < self->end) {
          char found[16];

          if (*self->p == '/')
            parser_fail (self, DA_JSON_ERROR_SYNTAX, self->p, "comments are not allowed");
          else
            parser_fail (self, DA_JSON_ERROR_SYNTAX, self->p, "unexpected %s after the JSON text",
                         describe_found (self->p, self->end, found));
          goto fail;
        }
        return root;
      }
      level = parser_top (self);
      is_object = JSON_NODE_HOLDS_OBJECT (level->node);
      close = is_object ? '}' : ']';
      if (self->p < self->end && *self->p == ',') {
        self->p++;
        skip_whitespace (self);
        if (self->p < self->end && *self->p == close) {
          parser_fail (self, DA_JSON_ERROR_SYNTAX, self->p, "trailing comma before '%c'", close);
          goto fail;
        }
        if (is_object && !parse_member_name (self))
          goto fail;
        want_value = TRUE;
      } else if (self->p < self->end && *self->p == close) {
        self->p++;
        g_array_set_size (self->stack, self->stack->len - 1);
      } else {
        parser_fail_expected (self, is_object ? "',' or '}'" : "',' or ']'");
        goto fail;
      }
    }
  }

fail:
  g_clear_pointer (&root, json_node_unref);
  return NULL;
}

/**
 * da_json_parse:
 * @data: the JSON text; need not be NUL-terminated
 * @len: its length in bytes
 * @limits: (nullable): nesting and size limits, or %NULL for
 *   %DA_JSON_LIMITS_DEFAULT
 * @error_offset: (out) (optional): on error, the byte offset it refers to
 * @error: return location for a #DA_JSON_ERROR
 *
 * Parses exactly one JSON text as RFC 8259 defines it, with no extensions:
 * the input must be UTF-8 without a byte order mark, object keys must be
 * unique, strings never contain U+0000 and never a lone surrogate.
 * Integers that fit in a #gint64 become %G_TYPE_INT64 values; every other
 * number (a fraction, an exponent, or an integer out of range) becomes a
 * %G_TYPE_DOUBLE; a number beyond the range of a double is an error.
 *
 * Safe on any input (it is a fuzzing entry point); linear in @len.
 *
 * Returns: (transfer full): the root node, or %NULL on error
 */
JsonNode *
da_json_parse (const char *data, gsize len, const DaJsonLimits *limits, gsize *error_offset, GError **error)
{
  DaJsonParser self = { 0 };
  JsonNode *root;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  self.start = (const guchar *) (data != NULL ? data : "");
  self.p = self.start;
  self.end = self.start + len;
  self.limits = limits != NULL ? *limits : DA_JSON_LIMITS_DEFAULT;
  self.stack = g_array_sized_new (FALSE, FALSE, sizeof (DaJsonLevel), MIN (self.limits.max_depth, 16));
  g_array_set_clear_func (self.stack, level_clear);
  self.scratch = g_string_sized_new (64);

  root = parser_run (&self);

  g_array_unref (self.stack);
  g_string_free (self.scratch, TRUE);
  if (root == NULL) {
    if (error_offset != NULL)
      *error_offset = self.error_offset;
    g_propagate_error (error, self.error);
  }
  return root;
}

/* --- serializer --- */

/**
 * da_json_append_string:
 * @out: where to append
 * @str: a string, normally UTF-8
 * @len: its length, or -1 if NUL-terminated
 *
 * Appends @str as a quoted JSON string.  Control characters (C0, DEL, C1)
 * and U+2028/U+2029 are escaped, so the output is one line of printable
 * UTF-8; bytes that are not UTF-8 become U+FFFD.
 */
void
da_json_append_string (GString *out, const char *str, gssize len)
{
  g_autofree char *valid = NULL;
  const guchar *p;
  const guchar *end;

  if (len < 0)
    len = (gssize) strlen (str);
  if (!g_utf8_validate_len (str, (gsize) len, NULL)) {
    valid = g_utf8_make_valid (str, len);
    str = valid;
    len = (gssize) strlen (valid);
  }
  p = (const guchar *) str;
  end = p + len;

  g_string_append_c (out, '"');
  while (p < end) {
    const guchar *run = p;

    while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
      p++;
    if (p > run)
      g_string_append_len (out, (const char *) run, p - run);
    if (p >= end)
      break;
    switch (*p) {
    case '"': g_string_append (out, "\\\""); p++; continue;
    case '\\': g_string_append (out, "\\\\"); p++; continue;
    case '\b': g_string_append (out, "\\b"); p++; continue;
    case '\f': g_string_append (out, "\\f"); p++; continue;
    case '\n': g_string_append (out, "\\n"); p++; continue;
    case '\r': g_string_append (out, "\\r"); p++; continue;
    case '\t': g_string_append (out, "\\t"); p++; continue;
    default: break;
    }
    if (*p < 0x80) {
      /* the other C0 controls, and DEL */
      g_string_append_printf (out, "\\u%04x", (guint) *p);
      p++;
    } else {
      const char *next = g_utf8_next_char ((const char *) p);
      gunichar c = g_utf8_get_char ((const char *) p);

      if ((c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_len (out, (const char *) p, next - (const char *) p);
      p = (const guchar *) next;
    }
  }
  g_string_append_c (out, '"');
}

/**
 * da_json_append_excerpt:
 * @out: where to append
 * @str: a UTF-8 string, such as a member name received
 * @max_bytes: how much of it to show
 *
 * Appends @str quoted like da_json_append_string(), cut at a character
 * boundary after at most @max_bytes bytes and then followed by "...":
 * for error messages that name what the peer sent.
 */
void
da_json_append_excerpt (GString *out, const char *str, gsize max_bytes)
{
  gsize len = strlen (str);
  gboolean cut = len > max_bytes;

  if (cut) {
    const char *stop = str + max_bytes;

    /* back up to the start of the character that would be split */
    while (stop > str && (((guchar) *stop) & 0xc0) == 0x80)
      stop--;
    len = (gsize) (stop - str);
  }
  da_json_append_string (out, str, (gssize) len);
  if (cut)
    g_string_append (out, "...");
}

/**
 * da_json_append_uint:
 * @out: where to append
 * @value: a number
 *
 * Appends @value in decimal, as JSON writes an integer (no printf: results
 * carry many of them).
 */
void
da_json_append_uint (GString *out, guint64 value)
{
  char buf[20];
  guint i = sizeof buf;

  do {
    buf[--i] = (char) ('0' + value % 10);
    value /= 10;
  } while (value != 0);
  g_string_append_len (out, buf + i, (gssize) (sizeof buf - i));
}

/**
 * da_json_append_int:
 * @out: where to append
 * @value: a number
 *
 * As da_json_append_uint(), for a signed one.
 */
void
da_json_append_int (GString *out, gint64 value)
{
  if (value < 0) {
    g_string_append_c (out, '-');
    /* -(value + 1) + 1 also holds G_MININT64 */
    da_json_append_uint (out, (guint64) -(value + 1) + 1);
  } else {
    da_json_append_uint (out, (guint64) value);
  }
}

static void
append_double (GString *out, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* JSON has no NaN or infinity; null is the conventional stand-in */
  if (!isfinite (value)) {
    g_string_append (out, "null");
    return;
  }
  /* the shortest of these that reads back to the same double */
  g_ascii_formatd (buf, sizeof buf, "%.15g", value);
  if (g_ascii_strtod (buf, NULL) != value) {
    g_ascii_formatd (buf, sizeof buf, "%.16g", value);
    if (g_ascii_strtod (buf, NULL) != value)
      g_ascii_formatd (buf, sizeof buf, "%.17g", value);
  }
  g_string_append (out, buf);
  /* keep it a double when read back: 2.0 must not come back as the integer 2 */
  if (strpbrk (buf, ".eE") == NULL)
    g_string_append (out, ".0");
}

static void
append_node (GString *out, JsonNode *node)
{
  if (node == NULL) {
    g_string_append (out, "null");
    return;
  }
  switch (JSON_NODE_TYPE (node)) {
  case JSON_NODE_OBJECT: {
    JsonObject *object = json_node_get_object (node);
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;
    gboolean first = TRUE;

    g_string_append_c (out, '{');
    json_object_iter_init_ordered (&iter, object);
    while (json_object_iter_next_ordered (&iter, &name, &member)) {
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      da_json_append_string (out, name, -1);
      g_string_append_c (out, ':');
      append_node (out, member);
    }
    g_string_append_c (out, '}');
    break;
  }
  case JSON_NODE_ARRAY: {
    JsonArray *array = json_node_get_array (node);
    guint n = json_array_get_length (array);

    g_string_append_c (out, '[');
    for (guint i = 0; i < n; i++) {
      if (i > 0)
        g_string_append_c (out, ',');
      append_node (out, json_array_get_element (array, i));
    }
    g_string_append_c (out, ']');
    break;
  }
  case JSON_NODE_VALUE: {
    GType type = json_node_get_value_type (node);

    if (type == G_TYPE_INT64)
      da_json_append_int (out, json_node_get_int (node));
    else if (type == G_TYPE_DOUBLE)
      append_double (out, json_node_get_double (node));
    else if (type == G_TYPE_BOOLEAN)
      g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
    else if (type == G_TYPE_STRING && json_node_get_string (node) != NULL)
      da_json_append_string (out, json_node_get_string (node), -1);
    else
      g_string_append (out, "null");
    break;
  }
  case JSON_NODE_NULL:
  default:
    g_string_append (out, "null");
    break;
  }
}

/**
 * da_json_append:
 * @out: where to append
 * @node: (nullable): the tree; %NULL is written as null
 *
 * Appends @node as compact JSON: one line, no whitespace, members in
 * insertion order, valid UTF-8 (see da_json_append_string()).  Integers
 * are written as integers and doubles always with a '.' or an exponent,
 * so da_json_parse() gives back an equal tree.  Non-finite doubles are
 * written as null.  Recursive; trees are bounded by whoever built them.
 */
void
da_json_append (GString *out, JsonNode *node)
{
  append_node (out, node);
}

/**
 * da_json_to_string:
 * @node: (nullable): the tree
 *
 * Returns: (transfer full): @node as compact one-line JSON, see da_json_append()
 */
char *
da_json_to_string (JsonNode *node)
{
  GString *out = g_string_sized_new (128);

  append_node (out, node);
  return g_string_free (out, FALSE);
}

/**
 * da_json_equal:
 * @a: (nullable): a tree
 * @b: (nullable): another tree
 *
 * Compares two trees strictly: the integer 1 and the double 1.0 differ
 * (json_node_equal() treats them as equal).  Object member order does not
 * matter, array order does.
 *
 * Returns: %TRUE if equal
 */
gboolean
da_json_equal (JsonNode *a, JsonNode *b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL || JSON_NODE_TYPE (a) != JSON_NODE_TYPE (b))
    return FALSE;
  switch (JSON_NODE_TYPE (a)) {
  case JSON_NODE_OBJECT: {
    JsonObject *oa = json_node_get_object (a);
    JsonObject *ob = json_node_get_object (b);
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;

    if (json_object_get_size (oa) != json_object_get_size (ob))
      return FALSE;
    json_object_iter_init (&iter, oa);
    while (json_object_iter_next (&iter, &name, &member)) {
      if (!json_object_has_member (ob, name) || !da_json_equal (member, json_object_get_member (ob, name)))
        return FALSE;
    }
    return TRUE;
  }
  case JSON_NODE_ARRAY: {
    JsonArray *aa = json_node_get_array (a);
    JsonArray *ab = json_node_get_array (b);
    guint n = json_array_get_length (aa);

    if (n != json_array_get_length (ab))
      return FALSE;
    for (guint i = 0; i < n; i++) {
      if (!da_json_equal (json_array_get_element (aa, i), json_array_get_element (ab, i)))
        return FALSE;
    }
    return TRUE;
  }
  case JSON_NODE_VALUE: {
    GType type = json_node_get_value_type (a);

    if (type != json_node_get_value_type (b))
      return FALSE;
    if (type == G_TYPE_INT64)
      return json_node_get_int (a) == json_node_get_int (b);
    if (type == G_TYPE_DOUBLE)
      return json_node_get_double (a) == json_node_get_double (b);
    if (type == G_TYPE_BOOLEAN)
      return json_node_get_boolean (a) == json_node_get_boolean (b);
    if (type == G_TYPE_STRING)
      return g_strcmp0 (json_node_get_string (a), json_node_get_string (b)) == 0;
    return FALSE;
  }
  case JSON_NODE_NULL:
    return TRUE;
  default:
    return FALSE;
  }
}
