/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "da-address-type.h"
#include "da-alloc-error.h"
#include "da-util.h"

/*
 * The text form is described by a small template language:
 *   {name:spec}   a dimension; spec is [#][0][width](x|d): "#" prints and
 *                 requires a 0x prefix, width pads with zeros
 *   [ ... ]       an optional group, printed when its first dimension is
 *                 not zero; it must begin with a literal so parsing can
 *                 tell whether it is present
 *   anything else is a literal
 * Every dimension appears exactly once.
 */

typedef enum {
  TOKEN_LITERAL,
  TOKEN_FIELD,
  TOKEN_OPEN,
  TOKEN_CLOSE,
} TokenKind;

typedef struct {
  TokenKind kind;
  char *literal;
  guint dim;
  guint width;
  gboolean hex;
  gboolean prefix;
  guint match; /* OPEN: index of its CLOSE */
} Token;

struct _DaAddressType {
  gatomicrefcount ref;
  char *name;
  char *description;
  char *format;
  char *full_message;
  guint n_dims;
  DaDimension dims[DA_MAX_DIMS];
  guint64 key_max;
  GArray *tokens;
  DaRangeMap *default_pool;
  DaTypeScope scope;
  DaBox dynamic_box;
  int isolate;
  char **dynamic_tags;
  char **dynamic_not_tags;
  char **exclusive_tags;
  char **default_tag_names;
  GHashTable *default_tags; /* tag -> set */
  gboolean dense;           /* every key up to key_max is an address */
};

/* words a dimension may not be called, since constraints use them */
static const char *const reserved_dimension_names[] = {
  "count", "align", "min", "max", "tags", "not_tags", "policy", "isolate", NULL
};

#define TYPE_GROUP "Address Type"
#define MAX_POOL_RANGES 65536
#define DA_MAX_DEFAULT_TAGS 4

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
token_clear (gpointer data)
{
  Token *token = data;

  g_free (token->literal);
}

gboolean
da_parse_u64 (const char *text, guint64 *out)
{
  guint64 value = 0;
  guint base = 10;
  const char *p = text;

  if (text == NULL || *text == '\0')
    return FALSE;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    base = 16;
    p += 2;
    if (*p == '\0')
      return FALSE;
  }
  for (; *p != '\0'; p++) {
    int digit = g_ascii_xdigit_value (*p);

    if (digit < 0 || (guint) digit >= base)
      return FALSE;
    if (value > (G_MAXUINT64 - (guint64) digit) / base)
      return FALSE;
    value = value * base + (guint64) digit;
  }
  *out = value;
  return TRUE;
}

static gboolean
name_is_identifier (const char *name, gsize max)
{
  gsize len = strlen (name);

  if (len == 0 || len > max || !g_ascii_isalpha (name[0]))
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

static gboolean
parse_dimensions (DaAddressType *type, char **items, const char *origin, GError **error)
{
  guint n = g_strv_length (items);

  if (n == 0 || n > DA_MAX_DIMS) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s: type %s needs 1 to %d dimensions", origin, type->name, DA_MAX_DIMS);
    return FALSE;
  }
  for (guint i = 0; i < n; i++) {
    g_auto (GStrv) parts = g_strsplit (g_strstrip (items[i]), ":", 2);
    g_auto (GStrv) bounds = NULL;
    DaDimension *dim = &type->dims[i];

    if (parts[0] == NULL || parts[1] == NULL || !name_is_identifier (parts[0], 32)
        || g_strv_contains (reserved_dimension_names, parts[0])) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: dimension \"%s\" of %s must be NAME:MIN-MAX with a name that is not a constraint keyword",
                   origin, items[i], type->name);
      return FALSE;
    }
    for (guint j = 0; j < i; j++) {
      if (strcmp (type->dims[j].name, parts[0]) == 0) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                     "%s: dimension %s of %s appears twice", origin, parts[0], type->name);
        return FALSE;
      }
    }
    bounds = g_strsplit (parts[1], "-", 2);
    if (bounds[0] == NULL || bounds[1] == NULL
        || !da_parse_u64 (bounds[0], &dim->min) || !da_parse_u64 (bounds[1], &dim->max)
        || dim->min > dim->max) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: dimension %s of %s has bad bounds \"%s\"", origin, parts[0], type->name, parts[1]);
      return FALSE;
    }
    dim->name = g_strdup (parts[0]);
  }
  type->n_dims = n;

  /* weights from the least significant dimension up; the most significant
   * dimension's radix never matters, so a single 64-bit dimension works */
  type->dims[n - 1].weight = 1;
  for (guint i = n - 1; i > 0; i--) {
    guint64 radix = type->dims[i].max + 1;

    if (radix == 0 || type->dims[i].weight > G_MAXUINT64 / radix) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: the dimensions of %s do not fit in 64 bits", origin, type->name);
      return FALSE;
    }
    type->dims[i - 1].weight = type->dims[i].weight * radix;
  }
  type->key_max = 0;
  for (guint i = 0; i < n; i++) {
    guint64 part;

    if (type->dims[i].max > G_MAXUINT64 / type->dims[i].weight
        || (part = type->dims[i].max * type->dims[i].weight) > G_MAXUINT64 - type->key_max) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: the dimensions of %s do not fit in 64 bits", origin, type->name);
      return FALSE;
    }
    type->key_max += part;
  }
  return TRUE;
}

static gboolean
parse_field_spec (DaAddressType *type, const char *body, Token *token, const char *origin, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (body, ":", 2);
  const char *spec;
  int dim = -1;

  /* "{}" splits into nothing at all */
  for (guint i = 0; parts[0] != NULL && i < type->n_dims; i++)
    if (strcmp (type->dims[i].name, parts[0]) == 0)
      dim = (int) i;
  if (dim < 0) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s: format of %s names unknown dimension \"%s\"", origin, type->name,
                 parts[0] != NULL ? parts[0] : "");
    return FALSE;
  }
  token->kind = TOKEN_FIELD;
  token->dim = (guint) dim;
  spec = parts[1] != NULL ? parts[1] : "d";
  if (*spec == '#') {
    token->prefix = TRUE;
    spec++;
  }
  while (g_ascii_isdigit (*spec)) {
    token->width = token->width * 10 + (guint) (*spec - '0');
    if (token->width > 32)
      break;
    spec++;
  }
  if (token->width > 32 || (strcmp (spec, "x") != 0 && strcmp (spec, "d") != 0)) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s: bad field \"{%s}\" in the format of %s", origin, body, type->name);
    return FALSE;
  }
  token->hex = spec[0] == 'x';
  return TRUE;
}

/* What the text can go on with after the token before index i: every
 * literal or field that may come next (groups present or absent), or
 * NULL for the end of the text.  func returns FALSE to stop. */
typedef gboolean (*NextFunc) (const Token *next, gpointer user_data);

static gboolean
each_next (const DaAddressType *type, guint i, NextFunc func, gpointer user_data)
{
  const Token *token;

  if (i >= type->tokens->len)
    return func (NULL, user_data);
  token = &g_array_index (type->tokens, Token, i);
  switch (token->kind) {
  case TOKEN_OPEN:
    /* present: its leading literal; absent: what follows it */
    return func (&g_array_index (type->tokens, Token, i + 1), user_data)
           && each_next (type, token->match + 1, func, user_data);
  case TOKEN_CLOSE:
    return each_next (type, i + 1, func, user_data);
  case TOKEN_LITERAL:
  case TOKEN_FIELD:
  default:
    return func (token, user_data);
  }
}

typedef struct {
  const Token *token; /* the field or the group */
  const Token *lead;  /* a group's leading literal */
} Ambiguity;

/* a field's digits run on into what follows when that is a field or
 * starts with a digit the field reads */
static gboolean
field_ends (const Token *next, gpointer user_data)
{
  Ambiguity *a = user_data;

  if (next == NULL)
    return TRUE;
  if (next->kind == TOKEN_FIELD)
    return FALSE;
  return !(a->token->hex ? g_ascii_isxdigit (next->literal[0]) : g_ascii_isdigit (next->literal[0]));
}

/* an absent group must not look present: what follows it may not start
 * with its leading literal */
static gboolean
group_absent_shows (const Token *next, gpointer user_data)
{
  Ambiguity *a = user_data;

  return next == NULL || next->kind != TOKEN_LITERAL || !g_str_has_prefix (next->literal, a->lead->literal);
}

/* Every text the format prints must parse back to the same digits: no
 * field may be followed by one or by a digit it would read, and no absent
 * optional group by its own leading literal. */
static gboolean
check_unambiguous (const DaAddressType *type, const char *origin, GError **error)
{
  for (guint i = 0; i < type->tokens->len; i++) {
    const Token *token = &g_array_index (type->tokens, Token, i);
    Ambiguity a = { token, NULL };

    if (token->kind == TOKEN_FIELD && !each_next (type, i + 1, field_ends, &a)) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: in the format of %s, field %s may be followed by a field or a digit it would read: "
                   "the text would not parse back", origin, type->name, type->dims[token->dim].name);
      return FALSE;
    }
    if (token->kind == TOKEN_OPEN) {
      a.lead = &g_array_index (type->tokens, Token, i + 1);
      if (!each_next (type, token->match + 1, group_absent_shows, &a)) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                     "%s: in the format of %s, what follows the optional group \"%s...\" starts like it: "
                     "the text would not parse back", origin, type->name, a.lead->literal);
        return FALSE;
      }
    }
  }
  return TRUE;
}

static gboolean
parse_format (DaAddressType *type, const char *format, const char *origin, GError **error)
{
  g_autoptr (GArray) stack = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GString) literal = g_string_new (NULL);
  guint seen[DA_MAX_DIMS] = { 0 };

  type->tokens = g_array_new (FALSE, TRUE, sizeof (Token));
  g_array_set_clear_func (type->tokens, token_clear);

  for (const char *p = format;; p++) {
    Token token = { 0 };

    if (*p != '\0' && *p != '{' && *p != '[' && *p != ']') {
      if (*p == '}' || *p == '-' || *p == '=' || *p == ',' || *p == ';' || g_ascii_isspace (*p)) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                     "%s: the format of %s may not contain '%c'", origin, type->name, *p);
        return FALSE;
      }
      g_string_append_c (literal, *p);
      continue;
    }
    if (literal->len > 0) {
      Token lit = { .kind = TOKEN_LITERAL, .literal = g_strdup (literal->str) };

      g_array_append_val (type->tokens, lit);
      g_string_truncate (literal, 0);
    }
    if (*p == '\0')
      break;
    if (*p == '{') {
      const char *end = strchr (p, '}');
      g_autofree char *body = NULL;

      if (end == NULL) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                     "%s: unterminated field in the format of %s", origin, type->name);
        return FALSE;
      }
      body = g_strndup (p + 1, (gsize) (end - p - 1));
      if (!parse_field_spec (type, body, &token, origin, error))
        return FALSE;
      seen[token.dim]++;
      p = end;
    } else if (*p == '[') {
      token.kind = TOKEN_OPEN;
      g_array_append_val (stack, type->tokens->len);
    } else {
      guint open;

      if (stack->len == 0) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                     "%s: unbalanced ']' in the format of %s", origin, type->name);
        return FALSE;
      }
      open = g_array_index (stack, guint, stack->len - 1);
      g_array_set_size (stack, stack->len - 1);
      token.kind = TOKEN_CLOSE;
      g_array_index (type->tokens, Token, open).match = type->tokens->len;
    }
    g_array_append_val (type->tokens, token);
  }
  if (stack->len > 0) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s: unbalanced '[' in the format of %s", origin, type->name);
    return FALSE;
  }
  for (guint i = 0; i < type->n_dims; i++) {
    if (seen[i] != 1) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: dimension %s must appear exactly once in the format of %s",
                   origin, type->dims[i].name, type->name);
      return FALSE;
    }
  }
  /* a group starts with a literal and then holds a field */
  for (guint i = 0; i < type->tokens->len; i++) {
    Token *token = &g_array_index (type->tokens, Token, i);

    if (token->kind != TOKEN_OPEN)
      continue;
    if (i + 2 >= token->match
        || g_array_index (type->tokens, Token, i + 1).kind != TOKEN_LITERAL
        || g_array_index (type->tokens, Token, i + 2).kind != TOKEN_FIELD) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: an optional group in the format of %s must start with a literal and a field",
                   origin, type->name);
      return FALSE;
    }
  }
  return check_unambiguous (type, origin, error);
}

static gboolean
read_default_tags (DaAddressType *type, GKeyFile *file, const char *origin, GError **error)
{
  g_auto (GStrv) keys = g_key_file_get_keys (file, TYPE_GROUP, NULL, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();

  type->default_tags = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) da_range_map_free);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
    g_auto (GStrv) specs = NULL;
    DaRangeMap *set;
    const char *tag;

    if (!g_str_has_prefix (keys[i], "Tag."))
      continue;
    tag = keys[i] + 4;
    if (!da_name_validate ("tag", tag, error))
      return FALSE;
    set = da_range_map_new_set ();
    g_hash_table_replace (type->default_tags, g_strdup (tag), set);
    if (!da_key_file_get_string_list (file, origin, TYPE_GROUP, keys[i], FALSE, &specs, error))
      return FALSE;
    for (guint j = 0; specs != NULL && specs[j] != NULL; j++) {
      if (!da_address_type_add_spec (type, g_strstrip (specs[j]), set, error)) {
        g_prefix_error (error, "%s: %s: ", origin, keys[i]);
        return FALSE;
      }
    }
  }
  type->default_tag_names = (char **) g_hash_table_get_keys_as_array (type->default_tags, NULL);
  qsort (type->default_tag_names, g_strv_length (type->default_tag_names), sizeof (char *), compare_names);
  return TRUE;
}

DaAddressType *
da_address_type_new_from_keyfile (GKeyFile *file, const char *origin, GError **error)
{
  g_autoptr (DaAddressType) type = g_new0 (DaAddressType, 1);
  g_auto (GStrv) dims = NULL;
  g_auto (GStrv) pool = NULL;
  g_autofree char *format = NULL;
  g_autofree char *dynamic = NULL;
  g_autofree char *isolate = NULL;

  g_atomic_ref_count_init (&type->ref);
  type->isolate = -1;
  if (!da_key_file_get_string (file, origin, TYPE_GROUP, "Name", TRUE, &type->name, error))
    return NULL;
  if (!name_is_identifier (type->name, 32)) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s: type name \"%s\" must be a letter followed by letters, digits, '-' or '_'",
                 origin, type->name);
    return NULL;
  }
  if (!da_key_file_get_string (file, origin, TYPE_GROUP, "Description", FALSE, &type->description, error)
      || !da_key_file_get_string (file, origin, TYPE_GROUP, "FullMessage", FALSE, &type->full_message, error))
    return NULL;
  if (type->description == NULL)
    type->description = g_strdup (type->name);
  {
    g_autofree char *scope = NULL;

    if (!da_key_file_get_string (file, origin, TYPE_GROUP, "Scope", FALSE, &scope, error))
      return NULL;
    if (scope == NULL || g_strcmp0 (scope, "any") == 0)
      type->scope = DA_TYPE_SCOPE_ANY;
    else if (g_strcmp0 (scope, "vm") == 0)
      type->scope = DA_TYPE_SCOPE_VM;
    else if (g_strcmp0 (scope, "host") == 0)
      type->scope = DA_TYPE_SCOPE_HOST;
    else {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: Scope must be vm, host or any, not \"%s\"", origin, scope);
      return NULL;
    }
  }

  if (!da_key_file_get_string_list (file, origin, TYPE_GROUP, "Dimensions", TRUE, &dims, error)
      || !parse_dimensions (type, dims, origin, error))
    return NULL;
  if (!da_key_file_get_string (file, origin, TYPE_GROUP, "Format", TRUE, &format, error)
      || !parse_format (type, format, origin, error))
    return NULL;
  type->format = g_steal_pointer (&format);
  /* digits of a key up to key_max never pass their maximum: only a minimum
   * above 0 or an optional group can make a key no address */
  type->dense = TRUE;
  for (guint i = 0; i < type->n_dims; i++)
    if (type->dims[i].min != 0)
      type->dense = FALSE;
  for (guint i = 0; i < type->tokens->len; i++)
    if (g_array_index (type->tokens, Token, i).kind == TOKEN_OPEN)
      type->dense = FALSE;

  da_address_type_full_box (type, &type->dynamic_box);
  if (!da_key_file_get_string (file, origin, TYPE_GROUP, "Dynamic", FALSE, &dynamic, error))
    return NULL;
  if (dynamic != NULL && !da_address_type_parse_box (type, dynamic, &type->dynamic_box, error)) {
    g_prefix_error (error, "%s: Dynamic: ", origin);
    return NULL;
  }
  if (!da_key_file_get_string (file, origin, TYPE_GROUP, "Isolate", FALSE, &isolate, error))
    return NULL;
  if (isolate != NULL) {
    type->isolate = da_address_type_find_dimension (type, isolate);
    if (type->isolate < 0) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: Isolate names unknown dimension \"%s\"", origin, isolate);
      return NULL;
    }
  }

  if (!da_key_file_get_string_list (file, origin, TYPE_GROUP, "DynamicTags", FALSE, &type->dynamic_tags, error)
      || !da_key_file_get_string_list (file, origin, TYPE_GROUP, "DynamicNotTags", FALSE, &type->dynamic_not_tags,
                                       error))
    return NULL;
  if (type->dynamic_tags == NULL)
    type->dynamic_tags = g_new0 (char *, 1);
  if (type->dynamic_not_tags == NULL)
    type->dynamic_not_tags = g_new0 (char *, 1);
  type->exclusive_tags = g_key_file_get_string_list (file, TYPE_GROUP, "ExclusiveTags", NULL, NULL);
  if (type->exclusive_tags == NULL)
    type->exclusive_tags = g_new0 (char *, 1);
  if (g_strv_length (type->dynamic_tags) > DA_MAX_DEFAULT_TAGS || g_strv_length (type->dynamic_not_tags) > DA_MAX_DEFAULT_TAGS
      || g_strv_length (type->exclusive_tags) > DA_MAX_DEFAULT_TAGS) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s: too many dynamic tags", origin);
    return NULL;
  }

  type->default_pool = da_range_map_new_set ();
  if (!da_key_file_get_string_list (file, origin, TYPE_GROUP, "Pool", FALSE, &pool, error))
    return NULL;
  for (guint i = 0; pool != NULL && pool[i] != NULL; i++) {
    if (!da_address_type_add_spec (type, g_strstrip (pool[i]), type->default_pool, error)) {
      g_prefix_error (error, "%s: Pool: ", origin);
      return NULL;
    }
  }
  if (!read_default_tags (type, file, origin, error))
    return NULL;
  return g_steal_pointer (&type);
}

DaAddressType *
da_address_type_ref (DaAddressType *type)
{
  g_atomic_ref_count_inc (&type->ref);
  return type;
}

void
da_address_type_unref (DaAddressType *type)
{
  if (type == NULL || !g_atomic_ref_count_dec (&type->ref))
    return;
  for (guint i = 0; i < DA_MAX_DIMS; i++)
    g_free (type->dims[i].name);
  g_free (type->name);
  g_free (type->description);
  g_free (type->format);
  g_free (type->full_message);
  if (type->tokens != NULL)
    g_array_unref (type->tokens);
  da_range_map_free (type->default_pool);
  g_strfreev (type->dynamic_tags);
  g_strfreev (type->dynamic_not_tags);
  g_strfreev (type->exclusive_tags);
  /* the names are the hash table's keys */
  g_free (type->default_tag_names);
  if (type->default_tags != NULL)
    g_hash_table_unref (type->default_tags);
  g_free (type);
}

const char *
da_address_type_get_name (const DaAddressType *type)
{
  return type->name;
}

const char *
da_address_type_get_description (const DaAddressType *type)
{
  return type->description;
}

const char *
da_address_type_get_format (const DaAddressType *type)
{
  return type->format;
}

const char *
da_address_type_get_full_message (const DaAddressType *type)
{
  return type->full_message;
}

DaTypeScope
da_address_type_get_scope (const DaAddressType *type)
{
  return type->scope;
}

const char *
da_type_scope_to_string (DaTypeScope scope)
{
  switch (scope) {
  case DA_TYPE_SCOPE_VM: return "vm";
  case DA_TYPE_SCOPE_HOST: return "host";
  case DA_TYPE_SCOPE_ANY:
  default: return "any";
  }
}

guint
da_address_type_get_n_dimensions (const DaAddressType *type)
{
  return type->n_dims;
}

const DaDimension *
da_address_type_get_dimension (const DaAddressType *type, guint index)
{
  g_return_val_if_fail (index < type->n_dims, NULL);
  return &type->dims[index];
}

int
da_address_type_find_dimension (const DaAddressType *type, const char *name)
{
  for (guint i = 0; i < type->n_dims; i++)
    if (strcmp (type->dims[i].name, name) == 0)
      return (int) i;
  return -1;
}

guint64
da_address_type_get_key_max (const DaAddressType *type)
{
  return type->key_max;
}

const DaRangeMap *
da_address_type_get_default_pool (const DaAddressType *type)
{
  return type->default_pool;
}

const DaBox *
da_address_type_get_dynamic_box (const DaAddressType *type)
{
  return &type->dynamic_box;
}

int
da_address_type_get_isolate (const DaAddressType *type)
{
  return type->isolate;
}

const char *const *
da_address_type_get_dynamic_tags (const DaAddressType *type)
{
  return (const char *const *) type->dynamic_tags;
}

const char *const *
da_address_type_get_dynamic_not_tags (const DaAddressType *type)
{
  return (const char *const *) type->dynamic_not_tags;
}

const char *const *
da_address_type_get_exclusive_tags (const DaAddressType *type)
{
  return (const char *const *) type->exclusive_tags;
}

const char *const *
da_address_type_get_default_tag_names (const DaAddressType *type)
{
  return (const char *const *) type->default_tag_names;
}

const DaRangeMap *
da_address_type_get_default_tag (const DaAddressType *type, const char *tag)
{
  return g_hash_table_lookup (type->default_tags, tag);
}

void
da_address_type_decode (const DaAddressType *type, guint64 key, guint64 *digits)
{
  for (guint i = 0; i < type->n_dims; i++) {
    digits[i] = key / type->dims[i].weight;
    key -= digits[i] * type->dims[i].weight;
  }
}

guint64
da_address_type_encode (const DaAddressType *type, const guint64 *digits)
{
  guint64 key = 0;

  for (guint i = 0; i < type->n_dims; i++)
    key += digits[i] * type->dims[i].weight;
  return key;
}

/* a field's digits, zero-padded to width: without printf, since every
 * answer about a reservation formats its address */
static void
append_digits (GString *out, guint64 value, gboolean hex, guint width)
{
  static const char digit[] = "0123456789abcdef";
  char buf[64];
  guint base = hex ? 16 : 10;
  guint i = sizeof buf;

  do {
    buf[--i] = digit[value % base];
    value /= base;
  } while (value != 0);
  while (sizeof buf - i < width && i > 0)
    buf[--i] = '0';
  g_string_append_len (out, buf + i, (gssize) (sizeof buf - i));
}

static void
format_tokens (const DaAddressType *type, const guint64 *digits, guint from, guint to, GString *out)
{
  for (guint i = from; i < to; i++) {
    const Token *token = &g_array_index (type->tokens, Token, i);

    switch (token->kind) {
    case TOKEN_LITERAL:
      g_string_append (out, token->literal);
      break;
    case TOKEN_FIELD:
      if (token->prefix)
        g_string_append (out, "0x");
      append_digits (out, digits[token->dim], token->hex, token->width);
      break;
    case TOKEN_OPEN:
      if (digits[g_array_index (type->tokens, Token, i + 2).dim] != 0)
        format_tokens (type, digits, i + 1, token->match, out);
      i = token->match;
      break;
    case TOKEN_CLOSE:
    default:
      break;
    }
  }
}

char *
da_address_type_format_key (const DaAddressType *type, guint64 key)
{
  guint64 digits[DA_MAX_DIMS];
  GString *out = g_string_sized_new (32);

  da_address_type_decode (type, key, digits);
  format_tokens (type, digits, 0, type->tokens->len, out);
  return g_string_free (out, FALSE);
}

static gboolean
invalid_address (const DaAddressType *type, const char *text, GError **error, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static gboolean
invalid_address (const DaAddressType *type, const char *text, GError **error, const char *fmt, ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, fmt);
  detail = g_strdup_vprintf (fmt, args);
  va_end (args);
  if (text != NULL)
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                 "invalid %s address \"%s\": %s (form %s)", type->name, text, detail, type->format);
  else
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                 "invalid %s address: %s", type->name, detail);
  return FALSE;
}

/* the dimension a missing literal at token i would have come before */
static const char *
next_dimension (const DaAddressType *type, guint i)
{
  for (; i < type->tokens->len; i++) {
    const Token *token = &g_array_index (type->tokens, Token, i);

    if (token->kind == TOKEN_FIELD)
      return type->dims[token->dim].name;
  }
  return NULL;
}

/* *last is the dimension parsed last, or -1: a misplaced separator is
 * reported after it, or else before the dimension it leads to */
static gboolean
parse_tokens (const DaAddressType *type, const char *text, const char **pos, guint from, guint to,
              guint64 *digits, int *last, GError **error)
{
  for (guint i = from; i < to; i++) {
    const Token *token = &g_array_index (type->tokens, Token, i);
    const DaDimension *dim;
    guint64 value = 0;
    guint base, n = 0;
    const char *p = *pos;

    switch (token->kind) {
    case TOKEN_LITERAL:
      if (strncmp (p, token->literal, strlen (token->literal)) != 0) {
        const char *before = next_dimension (type, i + 1);

        if (*last >= 0)
          return invalid_address (type, text, error, "expected \"%s\" after %s at offset %d", token->literal,
                                  type->dims[*last].name, (int) (p - text));
        return invalid_address (type, text, error, "expected \"%s\" before %s at offset %d", token->literal,
                                before != NULL ? before : "the end", (int) (p - text));
      }
      *pos = p + strlen (token->literal);
      break;
    case TOKEN_FIELD:
      dim = &type->dims[token->dim];
      if (token->prefix) {
        if (p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
          return invalid_address (type, text, error, "%s must start with 0x", dim->name);
        p += 2;
      }
      base = token->hex ? 16 : 10;
      for (;; p++, n++) {
        int digit = g_ascii_xdigit_value (*p);

        if (digit < 0 || (guint) digit >= base)
          break;
        if (value > (G_MAXUINT64 - (guint64) digit) / base)
          return invalid_address (type, text, error, "%s is out of range %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT,
                                  dim->name, dim->min, dim->max);
        value = value * base + (guint64) digit;
      }
      if (n == 0)
        return invalid_address (type, text, error, "%s: expected a %s number at offset %d",
                                dim->name, token->hex ? "hexadecimal" : "decimal", (int) (p - text));
      if (value < dim->min || value > dim->max)
        return invalid_address (type, text, error,
                                token->hex ? "%s 0x%" G_GINT64_MODIFIER "x is out of range 0x%" G_GINT64_MODIFIER "x..0x%" G_GINT64_MODIFIER "x"
                                           : "%s %" G_GUINT64_FORMAT " is out of range %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT,
                                dim->name, value, dim->min, dim->max);
      digits[token->dim] = value;
      *last = (int) token->dim;
      *pos = p;
      break;
    case TOKEN_OPEN: {
      const Token *lead_literal = &g_array_index (type->tokens, Token, i + 1);
      const Token *lead_field = &g_array_index (type->tokens, Token, i + 2);

      if (strncmp (p, lead_literal->literal, strlen (lead_literal->literal)) == 0) {
        if (!parse_tokens (type, text, pos, i + 1, token->match, digits, last, error))
          return FALSE;
        if (digits[lead_field->dim] == 0)
          return invalid_address (type, text, error, "%s must not be 0 when given", type->dims[lead_field->dim].name);
      }
      i = token->match;
      break;
    }
    case TOKEN_CLOSE:
    default:
      break;
    }
  }
  return TRUE;
}

gboolean
da_address_type_parse (const DaAddressType *type, const char *text, guint64 *key, GError **error)
{
  guint64 digits[DA_MAX_DIMS] = { 0 };
  const char *pos = text;
  int last = -1;

  if (text == NULL || *text == '\0')
    return invalid_address (type, NULL, error, "empty address");
  if (strlen (text) > 256)
    return invalid_address (type, NULL, error, "address text longer than 256 bytes");
  if (!parse_tokens (type, text, &pos, 0, type->tokens->len, digits, &last, error))
    return FALSE;
  if (*pos != '\0' && last >= 0)
    return invalid_address (type, text, error, "unexpected \"%s\" at the end, after %s", pos, type->dims[last].name);
  if (*pos != '\0')
    return invalid_address (type, text, error, "unexpected \"%s\" at the end", pos);
  *key = da_address_type_encode (type, digits);
  return TRUE;
}

gboolean
da_address_type_validate_key (const DaAddressType *type, guint64 key, GError **error)
{
  guint64 digits[DA_MAX_DIMS];

  if (type->dense && key <= type->key_max)
    return TRUE;
  if (key > type->key_max)
    return invalid_address (type, NULL, error, "key %" G_GUINT64_FORMAT " is beyond the address space", key);
  da_address_type_decode (type, key, digits);
  for (guint i = 0; i < type->n_dims; i++)
    if (digits[i] < type->dims[i].min || digits[i] > type->dims[i].max)
      return invalid_address (type, NULL, error, "%s %" G_GUINT64_FORMAT " is out of range %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT,
                              type->dims[i].name, digits[i], type->dims[i].min, type->dims[i].max);
  /* an absent optional group leaves all of its fields zero */
  for (guint i = 0; i < type->tokens->len; i++) {
    const Token *token = &g_array_index (type->tokens, Token, i);

    if (token->kind != TOKEN_OPEN || digits[g_array_index (type->tokens, Token, i + 2).dim] != 0)
      continue;
    for (guint j = i + 1; j < token->match; j++) {
      const Token *inner = &g_array_index (type->tokens, Token, j);

      if (inner->kind == TOKEN_FIELD && digits[inner->dim] != 0)
        return invalid_address (type, NULL, error, "%s is set while %s is 0", type->dims[inner->dim].name,
                                type->dims[g_array_index (type->tokens, Token, i + 2).dim].name);
    }
  }
  return TRUE;
}

void
da_address_type_full_box (const DaAddressType *type, DaBox *box)
{
  memset (box, 0, sizeof (*box));
  for (guint i = 0; i < type->n_dims; i++) {
    box->lo[i] = type->dims[i].min;
    box->hi[i] = type->dims[i].max;
  }
}

gboolean
da_address_type_parse_box (const DaAddressType *type, const char *text, DaBox *box, GError **error)
{
  g_auto (GStrv) items = g_strsplit (text, ",", -1);

  for (guint i = 0; items[i] != NULL; i++) {
    g_auto (GStrv) kv = g_strsplit (g_strstrip (items[i]), "=", 2);
    g_auto (GStrv) bounds = NULL;
    guint64 lo, hi;
    int dim;

    if (kv[0] == NULL || kv[1] == NULL) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "box item \"%s\" of %s must be DIMENSION=VALUE or DIMENSION=LO-HI", items[i], type->name);
      return FALSE;
    }
    dim = da_address_type_find_dimension (type, g_strstrip (kv[0]));
    if (dim < 0) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s has no dimension \"%s\"", type->name, kv[0]);
      return FALSE;
    }
    bounds = g_strsplit (g_strstrip (kv[1]), "-", 2);
    if (!da_parse_u64 (bounds[0], &lo) || (bounds[1] != NULL && !da_parse_u64 (bounds[1], &hi))) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: \"%s\" is not a number or range", kv[0], kv[1]);
      return FALSE;
    }
    if (bounds[1] == NULL)
      hi = lo;
    if (lo > hi || lo < type->dims[dim].min || hi > type->dims[dim].max)
      return invalid_address (type, NULL, error, "%s %s is out of range %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT,
                              kv[0], kv[1], type->dims[dim].min, type->dims[dim].max);
    box->lo[dim] = lo;
    box->hi[dim] = hi;
  }
  return TRUE;
}

/* index of the least significant dimension the box restricts; every less
 * significant dimension spans its whole radix, so box keys come in
 * contiguous rows along it.  -1 when the box covers the whole space. */
static int
box_row_dimension (const DaAddressType *type, const DaBox *box)
{
  for (int i = (int) type->n_dims - 1; i >= 0; i--)
    if (box->lo[i] != 0 || box->hi[i] != type->dims[i].max)
      return i;
  return -1;
}

gboolean
da_box_is_full (const DaAddressType *type, const DaBox *box)
{
  for (guint i = 0; i < type->n_dims; i++)
    if (box->lo[i] > type->dims[i].min || box->hi[i] < type->dims[i].max)
      return FALSE;
  return TRUE;
}

guint64
da_box_row_length (const DaAddressType *type, const DaBox *box)
{
  int t = box_row_dimension (type, box);
  guint64 extent;

  if (t < 0)
    return type->key_max == G_MAXUINT64 ? G_MAXUINT64 : type->key_max + 1;
  if (box->lo[t] > box->hi[t])
    return 0;
  extent = box->hi[t] - box->lo[t] + 1;
  return extent > G_MAXUINT64 / type->dims[t].weight ? G_MAXUINT64 : extent * type->dims[t].weight;
}

void
da_box_row (const DaAddressType *type, const DaBox *box, guint64 key, DaRange *row)
{
  guint64 digits[DA_MAX_DIMS];
  guint64 base = 0;
  int t = box_row_dimension (type, box);

  if (t < 0) {
    row->start = 0;
    row->end = type->key_max;
    return;
  }
  da_address_type_decode (type, key, digits);
  for (int i = 0; i < t; i++)
    base += digits[i] * type->dims[i].weight;
  row->start = base + box->lo[t] * type->dims[t].weight;
  row->end = base + box->hi[t] * type->dims[t].weight + (type->dims[t].weight - 1);
}

gboolean
da_box_next (const DaAddressType *type, const DaBox *box, guint64 key, guint64 *out)
{
  guint64 d[DA_MAX_DIMS];
  guint n = type->n_dims;

  if (key > type->key_max)
    return FALSE;
  da_address_type_decode (type, key, d);
  for (guint i = 0; i < n; i++) {
    if (d[i] < box->lo[i]) {
      for (guint j = i; j < n; j++)
        d[j] = box->lo[j];
      break;
    }
    if (d[i] > box->hi[i]) {
      /* carry into the nearest more significant dimension with room */
      int j = (int) i - 1;

      while (j >= 0 && d[j] >= box->hi[j])
        j--;
      if (j < 0)
        return FALSE;
      d[j]++;
      for (guint m = (guint) j + 1; m < n; m++)
        d[m] = box->lo[m];
      break;
    }
  }
  *out = da_address_type_encode (type, d);
  return TRUE;
}

gboolean
da_box_prev (const DaAddressType *type, const DaBox *box, guint64 key, guint64 *out)
{
  guint64 d[DA_MAX_DIMS];
  guint n = type->n_dims;

  da_address_type_decode (type, MIN (key, type->key_max), d);
  for (guint i = 0; i < n; i++) {
    if (d[i] > box->hi[i]) {
      for (guint j = i; j < n; j++)
        d[j] = box->hi[j];
      break;
    }
    if (d[i] < box->lo[i]) {
      int j = (int) i - 1;

      while (j >= 0 && d[j] <= box->lo[j])
        j--;
      if (j < 0)
        return FALSE;
      d[j]--;
      for (guint m = (guint) j + 1; m < n; m++)
        d[m] = box->hi[m];
      break;
    }
  }
  *out = da_address_type_encode (type, d);
  return TRUE;
}

char *
da_box_to_string (const DaAddressType *type, const DaBox *box)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < type->n_dims; i++) {
    if (box->lo[i] == type->dims[i].min && box->hi[i] == type->dims[i].max)
      continue;
    if (out->len > 0)
      g_string_append (out, ", ");
    if (box->lo[i] == box->hi[i])
      g_string_append_printf (out, "%s=%" G_GUINT64_FORMAT, type->dims[i].name, box->lo[i]);
    else
      g_string_append_printf (out, "%s=%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, type->dims[i].name, box->lo[i], box->hi[i]);
  }
  if (out->len == 0) {
    g_string_free (out, TRUE);
    return NULL;
  }
  return g_string_free (out, FALSE);
}

gboolean
da_address_type_add_box (const DaAddressType *type, const DaBox *box, DaRangeMap *set, guint max_ranges, GError **error)
{
  guint64 d[DA_MAX_DIMS];
  guint64 rows = 1;
  int t = box_row_dimension (type, box);

  for (guint i = 0; i < type->n_dims; i++) {
    if (box->lo[i] > box->hi[i])
      return TRUE;
  }
  if (t < 0)
    return da_range_map_insert (set, 0, type->key_max, NULL);
  for (int i = 0; i < t; i++) {
    guint64 extent = box->hi[i] - box->lo[i] + 1;

    if (extent == 0 || rows > max_ranges / extent) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_LIMIT,
                   "the box spans more than %u ranges of %s", max_ranges, type->name);
      return FALSE;
    }
    rows *= extent;
  }
  for (guint i = 0; i < type->n_dims; i++)
    d[i] = box->lo[i];
  for (guint64 r = 0; r < rows; r++) {
    DaRange row;

    da_box_row (type, box, da_address_type_encode (type, d), &row);
    da_range_map_insert (set, row.start, row.end, NULL);
    /* odometer over the leading dimensions */
    for (int i = t - 1; i >= 0; i--) {
      if (d[i] < box->hi[i]) {
        d[i]++;
        break;
      }
      d[i] = box->lo[i];
    }
  }
  return TRUE;
}

gboolean
da_address_type_add_spec (const DaAddressType *type, const char *spec, DaRangeMap *set, GError **error)
{
  g_auto (GStrv) ends = NULL;
  guint64 start, end;

  if (strchr (spec, '=') != NULL) {
    DaBox box;

    da_address_type_full_box (type, &box);
    return da_address_type_parse_box (type, spec, &box, error)
           && da_address_type_add_box (type, &box, set, MAX_POOL_RANGES, error);
  }
  ends = g_strsplit (spec, "-", 2);
  /* an empty spec (an empty list item) splits into nothing at all */
  if (ends[0] == NULL)
    return invalid_address (type, NULL, error, "empty range");
  if (!da_address_type_parse (type, g_strstrip (ends[0]), &start, error))
    return FALSE;
  end = start;
  if (ends[1] != NULL && !da_address_type_parse (type, g_strstrip (ends[1]), &end, error))
    return FALSE;
  if (start > end) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                 "range \"%s\" of %s ends before it starts", spec, type->name);
    return FALSE;
  }
  da_range_map_insert (set, start, end, NULL);
  return TRUE;
}
