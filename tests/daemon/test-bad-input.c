/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bad-input catalogue: a real devaddrd gets, over its socket, one row
 * at a time, everything hostile or broken we know how to send, and for
 * every row
 *   - the answer is the documented one (code, id, data.reason, and a part
 *     of the message where it matters), or no answer where none may come;
 *   - the connection stays usable: the state digest below is requested on
 *     the same connection right after, and must be its next answer; one
 *     more request after that proves no answer nobody asked for comes;
 *   - the state is unchanged: that digest (vm.list, host.get, vm.get of every VM,
 *     addr.lookup of every alias, pool.stats of every pool in use and the
 *     counters of server.info) is identical to the one taken before the
 *     first row;
 *   - another client, on its own connection and thread, keeps getting
 *     answers to its queries, each within OTHER_CLIENT_MAX_LATENCY_US;
 *   - no external entity is ever opened (a named pipe would block the
 *     daemon, and opening it for writing tells whether anyone reads it) and
 *     no reply ever carries the content of the secret file rows point at.
 *
 * The rows come from tests/daemon/bad-input/ (the *.rows files and the
 * hostile XML documents of xml/, see frames.rows for the format) and from
 * generators here: frames and values too big to keep as files, and the
 * systematic part, read from the OpenRPC document the daemon serves: every
 * parameter of every method with every JSON type its schema does not allow,
 * with every bad name, without its required members, with an unknown
 * member, and as an array.
 *
 * Only rows that end the client's side of the connection may see it
 * closed (the daemon answers what it got, then says goodbye); nothing in
 * the protocol lets the daemon drop a connection over bad input: an
 * over-long line is answered and skipped, everything else is one line that
 * was read whole and answered.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol/da-json.h"
#include "protocol/da-limits.h"
#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"

/* generous safety bounds: a healthy daemon answers in milliseconds */
#define REPLY_TIMEOUT_MS 30000

/* the other client's worst answer time.  The main loop never does more at
 * once than parse one frame of at most 4 MiB, check one XML of at most
 * 1 MiB, or answer one digest batch: tens of milliseconds, a few times that
 * under ASan.  A second means the loop was blocked by one client's input. */
#define OTHER_CLIENT_MAX_LATENCY_US (1 * G_USEC_PER_SEC)

/* sent after the digest's answer came: its answer comes after all others */
#define SYNC_REQUEST "{\"jsonrpc\":\"2.0\",\"id\":\"sync\",\"method\":\"vm.list\"}\n"
#define SYNC_ANSWER "{\"jsonrpc\":\"2.0\",\"id\":\"sync\",\"result\":"

/* answers the other client must get while a streamed row is half sent */
#define ANSWERS_DURING_STREAM 3

/* ------------------------------------------------------------------ */
/* a raw connection */

typedef struct {
  int fd;
  GString *in;
} Conn;

static Conn *
conn_open (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  Conn *conn;

  if (fd < 0)
    return NULL;
  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
    close (fd);
    return NULL;
  }
  conn = g_new0 (Conn, 1);
  conn->fd = fd;
  conn->in = g_string_new (NULL);
  return conn;
}

static void
conn_free (Conn *conn)
{
  if (conn == NULL)
    return;
  close (conn->fd);
  g_string_free (conn->in, TRUE);
  g_free (conn);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Conn, conn_free)

static gboolean
conn_send (Conn *conn, const void *data, gsize len)
{
  const char *p = data;

  while (len > 0) {
    ssize_t n = send (conn->fd, p, len, MSG_NOSIGNAL);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    p += n;
    len -= (gsize) n;
  }
  return TRUE;
}

/* the next line; NULL at the end of the stream (*eof set) or on timeout */
static char *
conn_read_line (Conn *conn, int timeout_ms, gboolean *eof)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  *eof = FALSE;
  for (;;) {
    char *nl = memchr (conn->in->str, '\n', conn->in->len);
    struct pollfd pfd = { conn->fd, POLLIN, 0 };
    char buf[65536];
    gint64 left;
    ssize_t n;

    if (nl != NULL) {
      char *line = g_strndup (conn->in->str, (gsize) (nl - conn->in->str));

      g_string_erase (conn->in, 0, nl - conn->in->str + 1);
      return line;
    }
    left = (deadline - g_get_monotonic_time ()) / 1000;
    if (left <= 0)
      return NULL;
    if (poll (&pfd, 1, (int) left) <= 0)
      continue;
    n = recv (conn->fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      *eof = TRUE;
      return NULL;
    }
    g_string_append_len (conn->in, buf, n);
  }
}

/* ------------------------------------------------------------------ */
/* rows */

typedef enum {
  EXPECT_ERROR, /* one answer: an error */
  EXPECT_NONE,  /* no answer at all */
  EXPECT_BATCH, /* one array of answers */
} Expect;

typedef struct {
  char *category;
  char *name;
  char *origin;       /* file:line, or the generator */
  GBytes *bytes;      /* what is sent, its newline included */
  gboolean end_eof;   /* then the client ends its side */
  gsize stream_at;    /* > 0: send this much, wait for the other client, send the rest */
  Expect expect;
  gint code;
  GArray *batch;      /* gint: the code of each answer, 0 for a result */
  char *id;           /* the answer's id as JSON */
  char *reason;       /* error.data.reason, NULL for none */
  char *mention;      /* in error.message, or NULL */
  char *closes;       /* why the daemon closes afterwards, or NULL: it must not */
} Row;

static void
row_free (Row *row)
{
  g_free (row->category);
  g_free (row->name);
  g_free (row->origin);
  g_clear_pointer (&row->bytes, g_bytes_unref);
  g_clear_pointer (&row->batch, g_array_unref);
  g_free (row->id);
  g_free (row->reason);
  g_free (row->mention);
  g_free (row->closes);
  g_free (row);
}

static Row *
row_new (const char *category, const char *origin)
{
  Row *row = g_new0 (Row, 1);

  row->category = g_strdup (category);
  row->origin = g_strdup (origin);
  row->expect = EXPECT_ERROR;
  row->id = g_strdup ("1");
  return row;
}

/* the reason a client matches on, for the application error codes */
static const char *
reason_of (gint code)
{
  switch (code) {
  case 1001: return "not-found";
  case 1002: return "conflict";
  case 1003: return "exhausted";
  case 1004: return "invalid-address";
  case 1007: return "limit";
  default: return NULL;
  }
}

typedef struct {
  GPtrArray *rows;    /* Row */
  GHashTable *names;  /* row names, which must be unique */
  char *fifo;         /* a named pipe nobody may open */
  char *secret_path;  /* a file whose content may never come back */
  char *secret;       /* that content */
  char *domain_xml;   /* the domain bi-pc was assigned from */
  char *nic_xml;      /* a device for device.attach */
  char *net0_address; /* what bi-q35's net0 got */
  gint64 max_frame;   /* the limits the daemon serves */
  gint64 max_xml;
  gint64 max_depth;
} Catalogue;

static void
catalogue_add (Catalogue *cat, Row *row)
{
  ck_assert_msg (row->name != NULL && row->bytes != NULL, "%s: a row needs a name and bytes", row->origin);
  ck_assert_msg (g_hash_table_add (cat->names, g_strdup (row->name)), "%s: the row name %s is taken", row->origin,
                 row->name);
  g_ptr_array_add (cat->rows, row);
}

static char *
substitute (Catalogue *cat, const char *text)
{
  g_auto (GStrv) a = g_strsplit (text, "@FIFO@", -1);
  g_autofree char *b = g_strjoinv (cat->fifo, a);
  g_auto (GStrv) c = g_strsplit (b, "@SECRET@", -1);

  return g_strjoinv (cat->secret_path, c);
}

/* "\xNN" is the byte NN; nothing else is an escape */
static GByteArray *
decode_bytes (const char *text)
{
  GByteArray *out = g_byte_array_new ();

  for (const char *p = text; *p != '\0'; p++) {
    if (p[0] == '\\' && p[1] == 'x' && g_ascii_isxdigit (p[2]) && g_ascii_isxdigit (p[3])) {
      guint8 b = (guint8) (g_ascii_xdigit_value (p[2]) << 4 | g_ascii_xdigit_value (p[3]));

      g_byte_array_append (out, &b, 1);
      p += 3;
    } else {
      g_byte_array_append (out, (const guint8 *) p, 1);
    }
  }
  return out;
}

static GBytes *
frame_bytes (const char *frame, gsize len, gboolean newline)
{
  GByteArray *out = g_byte_array_sized_new ((guint) len + 1);

  g_byte_array_append (out, (const guint8 *) frame, (guint) len);
  if (newline)
    g_byte_array_append (out, (const guint8 *) "\n", 1);
  return g_byte_array_free_to_bytes (out);
}

/* a request, id 1; @params is JSON text that may hold any byte (a NUL
 * too: @params_len counts), or NULL for none */
static GBytes *
request_bytes (const char *method, const char *params, gssize params_len)
{
  g_autofree char *head = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s", method,
                                           params != NULL ? ",\"params\":" : "");
  GByteArray *out = g_byte_array_new ();

  g_byte_array_append (out, (const guint8 *) head, (guint) strlen (head));
  if (params != NULL)
    g_byte_array_append (out, (const guint8 *) params, (guint) (params_len < 0 ? strlen (params) : (gsize) params_len));
  g_byte_array_append (out, (const guint8 *) "}\n", 2);
  return g_byte_array_free_to_bytes (out);
}

/* a row of one frame and one error answer; takes @bytes */
static Row *
add_row (Catalogue *cat, const char *category, const char *name, GBytes *bytes, gint code, const char *id,
         const char *mention)
{
  Row *row = row_new (category, "generated");

  row->name = g_strdup (name);
  row->bytes = bytes;
  row->code = code;
  row->reason = g_strdup (reason_of (code));
  row->mention = g_strdup (mention);
  g_free (row->id);
  row->id = g_strdup (id);
  catalogue_add (cat, row);
  return row;
}

/* a row of one request, answered with an error: with id null when the
 * request could not be read, else with its id */
static Row *
add_request_row (Catalogue *cat, const char *category, const char *name, const char *method, const char *params,
                 gssize params_len, gint code, const char *mention)
{
  return add_row (cat, category, name, request_bytes (method, params, params_len), code,
                  code == -32700 || code == -32600 ? "null" : "1", mention);
}

/* ------------------------------------------------------------------ */
/* the corpus */

static void
finish_file_row (Catalogue *cat, Row *row, GByteArray *send)
{
  if (row == NULL)
    return;
  ck_assert_msg (send != NULL, "%s: the row has no send:", row->origin);
  if (!row->end_eof)
    g_byte_array_append (send, (const guint8 *) "\n", 1);
  row->bytes = g_bytes_new (send->data, send->len);
  if (row->expect == EXPECT_ERROR && row->reason == NULL && reason_of (row->code) != NULL)
    ck_abort_msg ("%s: error %d needs reason: %s", row->origin, row->code, reason_of (row->code));
  catalogue_add (cat, row);
}

static void
parse_expect (Row *row, const char *value)
{
  g_auto (GStrv) words = g_strsplit (value, " ", -1);
  char *end = NULL;

  if (strcmp (value, "none") == 0) {
    row->expect = EXPECT_NONE;
    return;
  }
  if (strcmp (words[0], "batch") == 0) {
    row->expect = EXPECT_BATCH;
    row->batch = g_array_new (FALSE, FALSE, sizeof (gint));
    for (guint i = 1; words[i] != NULL; i++) {
      gint code = strcmp (words[i], "result") == 0 ? 0 : (gint) g_ascii_strtoll (words[i], &end, 10);

      ck_assert_msg (code == 0 || (end != NULL && *end == '\0'), "%s: bad batch entry %s", row->origin, words[i]);
      g_array_append_val (row->batch, code);
    }
    ck_assert_msg (row->batch->len > 0, "%s: an empty batch", row->origin);
    return;
  }
  row->code = (gint) g_ascii_strtoll (value, &end, 10);
  ck_assert_msg (end != NULL && *end == '\0' && row->code != 0, "%s: bad expect: %s", row->origin, value);
}

static void
load_rows_file (Catalogue *cat, const char *path)
{
  g_autofree char *text = NULL;
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *category = g_strndup (base, strlen (base) - strlen (".rows"));
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GByteArray) send = NULL;
  Row *row = NULL;

  ck_assert_msg (g_file_get_contents (path, &text, NULL, &error), "%s", error ? error->message : "");
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    const char *line = lines[i];
    const char *colon;
    g_autofree char *key = NULL;
    const char *value;

    if (line[0] == '#')
      continue;
    if (line[0] == '\0') {
      finish_file_row (cat, row, send);
      row = NULL;
      g_clear_pointer (&send, g_byte_array_unref);
      continue;
    }
    colon = strchr (line, ':');
    ck_assert_msg (colon != NULL, "%s:%u: expected \"key: value\"", path, i + 1);
    key = g_strndup (line, (gsize) (colon - line));
    value = colon[1] == ' ' ? colon + 2 : colon + 1;
    if (row == NULL) {
      g_autofree char *origin = g_strdup_printf ("%s:%u", base, i + 1);

      row = row_new (category, origin);
    }
    if (strcmp (key, "name") == 0) {
      row->name = g_strdup (value);
    } else if (strcmp (key, "send") == 0) {
      g_autofree char *text_value = substitute (cat, value);

      send = decode_bytes (text_value);
    } else if (strcmp (key, "expect") == 0) {
      parse_expect (row, value);
    } else if (strcmp (key, "id") == 0) {
      g_free (row->id);
      row->id = g_strdup (value);
    } else if (strcmp (key, "reason") == 0) {
      row->reason = g_strdup (value);
    } else if (strcmp (key, "mention") == 0) {
      row->mention = g_strdup (value);
    } else if (strcmp (key, "end") == 0 && strcmp (value, "eof") == 0) {
      row->end_eof = TRUE;
    } else if (strcmp (key, "closes") == 0) {
      row->closes = g_strdup (value);
    } else {
      ck_abort_msg ("%s:%u: unknown key %s", path, i + 1, key);
    }
  }
  finish_file_row (cat, row, send);
}

static const char *const xml_methods[] = { "domain.assign", "domain.import", "device.attach", "device.detach", NULL };

/* the params of an XML method: {"vm": vm, "xml": xml} */
static char *
xml_params (const char *vm, const char *xml)
{
  g_autoptr (GString) out = g_string_new ("{\"vm\":");

  da_json_append_string (out, vm, -1);
  g_string_append (out, ",\"xml\":");
  da_json_append_string (out, xml, -1);
  g_string_append_c (out, '}');
  return g_strdup (out->str);
}

/* xml/NAME.xml: the first line is a comment that says what the document
 * shows and, after "mention: ", what the refusal names; it is not sent.
 * Every document goes to each of the four XML methods and must be
 * refused as invalid params. */
static void
load_xml_file (Catalogue *cat, const char *path)
{
  g_autofree char *text = NULL;
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *stem = g_strndup (base, strlen (base) - strlen (".xml"));
  g_autofree char *body = NULL;
  g_autofree char *mention = NULL;
  g_autoptr (GError) error = NULL;
  const char *nl, *m, *close;

  ck_assert_msg (g_file_get_contents (path, &text, NULL, &error), "%s", error ? error->message : "");
  nl = strchr (text, '\n');
  m = strstr (text, "mention: ");
  close = m != NULL ? strstr (m, " -->") : NULL;
  ck_assert_msg (g_str_has_prefix (text, "<!--") && nl != NULL && m != NULL && m < nl && close != NULL && close < nl,
                 "%s: the first line must be <!-- ... mention: TEXT -->", path);
  mention = g_strndup (m + strlen ("mention: "), (gsize) (close - m - strlen ("mention: ")));
  body = substitute (cat, nl + 1);
  for (guint i = 0; xml_methods[i] != NULL; i++) {
    g_autofree char *name = g_strdup_printf ("xml-%s-%s", stem, xml_methods[i]);
    g_autofree char *params = xml_params ("bi-pc", body);
    Row *row = add_request_row (cat, "xml", name, xml_methods[i], params, -1, -32602, mention);

    g_free (row->origin);
    row->origin = g_strdup_printf ("xml/%s", base);
  }
}

static char *
srcdir_file (const char *name)
{
  const char *srcdir = g_getenv ("DA_SRCDIR");

  return g_build_filename (srcdir != NULL ? srcdir : ".", name, NULL);
}

static GPtrArray *
list_files (const char *dir, const char *suffix)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  ck_assert_msg (d != NULL, "no corpus at %s", dir);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, suffix))
      g_ptr_array_add (files, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (files, (GCompareFunc) g_strcmp0);
  ck_assert_uint_gt (files->len, 0);
  return files;
}

static void
load_corpus (Catalogue *cat)
{
  g_autofree char *dir = srcdir_file ("tests/daemon/bad-input");
  g_autofree char *xml_dir = g_build_filename (dir, "xml", NULL);
  g_autoptr (GPtrArray) rows = list_files (dir, ".rows");
  g_autoptr (GPtrArray) xml = list_files (xml_dir, ".xml");

  for (guint i = 0; i < rows->len; i++)
    load_rows_file (cat, g_ptr_array_index (rows, i));
  for (guint i = 0; i < xml->len; i++)
    load_xml_file (cat, g_ptr_array_index (xml, i));
}

/* ------------------------------------------------------------------ */
/* generated: what is too big or too regular to keep as files */

/* a request whose text is made of a head, a middle repeated n times and a tail */
static GBytes *
repeated_bytes (const char *head, const char *middle, gsize n, const char *last, const char *tail)
{
  GByteArray *out = g_byte_array_new ();

  g_byte_array_append (out, (const guint8 *) head, (guint) strlen (head));
  for (gsize i = 0; i < n; i++)
    g_byte_array_append (out, (const guint8 *) middle, (guint) strlen (middle));
  g_byte_array_append (out, (const guint8 *) last, (guint) strlen (last));
  g_byte_array_append (out, (const guint8 *) tail, (guint) strlen (tail));
  g_byte_array_append (out, (const guint8 *) "\n", 1);
  return g_byte_array_free_to_bytes (out);
}

/* {"jsonrpc":"2.0","id":1,"method":"vm.list","params":{"pad":"aaa..."}}, len bytes without its newline */
static GBytes *
padded_frame (gsize len)
{
  const char *head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vm.list\",\"params\":{\"pad\":\"";
  const char *tail = "\"}}";
  GByteArray *out = g_byte_array_sized_new ((guint) len + 1);

  g_assert (len > strlen (head) + strlen (tail));
  g_byte_array_append (out, (const guint8 *) head, (guint) strlen (head));
  g_byte_array_set_size (out, (guint) (len - strlen (tail)));
  memset (out->data + strlen (head), 'a', len - strlen (tail) - strlen (head));
  g_byte_array_append (out, (const guint8 *) tail, (guint) strlen (tail));
  g_byte_array_append (out, (const guint8 *) "\n", 1);
  return g_byte_array_free_to_bytes (out);
}

static void
generate_frames (Catalogue *cat)
{
  gsize max = (gsize) cat->max_frame;
  g_autofree char *too_large = g_strdup_printf ("larger than %" G_GSIZE_FORMAT " bytes", max);
  g_autofree char *deeper = g_strdup_printf ("nesting deeper than %" G_GINT64_FORMAT, cat->max_depth);
  g_autofree char *nodes = g_strdup_printf ("more than %d values", DA_LIMIT_NODES_MAX);
  Row *row;

  /* around the frame limit: the longest line is read, one more byte is not */
  row = add_row (cat, "limits", "frame-exactly-at-the-limit", padded_frame (max), -32602, "1", "params.pad");
  row->stream_at = max / 2;
  row = add_row (cat, "limits", "frame-one-byte-over-the-limit", padded_frame (max + 1), 1007, "null", too_large);
  row->stream_at = max / 2;
  {
    /* a trailing \r belongs to the frame */
    GBytes *at = padded_frame (max);
    gsize len;
    const guint8 *data = g_bytes_get_data (at, &len);
    GByteArray *cr = g_byte_array_new ();

    g_byte_array_append (cr, data, (guint) len - 1);
    g_byte_array_append (cr, (const guint8 *) "\r\n", 2);
    g_bytes_unref (at);
    add_row (cat, "limits", "frame-at-the-limit-plus-cr", g_byte_array_free_to_bytes (cr), 1007, "null", too_large);
  }
  row = add_row (cat, "limits", "frame-5-mib-line", padded_frame (5 * 1024 * 1024), 1007, "null", too_large);
  row->stream_at = 5 * 1024 * 1024 / 2;

  /* nesting: the limit itself is fine, one more and 10,000 are not */
  {
    guint inner = (guint) cat->max_depth - 2; /* the request object and params are two levels */
    GString *a = g_string_new ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vm.list\",\"params\":{\"x\":");

    for (guint i = 0; i < inner; i++)
      g_string_append_c (a, '[');
    for (guint i = 0; i < inner; i++)
      g_string_append_c (a, ']');
    g_string_append (a, "}}");
    add_row (cat, "limits", "frame-nesting-at-the-limit", frame_bytes (a->str, a->len, TRUE), -32602, "1", "params.x");
    g_string_free (a, TRUE);
  }
  add_row (cat, "limits", "frame-nesting-10000-arrays",
           repeated_bytes ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vm.list\",\"params\":{\"x\":", "[", 10000, "", ""),
           1007, "null", deeper);
  {
    GString *o = g_string_new ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vm.list\",\"params\":");

    for (guint i = 0; i < 10000; i++)
      g_string_append (o, "{\"a\":");
    g_string_append (o, "{}");
    for (guint i = 0; i < 10000; i++)
      g_string_append_c (o, '}');
    g_string_append_c (o, '}');
    add_row (cat, "limits", "frame-nesting-10000-objects", frame_bytes (o->str, o->len, TRUE), 1007, "null", deeper);
    g_string_free (o, TRUE);
  }

  /* many values: the node limit bounds what a frame may turn into */
  row = add_row (cat, "limits", "array-of-a-million-values",
                 repeated_bytes ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vm.list\",\"params\":{\"x\":[", "0,", 999999,
                                 "0", "]}}"),
                 1007, "null", nodes);
  row->stream_at = 1000000;
  add_row (cat, "limits", "batch-of-200000-values", repeated_bytes ("[", "1,", 199999, "1", "]"), 1007, "null", nodes);
  {
    GString *params = g_string_new ("{\"vm\":[");

    for (guint i = 0; i < 100000; i++)
      g_string_append (params, i > 0 ? ",0" : "0");
    g_string_append (params, "]}");
    add_request_row (cat, "limits", "array-of-100000-values-as-a-name", "vm.get", params->str, -1, -32602, "params.vm");
    g_string_truncate (params, 0);
    g_string_append_c (params, '{');
    for (guint i = 0; i < 100000; i++)
      g_string_append_printf (params, "%s\"m%u\":0", i > 0 ? "," : "", i);
    g_string_append_c (params, '}');
    add_request_row (cat, "limits", "object-of-100000-members", "vm.list", params->str, -1, -32602, "unknown member");
    g_string_free (params, TRUE);
  }
  {
    /* a batch of 1000 invalid calls: 1000 answers, in one array */
    Row *batch = add_row (cat, "limits", "batch-of-1000-invalid-calls", repeated_bytes ("[", "1,", 999, "1", "]"), 0,
                          "null", NULL);
    gint invalid = -32600;

    batch->expect = EXPECT_BATCH;
    batch->batch = g_array_new (FALSE, FALSE, sizeof (gint));
    for (guint i = 0; i < 1000; i++)
      g_array_append_val (batch->batch, invalid);
  }
  {
    GString *requests = g_string_new ("{\"vm\":\"bi-q35\",\"requests\":[");

    for (guint i = 0; i <= DA_LIMIT_RESERVE_REQUESTS_MAX; i++)
      g_string_append_printf (requests, "%s{\"type\":\"id\",\"alias\":\"many%u\"}", i > 0 ? "," : "", i);
    g_string_append (requests, "]}");
    add_request_row (cat, "limits", "requests-over-the-limit", "addr.reserve", requests->str, -1, -32602,
                     "params.requests");
    g_string_free (requests, TRUE);
  }
  {
    GString *tags = g_string_new ("{\"vm\":\"bi-q35\",\"type\":\"pci\",\"alias\":\"tags-x\",\"constraint\":{\"tags\":[");

    for (guint i = 0; i <= DA_LIMIT_TAGS_MAX; i++)
      g_string_append_printf (tags, "%s\"pcie\"", i > 0 ? "," : "");
    g_string_append (tags, "]}}");
    add_request_row (cat, "limits", "tags-over-the-limit", "addr.reserve", tags->str, -1, -32602,
                     "params.constraint.tags");
    g_string_free (tags, TRUE);
  }
  {
    g_autofree char *method = g_strnfill (4096, 'm');
    g_autofree char *name = g_strnfill (1024 * 1024, 'v');
    g_autofree char *params = g_strdup_printf ("{\"vm\":\"%s\"}", name);
    GBytes *bytes = request_bytes (method, NULL, 0);

    add_row (cat, "limits", "method-name-of-4-kib", bytes, -32601, "1", NULL);
    add_request_row (cat, "limits", "vm-name-of-1-mib", "vm.get", params, -1, -32602, "params.vm");
  }
}

/* a domain XML of about len bytes: the padding is in <description> */
static char *
padded_domain (gsize len)
{
  const char *head = "<domain type='qemu'><name>pad</name><memory unit='MiB'>64</memory><description>";
  const char *tail = "</description><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>";
  GString *out = g_string_sized_new (len + 1);

  g_string_append (out, head);
  while (out->len + strlen (tail) < len)
    g_string_append_c (out, 'a');
  g_string_append (out, tail);
  return g_string_free (out, FALSE);
}

static void
generate_xml (Catalogue *cat)
{
  g_autofree char *over_frame = padded_domain (5 * 1024 * 1024);
  g_autofree char *between = padded_domain ((gsize) cat->max_xml * 2);
  g_autofree char *just_over = padded_domain ((gsize) cat->max_xml + 1);
  g_autofree char *too_large = g_strdup_printf ("larger than %" G_GINT64_FORMAT " bytes", cat->max_frame);
  GString *deep = g_string_new ("<domain type='qemu'><name>deep</name><devices>");
  GString *attributes = g_string_new ("<domain type='qemu'");
  GString *some_attributes = g_string_new ("<domain type='qemu'");

  for (guint i = 0; i < 10000; i++)
    g_string_append (deep, "<a>");
  for (guint i = 0; i < 10000; i++)
    g_string_append (deep, "</a>");
  g_string_append (deep, "</devices></domain>");
  /* distinct attributes up to the XML limit: a parser that handles them
   * one by one against all earlier ones takes minutes */
  for (guint i = 0; attributes->len + 64 < (gsize) cat->max_xml - 64; i++)
    g_string_append_printf (attributes, " a%x=''", i);
  g_string_append (attributes, "><name>x</name></domain>");
  for (guint i = 0; i < 300; i++)
    g_string_append_printf (some_attributes, " a%u=''", i);
  g_string_append (some_attributes, "><name>x</name></domain>");

  for (guint i = 0; xml_methods[i] != NULL; i++) {
    const char *method = xml_methods[i];
    g_autofree char *p_over = xml_params ("bi-pc", over_frame);
    g_autofree char *p_between = xml_params ("bi-pc", between);
    g_autofree char *p_just_over = xml_params ("bi-pc", just_over);
    g_autofree char *p_deep = xml_params ("bi-pc", deep->str);
    g_autofree char *p_attributes = xml_params ("bi-pc", attributes->str);
    g_autofree char *p_some = xml_params ("bi-pc", some_attributes->str);
    g_autofree char *n_over = g_strdup_printf ("xml-over-the-frame-limit-%s", method);
    g_autofree char *n_between = g_strdup_printf ("xml-between-the-xml-and-frame-limits-%s", method);
    g_autofree char *n_just_over = g_strdup_printf ("xml-one-byte-over-the-xml-limit-%s", method);
    g_autofree char *n_deep = g_strdup_printf ("xml-nested-10000-deep-%s", method);
    g_autofree char *n_attributes = g_strdup_printf ("xml-attribute-flood-%s", method);
    g_autofree char *n_some = g_strdup_printf ("xml-300-attributes-%s", method);
    Row *row;

    row = add_request_row (cat, "xml", n_over, method, p_over, -1, 1007, too_large);
    g_free (row->id);
    row->id = g_strdup ("null");
    row->stream_at = 2 * 1024 * 1024;
    add_request_row (cat, "xml", n_between, method, p_between, -1, -32602, "params.xml");
    add_request_row (cat, "xml", n_just_over, method, p_just_over, -1, -32602, "params.xml");
    add_request_row (cat, "xml", n_deep, method, p_deep, -1, -32602, "depth");
    row = add_request_row (cat, "xml", n_attributes, method, p_attributes, -1, -32602, "attributes");
    row->stream_at = (gsize) cat->max_xml / 2;
    add_request_row (cat, "xml", n_some, method, p_some, -1, -32602, "attributes");
  }
  g_string_free (deep, TRUE);
  g_string_free (attributes, TRUE);
  g_string_free (some_attributes, TRUE);
}

/* ------------------------------------------------------------------ */
/* the systematic part, from the OpenRPC document the daemon serves */

/*
 * One valid call per form of each method, against the state the setup
 * made.  Those marked replay are run by the setup (so they are known to be
 * valid) and change nothing when run again; the others would change the
 * state and are never run whole.  A row takes the first base that has the
 * parameter it is about, or the first base.
 */
typedef struct {
  const char *method;
  const char *params;
  gboolean replay;
} Base;

static const Base bases[] = {
  { "addr.commit", "{\"vm\":\"bi-q35\",\"alias\":\"net0\"}", TRUE },
  { "addr.commit", "{\"scope\":\"host\",\"alias\":\"bi-mac0\"}", TRUE },
  { "addr.lookup", "{\"vm\":\"bi-q35\",\"alias\":\"net0\"}", TRUE },
  { "addr.lookup", "{\"vm\":\"bi-q35\",\"type\":\"pci\",\"address\":\"@NET0@\"}", TRUE },
  { "addr.lookup", "{\"scope\":\"host\",\"alias\":\"bi-mac0\"}", TRUE },
  { "addr.release", "{\"vm\":\"bi-q35\",\"alias\":\"rel0\",\"phase\":\"begin\"}", TRUE },
  { "addr.release", "{\"scope\":\"host\",\"alias\":\"bi-cid0\",\"phase\":\"begin\"}", TRUE },
  { "addr.reserve", "{\"vm\":\"bi-q35\",\"type\":\"pci\",\"alias\":\"net0\"}", TRUE },
  { "addr.reserve", "{\"scope\":\"host\",\"type\":\"mac\",\"alias\":\"bi-mac0\"}", TRUE },
  { "addr.reserve", "{\"vm\":\"bi-q35\",\"requests\":[{\"type\":\"pci\",\"alias\":\"net0\"}]}", TRUE },
  { "device.attach", "{\"vm\":\"bi-pc\",\"xml\":\"@NIC@\"}", FALSE },
  { "device.detach", "{\"vm\":\"bi-pc\",\"alias\":\"bi-rel\",\"phase\":\"begin\"}", TRUE },
  { "device.detach", "{\"vm\":\"bi-pc\",\"xml\":\"@NIC@\",\"phase\":\"begin\"}", FALSE },
  { "domain.assign", "{\"vm\":\"bi-pc\",\"xml\":\"@DOMAIN@\"}", TRUE },
  { "domain.import", "{\"vm\":\"bi-imp\",\"xml\":\"@ASSIGNED@\",\"partial\":false}", TRUE },
  { "pool.stats", "{\"vm\":\"bi-q35\",\"type\":\"pci\"}", TRUE },
  { "pool.stats", "{\"scope\":\"host\",\"type\":\"mac\"}", TRUE },
  { "rpc.discover", "{}", TRUE },
  { "server.info", "{}", TRUE },
  { "templates.list", "{}", TRUE },
  { "types.list", "{}", TRUE },
  { "vm.create", "{\"vm\":\"bi-pc\",\"template\":\"pc\"}", TRUE },
  { "vm.delete", "{\"vm\":\"bi-q35\"}", FALSE },
  { "vm.get", "{\"vm\":\"bi-pc\"}", TRUE },
  { "host.get", "{}", TRUE },
  { "vm.list", "{}", TRUE },
  { "watch", "{\"vm\":\"bi-pc\"}", TRUE },
};

typedef struct {
  Catalogue *cat;
  JsonObject *schemas;   /* components.schemas */
  char *assigned_xml;    /* what bi-pc's assignment returned */
} Gen;

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = da_json_parse (text, strlen (text), NULL, NULL, &error);

  ck_assert_msg (node != NULL, "%s: %s", text, error ? error->message : "");
  return node;
}

/* a base's params with its placeholders filled in */
static JsonObject *
base_params (Gen *gen, const Base *base)
{
  g_autoptr (JsonNode) node = parse_json (base->params);
  JsonObject *params = json_node_get_object (node);

  if (json_object_has_member (params, "xml")) {
    const char *xml = json_object_get_string_member (params, "xml");

    if (strcmp (xml, "@DOMAIN@") == 0)
      json_object_set_string_member (params, "xml", gen->cat->domain_xml);
    else if (strcmp (xml, "@ASSIGNED@") == 0)
      json_object_set_string_member (params, "xml", gen->assigned_xml);
    else if (strcmp (xml, "@NIC@") == 0)
      json_object_set_string_member (params, "xml", gen->cat->nic_xml);
  }
  if (json_object_has_member (params, "address")
      && strcmp (json_object_get_string_member (params, "address"), "@NET0@") == 0)
    json_object_set_string_member (params, "address", gen->cat->net0_address);
  return json_object_ref (params);
}

/* the base a row about @path starts from */
static JsonObject *
pick_base (Gen *gen, const char *method, const char *path)
{
  g_autofree char *top = g_strndup (path, strcspn (path, ".["));
  const Base *first = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bases); i++) {
    g_autoptr (JsonObject) params = NULL;

    if (strcmp (bases[i].method, method) != 0)
      continue;
    if (first == NULL)
      first = &bases[i];
    params = base_params (gen, &bases[i]);
    if (*top != '\0' && json_object_has_member (params, top))
      return g_steal_pointer (&params);
  }
  ck_assert_msg (first != NULL, "no base call for %s: add one to bases[]", method);
  return base_params (gen, first);
}

/* "constraint.tags[0]" -> ("constraint", -1), ("tags", 0) */
typedef struct {
  char *name;
  gint index;
} Segment;

static GArray *
split_path (const char *path)
{
  GArray *segments = g_array_new (FALSE, FALSE, sizeof (Segment));
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);

  for (guint i = 0; parts[i] != NULL; i++) {
    char *bracket = strchr (parts[i], '[');
    Segment s = { g_strndup (parts[i], bracket != NULL ? (gsize) (bracket - parts[i]) : strlen (parts[i])),
                  bracket != NULL ? (gint) g_ascii_strtoll (bracket + 1, NULL, 10) : -1 };

    g_array_append_val (segments, s);
  }
  return segments;
}

static void
segments_free (GArray *segments)
{
  for (guint i = 0; i < segments->len; i++)
    g_free (g_array_index (segments, Segment, i).name);
  g_array_unref (segments);
}

/* put @value at @path, making the objects and arrays on the way; with
 * @value NULL, remove what is there */
static void
path_set (JsonObject *params, const char *path, JsonNode *value)
{
  GArray *segments = split_path (path);
  JsonObject *object = params;

  for (guint i = 0; i < segments->len; i++) {
    Segment *s = &g_array_index (segments, Segment, i);
    gboolean last = i + 1 == segments->len;
    JsonNode *member = json_object_get_member (object, s->name);

    if (s->index < 0) {
      if (last) {
        if (value != NULL)
          json_object_set_member (object, s->name, json_node_copy (value));
        else
          json_object_remove_member (object, s->name);
        break;
      }
      if (member == NULL || !JSON_NODE_HOLDS_OBJECT (member))
        json_object_set_object_member (object, s->name, json_object_new ());
      object = json_object_get_object_member (object, s->name);
    } else {
      JsonArray *array;
      JsonNode *item;

      if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member))
        json_object_set_array_member (object, s->name, json_array_new ());
      array = json_object_get_array_member (object, s->name);
      while (json_array_get_length (array) <= (guint) s->index)
        json_array_add_object_element (array, json_object_new ());
      if (last) {
        if (value != NULL) {
          /* replace the item, keeping the others */
          JsonArray *copy = json_array_new ();

          for (guint k = 0; k < json_array_get_length (array); k++)
            json_array_add_element (copy, k == (guint) s->index ? json_node_copy (value)
                                                                : json_node_copy (json_array_get_element (array, k)));
          json_object_set_array_member (object, s->name, copy);
        } else {
          json_array_remove_element (array, (guint) s->index);
        }
        break;
      }
      /* only the first item is ever addressed on the way */
      item = json_array_get_element (array, (guint) s->index);
      if (!JSON_NODE_HOLDS_OBJECT (item)) {
        json_array_remove_element (array, (guint) s->index);
        json_array_add_object_element (array, json_object_new ());
        item = json_array_get_element (array, json_array_get_length (array) - 1);
      }
      object = json_node_get_object (item);
    }
  }
  segments_free (segments);
}

#define VALUE_MARK "@@VALUE@@"

/* the params of @base with @value_json (raw JSON text, "\xNN" escapes
 * decoded, so it may hold any byte) at @path; @value_json NULL removes
 * what is at @path */
static GString *
params_with (JsonObject *base, const char *path, const char *value_json)
{
  g_autoptr (JsonNode) copy = NULL;
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonNode) mark = json_node_new (JSON_NODE_VALUE);
  g_autoptr (GByteArray) value = NULL;
  g_autofree char *text = NULL;
  g_auto (GStrv) parts = NULL;
  GString *out;

  /* work on a copy: the base is shared by many rows */
  json_node_set_object (node, base);
  copy = json_node_copy (node);
  json_node_set_string (mark, VALUE_MARK);
  path_set (json_node_get_object (copy), path, value_json != NULL ? mark : NULL);
  text = da_json_to_string (copy);
  if (value_json == NULL)
    return g_string_new (text);
  value = decode_bytes (value_json);
  parts = g_strsplit (text, "\"" VALUE_MARK "\"", -1);
  ck_assert_uint_eq (g_strv_length (parts), 2);
  out = g_string_new (parts[0]);
  g_string_append_len (out, (const char *) value->data, value->len);
  g_string_append (out, parts[1]);
  return out;
}

static JsonObject *
resolve (Gen *gen, JsonObject *schema)
{
  for (guint guard = 0; schema != NULL && json_object_has_member (schema, "$ref"); guard++) {
    const char *ref = json_object_get_string_member (schema, "$ref");

    ck_assert_msg (guard < 16 && g_str_has_prefix (ref, "#/components/schemas/"), "$ref %s", ref);
    schema = json_object_get_object_member (gen->schemas, ref + strlen ("#/components/schemas/"));
    ck_assert_msg (schema != NULL, "$ref %s names nothing", ref);
  }
  return schema;
}

/* the schema is (or is all of) the Name schema */
static gboolean
is_name_schema (JsonObject *schema)
{
  if (json_object_has_member (schema, "$ref"))
    return strcmp (json_object_get_string_member (schema, "$ref"), "#/components/schemas/Name") == 0;
  if (json_object_has_member (schema, "allOf")) {
    JsonArray *all = json_object_get_array_member (schema, "allOf");

    return json_array_get_length (all) == 1 && is_name_schema (json_array_get_object_element (all, 0));
  }
  return FALSE;
}

static const char *
kind_of (JsonNode *value)
{
  GType type;

  if (JSON_NODE_HOLDS_OBJECT (value))
    return "object";
  if (JSON_NODE_HOLDS_ARRAY (value))
    return "array";
  if (JSON_NODE_HOLDS_NULL (value))
    return "null";
  type = json_node_get_value_type (value);
  if (type == G_TYPE_BOOLEAN)
    return "boolean";
  if (type == G_TYPE_STRING)
    return "string";
  /* an integer is what is written as one: the daemon refuses 1.0 and 1e2
   * where it takes integers (devaddr-protocol(7)) */
  return type == G_TYPE_INT64 ? "integer" : "number";
}

/*
 * Does @schema allow @value?  The part of JSON Schema the document uses:
 * $ref, allOf, oneOf, anyOf, enum, type, minLength, maxLength, pattern,
 * minimum, maximum, minItems, maxItems, items, properties, required,
 * additionalProperties.
 */
static gboolean
schema_allows (Gen *gen, JsonObject *schema, JsonNode *value)
{
  const char *kind = kind_of (value);

  schema = resolve (gen, schema);
  if (json_object_has_member (schema, "allOf")) {
    JsonArray *all = json_object_get_array_member (schema, "allOf");

    for (guint i = 0; i < json_array_get_length (all); i++)
      if (!schema_allows (gen, json_array_get_object_element (all, i), value))
        return FALSE;
  }
  if (json_object_has_member (schema, "oneOf") || json_object_has_member (schema, "anyOf")) {
    JsonArray *any = json_object_get_array_member (schema, json_object_has_member (schema, "oneOf") ? "oneOf" : "anyOf");
    gboolean one = FALSE;

    for (guint i = 0; i < json_array_get_length (any) && !one; i++)
      one = schema_allows (gen, json_array_get_object_element (any, i), value);
    if (!one)
      return FALSE;
  }
  if (json_object_has_member (schema, "enum")) {
    JsonArray *choices = json_object_get_array_member (schema, "enum");
    gboolean found = FALSE;

    for (guint i = 0; i < json_array_get_length (choices) && !found; i++)
      found = da_json_equal (json_array_get_element (choices, i), value);
    if (!found)
      return FALSE;
  }
  if (json_object_has_member (schema, "type")) {
    const char *type = json_object_get_string_member (schema, "type");

    if (strcmp (type, kind) != 0 && !(strcmp (type, "number") == 0 && strcmp (kind, "integer") == 0))
      return FALSE;
  }
  if (strcmp (kind, "string") == 0) {
    const char *s = json_node_get_string (value);
    glong chars = g_utf8_strlen (s, -1);

    if (json_object_has_member (schema, "minLength") && chars < json_object_get_int_member (schema, "minLength"))
      return FALSE;
    if (json_object_has_member (schema, "maxLength") && chars > json_object_get_int_member (schema, "maxLength"))
      return FALSE;
    if (json_object_has_member (schema, "pattern")
        && !g_regex_match_simple (json_object_get_string_member (schema, "pattern"), s, 0, 0))
      return FALSE;
  }
  if (strcmp (kind, "integer") == 0) {
    gint64 v = json_node_get_int (value);

    if (json_object_has_member (schema, "minimum") && v < json_object_get_int_member (schema, "minimum"))
      return FALSE;
    if (json_object_has_member (schema, "maximum") && v > json_object_get_int_member (schema, "maximum"))
      return FALSE;
  }
  if (strcmp (kind, "array") == 0) {
    JsonArray *array = json_node_get_array (value);
    guint n = json_array_get_length (array);

    if (json_object_has_member (schema, "minItems") && n < json_object_get_int_member (schema, "minItems"))
      return FALSE;
    if (json_object_has_member (schema, "maxItems") && n > json_object_get_int_member (schema, "maxItems"))
      return FALSE;
    if (json_object_has_member (schema, "items"))
      for (guint i = 0; i < n; i++)
        if (!schema_allows (gen, json_object_get_object_member (schema, "items"), json_array_get_element (array, i)))
          return FALSE;
  }
  if (strcmp (kind, "object") == 0) {
    JsonObject *object = json_node_get_object (value);
    JsonObject *properties = json_object_has_member (schema, "properties")
                               ? json_object_get_object_member (schema, "properties") : NULL;
    JsonNode *additional = json_object_get_member (schema, "additionalProperties");
    g_autoptr (GList) members = json_object_get_members (object);

    if (json_object_has_member (schema, "required")) {
      JsonArray *required = json_object_get_array_member (schema, "required");

      for (guint i = 0; i < json_array_get_length (required); i++)
        if (!json_object_has_member (object, json_array_get_string_element (required, i)))
          return FALSE;
    }
    for (GList *l = members; l != NULL; l = l->next) {
      JsonNode *member = json_object_get_member (object, l->data);

      if (properties != NULL && json_object_has_member (properties, l->data)) {
        if (!schema_allows (gen, json_object_get_object_member (properties, l->data), member))
          return FALSE;
      } else if (additional != NULL && JSON_NODE_HOLDS_VALUE (additional) && !json_node_get_boolean (additional)) {
        return FALSE;
      } else if (additional != NULL && JSON_NODE_HOLDS_OBJECT (additional)
                 && !schema_allows (gen, json_node_get_object (additional), member)) {
        return FALSE;
      }
    }
  }
  return TRUE;
}

/* a value of each JSON type, and the edges of the integers */
static const struct {
  const char *tag;
  const char *json; /* NULL: a string of long_len letters */
  gsize long_len;
} candidates[] = {
  { "string", "\"x\"" },
  { "long-string", NULL, DA_LIMIT_NAME_MAX + 1 },
  { "empty-string", "\"\"" },
  { "zero", "0" },
  { "integer", "7" },
  { "fraction", "1.5" },
  { "negative", "-1" },
  { "exponent", "1e2" },
  { "2-63", "9223372036854775808" },
  { "2-64", "18446744073709551616" },
  { "true", "true" },
  { "null", "null" },
  { "empty-array", "[]" },
  { "array", "[\"x\"]" },
  { "empty-object", "{}" },
  { "object", "{\"x\":1}" },
};

/*
 * Names: what the name rules refuse (-32602, the message names the
 * parameter) and what is not even JSON the parser takes (-32700).  NULL
 * json: a name of that many bytes.
 */
static const struct {
  const char *tag;
  const char *json;
  gsize long_len;
  gint code;
  const char *mention; /* for -32700; -32602 rows mention the path */
} bad_names[] = {
  { "4-kib", NULL, 4096, -32602, NULL },
  { "one-byte-too-long", NULL, DA_LIMIT_NAME_MAX + 1, -32602, NULL },
  { "empty", "\"\"", 0, -32602, NULL },
  { "slash", "\"a/b\"", 0, -32602, NULL },
  { "only-slash", "\"/\"", 0, -32602, NULL },
  { "dot", "\".\"", 0, -32602, NULL },
  { "dot-dot", "\"..\"", 0, -32602, NULL },
  { "path", "\"../../etc/passwd\"", 0, -32602, NULL },
  { "backslash", "\"a\\\\b\"", 0, -32602, NULL },
  { "control-escaped", "\"a\\u0001b\"", 0, -32602, NULL },
  { "tab", "\"a\\tb\"", 0, -32602, NULL },
  { "newline", "\"a\\nb\"", 0, -32602, NULL },
  { "escape-sequence", "\"\\u001b[2J\"", 0, -32602, NULL },
  { "del", "\"a\\u007fb\"", 0, -32602, NULL },
  { "c1-control", "\"a\\u0085b\"", 0, -32602, NULL },
  { "nul-escaped", "\"a\\u0000b\"", 0, -32700, "\\u0000 is not allowed" },
  { "nul-raw", "\"a\\x00b\"", 0, -32700, "U+0000" },
  { "control-raw", "\"a\\x01b\"", 0, -32700, "U+0001" },
  { "invalid-utf8", "\"a\\xffb\"", 0, -32700, "invalid UTF-8" },
  { "lone-continuation", "\"a\\x80b\"", 0, -32700, "invalid UTF-8" },
  { "truncated-utf8", "\"a\\xc3\"", 0, -32700, "invalid UTF-8" },
  { "overlong-slash", "\"a\\xc0\\xafb\"", 0, -32700, "overlong" },
  { "overlong-dot-dot", "\"\\xc0\\xae\\xc0\\xae\"", 0, -32700, "overlong" },
  { "overlong-3-bytes", "\"\\xe0\\x80\\xaf\"", 0, -32700, "overlong" },
  { "overlong-4-bytes", "\"\\xf0\\x80\\x80\\xaf\"", 0, -32700, "overlong" },
  { "utf8-surrogate", "\"\\xed\\xa0\\x80\"", 0, -32700, "surrogate" },
  { "above-u10ffff", "\"\\xf4\\x90\\x80\\x80\"", 0, -32700, "U+10FFFF" },
  { "lone-high-surrogate", "\"\\ud800\"", 0, -32700, "lone UTF-16 high surrogate" },
  { "lone-low-surrogate", "\"\\udc00\"", 0, -32700, "lone UTF-16 low surrogate" },
  { "high-surrogate-then-letter", "\"\\ud800\\u0041\"", 0, -32700, "lone UTF-16 high surrogate" },
};

/* "params.constraint.tags[0]" -> "params.constraint.tags": messages about
 * an item may name the list */
static char *
mention_for (const char *path)
{
  g_autofree char *full = g_strdup_printf ("params.%s", path);
  gsize len = strlen (full);

  if (len > 0 && full[len - 1] == ']') {
    char *bracket = strrchr (full, '[');

    *bracket = '\0';
  }
  return g_steal_pointer (&full);
}

/* a row of one request; takes @params */
static void
add_params_row (Gen *gen, const char *category, const char *name, const char *method, GString *params, gint code,
                const char *mention)
{
  add_request_row (gen->cat, category, name, method, params->str, (gssize) params->len, code, mention);
  g_string_free (params, TRUE);
}

/* every parameter (and member of an object parameter), depth first */
typedef void (*ParamFunc) (Gen *gen, const char *method, const char *path, JsonObject *schema, gboolean required,
                           JsonObject *base);

static void
walk_param (Gen *gen, const char *method, const char *path, JsonObject *schema, gboolean required, guint depth,
            ParamFunc func)
{
  g_autoptr (JsonObject) base = pick_base (gen, method, path);
  JsonObject *resolved = resolve (gen, schema);

  func (gen, method, path, schema, required, base);
  if (depth >= 3)
    return;
  if (json_object_has_member (resolved, "properties")) {
    JsonObject *properties = json_object_get_object_member (resolved, "properties");
    JsonArray *req = json_object_has_member (resolved, "required") ? json_object_get_array_member (resolved, "required")
                                                                    : NULL;
    g_autoptr (GList) names = json_object_get_members (properties);

    for (GList *l = names; l != NULL; l = l->next) {
      g_autofree char *child = g_strdup_printf ("%s.%s", path, (const char *) l->data);
      gboolean child_required = FALSE;

      for (guint i = 0; req != NULL && i < json_array_get_length (req); i++)
        child_required |= strcmp (json_array_get_string_element (req, i), l->data) == 0;
      walk_param (gen, method, child, json_object_get_object_member (properties, l->data), child_required, depth + 1,
                  func);
    }
  }
  if (json_object_has_member (resolved, "items")) {
    g_autofree char *child = g_strdup_printf ("%s[0]", path);

    walk_param (gen, method, child, json_object_get_object_member (resolved, "items"), FALSE, depth + 1, func);
  }
}

static void
walk_methods (Gen *gen, JsonObject *document, ParamFunc func)
{
  JsonArray *methods = json_object_get_array_member (document, "methods");

  for (guint i = 0; i < json_array_get_length (methods); i++) {
    JsonObject *method = json_array_get_object_element (methods, i);
    JsonArray *params = json_object_get_array_member (method, "params");

    for (guint p = 0; p < json_array_get_length (params); p++) {
      JsonObject *param = json_array_get_object_element (params, p);

      walk_param (gen, json_object_get_string_member (method, "name"), json_object_get_string_member (param, "name"),
                  json_object_get_object_member (param, "schema"),
                  json_object_has_member (param, "required") && json_object_get_boolean_member (param, "required"), 0,
                  func);
    }
  }
}

static void
wrong_types (Gen *gen, const char *method, const char *path, JsonObject *schema, gboolean required, JsonObject *base)
{
  g_autofree char *mention = mention_for (path);
  JsonObject *resolved = resolve (gen, schema);

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++) {
    g_autofree char *letters = candidates[i].json == NULL ? g_strnfill (candidates[i].long_len, 'x') : NULL;
    g_autofree char *json = candidates[i].json == NULL ? g_strdup_printf ("\"%s\"", letters) : g_strdup (candidates[i].json);
    g_autoptr (JsonNode) value = parse_json (json);
    g_autofree char *name = NULL;

    if (schema_allows (gen, schema, value))
      continue;
    name = g_strdup_printf ("type-%s-%s-%s", method, path, candidates[i].tag);
    add_params_row (gen, "types", name, method, params_with (base, path, json), -32602, mention);
  }
  /* a required member left out */
  if (required) {
    g_autofree char *name = g_strdup_printf ("type-%s-%s-missing", method, path);

    add_params_row (gen, "types", name, method, params_with (base, path, NULL), -32602, mention);
  }
  /* a member no object of this kind has */
  if (json_object_has_member (resolved, "properties") && json_object_has_member (resolved, "additionalProperties")
      && JSON_NODE_HOLDS_VALUE (json_object_get_member (resolved, "additionalProperties"))
      && !json_object_get_boolean_member (resolved, "additionalProperties")) {
    g_autofree char *extra = g_strdup_printf ("%s.zz_unknown", path);
    g_autofree char *extra_mention = mention_for (extra);
    g_autofree char *name = g_strdup_printf ("type-%s-%s-unknown-member", method, path);

    add_params_row (gen, "types", name, method, params_with (base, extra, "1"), -32602, extra_mention);
  }
}

static void
bad_name_rows (Gen *gen, const char *method, const char *path, JsonObject *schema, gboolean required, JsonObject *base)
{
  g_autofree char *mention = mention_for (path);

  if (!is_name_schema (schema))
    return;
  for (guint i = 0; i < G_N_ELEMENTS (bad_names); i++) {
    g_autofree char *name = g_strdup_printf ("name-%s-%s-%s", method, path, bad_names[i].tag);
    g_autofree char *json = NULL;

    if (bad_names[i].json == NULL) {
      g_autofree char *letters = g_strnfill (bad_names[i].long_len, 'n');

      json = g_strdup_printf ("\"%s\"", letters);
    } else {
      json = g_strdup (bad_names[i].json);
    }
    add_params_row (gen, "names", name, method, params_with (base, path, json), bad_names[i].code,
                    bad_names[i].code == -32602 ? mention : bad_names[i].mention);
  }
}

static void
method_rows (Gen *gen, JsonObject *document)
{
  JsonArray *methods = json_object_get_array_member (document, "methods");

  for (guint i = 0; i < json_array_get_length (methods); i++) {
    const char *method = json_object_get_string_member (json_array_get_object_element (methods, i), "name");
    g_autoptr (JsonObject) base = pick_base (gen, method, "");
    g_autofree char *n_extra = g_strdup_printf ("type-%s-unknown-parameter", method);
    g_autofree char *n_empty = g_strdup_printf ("type-%s-params-empty-array", method);
    g_autofree char *n_positional = g_strdup_printf ("type-%s-params-positional", method);
    g_autofree char *positional = NULL;

    {
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      g_autofree char *object = NULL;

      json_node_set_object (node, base);
      object = da_json_to_string (node);
      positional = g_strdup_printf ("[%s]", object);
    }
    add_params_row (gen, "types", n_extra, method, params_with (base, "zz_unknown", "1"), -32602, "params.zz_unknown");
    add_params_row (gen, "types", n_empty, method, g_string_new ("[]"), -32602, "params: expected an object");
    add_params_row (gen, "types", n_positional, method, g_string_new (positional), -32602, "params: expected an object");
  }
}

/* ------------------------------------------------------------------ */
/* the state, and its digest */

typedef struct {
  GPtrArray *labels;   /* what each request of the digest is, for messages */
  GString *frame;      /* the digest as one batch */
  GPtrArray *before;   /* the answers before the first row */
} Digest;

static JsonNode *
call (Conn *conn, const char *method, const char *params)
{
  g_autoptr (GBytes) bytes = request_bytes (method, params, -1);
  g_autofree char *line = NULL;
  g_autoptr (JsonNode) reply = NULL;
  gboolean eof;
  JsonObject *obj;

  ck_assert (conn_send (conn, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)));
  line = conn_read_line (conn, REPLY_TIMEOUT_MS, &eof);
  ck_assert_msg (line != NULL, "%s %s: no answer", method, params != NULL ? params : "");
  reply = parse_json (line);
  obj = json_node_get_object (reply);
  ck_assert_msg (json_object_has_member (obj, "result"), "%s %s: %s", method, params != NULL ? params : "", line);
  return json_node_copy (json_object_get_member (obj, "result"));
}

static JsonObject *
call_object (Conn *conn, const char *method, const char *params)
{
  g_autoptr (JsonNode) result = call (conn, method, params);

  ck_assert (JSON_NODE_HOLDS_OBJECT (result));
  return json_object_ref (json_node_get_object (result));
}

/* what server.info says that only a change of state changes */
static char *
server_counters (JsonNode *result)
{
  JsonObject *info = json_node_get_object (result);
  JsonObject *store = json_object_get_object_member (info, "store");
  const char *const members[] = { "durable_seq", "records", "journal_bytes", "rollbacks", "failures", "pending" };
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "vms=%" G_GINT64_FORMAT " reservations=%" G_GINT64_FORMAT,
                          json_object_get_int_member (info, "vms"), json_object_get_int_member (info, "reservations"));
  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    g_string_append_printf (out, " %s=%" G_GINT64_FORMAT, members[i], json_object_get_int_member (store, members[i]));
  g_string_append_printf (out, " failed=%d", json_object_get_boolean_member (store, "failed"));
  return g_string_free (out, FALSE);
}

static void
digest_add (Digest *digest, const char *label, const char *method, const char *params)
{
  g_string_append_printf (digest->frame, "%s{\"jsonrpc\":\"2.0\",\"id\":\"d%u\",\"method\":\"%s\"%s%s}",
                          digest->labels->len > 0 ? "," : "", digest->labels->len, method,
                          params != NULL ? ",\"params\":" : "", params != NULL ? params : "");
  g_ptr_array_add (digest->labels, g_strdup (label));
}

static const char *const host_aliases[] = { "bi-mac0", "bi-cid0", "bi-vnc0", NULL };
static const char *const host_types[] = { "mac", "vsock-cid", "tcp-port", NULL };

static Digest *
digest_plan (Conn *conn)
{
  Digest *digest = g_new0 (Digest, 1);
  g_autoptr (JsonNode) list = call (conn, "vm.list", NULL);
  JsonArray *vms = json_node_get_array (list);

  digest->labels = g_ptr_array_new_with_free_func (g_free);
  digest->frame = g_string_new ("[");
  digest_add (digest, "vm.list", "vm.list", NULL);
  digest_add (digest, "server.info", "server.info", NULL);
  digest_add (digest, "host.get", "host.get", NULL);
  for (guint i = 0; i < json_array_get_length (vms); i++) {
    const char *vm = json_object_get_string_member (json_array_get_object_element (vms, i), "vm");
    g_autofree char *vm_params = g_strdup_printf ("{\"vm\":\"%s\"}", vm);
    g_autofree char *label = g_strdup_printf ("vm.get %s", vm);
    g_autoptr (JsonObject) got = call_object (conn, "vm.get", vm_params);
    JsonArray *reservations = json_object_get_array_member (got, "reservations");
    g_autoptr (GHashTable) types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

    digest_add (digest, label, "vm.get", vm_params);
    for (guint r = 0; r < json_array_get_length (reservations); r++) {
      JsonObject *res = json_array_get_object_element (reservations, r);
      const char *alias = json_object_get_string_member (res, "alias");
      g_autofree char *l = g_strdup_printf ("addr.lookup %s %s", vm, alias);
      g_autofree char *p = g_strdup_printf ("{\"vm\":\"%s\",\"alias\":\"%s\"}", vm, alias);

      digest_add (digest, l, "addr.lookup", p);
      g_hash_table_add (types, g_strdup (json_object_get_string_member (res, "type")));
    }
    {
      g_autoptr (GList) names = g_hash_table_get_keys (types);

      names = g_list_sort (names, (GCompareFunc) g_strcmp0);
      for (GList *l = names; l != NULL; l = l->next) {
        g_autofree char *lab = g_strdup_printf ("pool.stats %s %s", vm, (const char *) l->data);
        g_autofree char *p = g_strdup_printf ("{\"vm\":\"%s\",\"type\":\"%s\"}", vm, (const char *) l->data);

        digest_add (digest, lab, "pool.stats", p);
      }
    }
  }
  for (guint i = 0; host_aliases[i] != NULL; i++) {
    g_autofree char *l = g_strdup_printf ("addr.lookup host %s", host_aliases[i]);
    g_autofree char *p = g_strdup_printf ("{\"scope\":\"host\",\"alias\":\"%s\"}", host_aliases[i]);

    digest_add (digest, l, "addr.lookup", p);
  }
  for (guint i = 0; host_types[i] != NULL; i++) {
    g_autofree char *l = g_strdup_printf ("pool.stats host %s", host_types[i]);
    g_autofree char *p = g_strdup_printf ("{\"scope\":\"host\",\"type\":\"%s\"}", host_types[i]);

    digest_add (digest, l, "pool.stats", p);
  }
  g_string_append (digest->frame, "]\n");
  return digest;
}

static void
digest_free (Digest *digest)
{
  g_ptr_array_unref (digest->labels);
  g_string_free (digest->frame, TRUE);
  g_clear_pointer (&digest->before, g_ptr_array_unref);
  g_free (digest);
}

/* the digest's answers as text, one per request; NULL with *why set if
 * the line is not the digest's answer */
static GPtrArray *
digest_read (Digest *digest, const char *line, char **why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = da_json_parse (line, strlen (line), NULL, NULL, &error);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  JsonArray *answers;

  if (reply == NULL || !JSON_NODE_HOLDS_ARRAY (reply)
      || json_array_get_length (json_node_get_array (reply)) != digest->labels->len) {
    *why = g_strdup ("it is not the answer to the digest batch");
    return NULL;
  }
  answers = json_node_get_array (reply);
  for (guint i = 0; i < digest->labels->len; i++) {
    JsonObject *answer = json_array_get_object_element (answers, i);
    g_autofree char *id = g_strdup_printf ("d%u", i);
    JsonNode *result;

    if (answer == NULL || !json_object_has_member (answer, "id")
        || json_node_get_value_type (json_object_get_member (answer, "id")) != G_TYPE_STRING
        || strcmp (json_object_get_string_member (answer, "id"), id) != 0) {
      *why = g_strdup_printf ("answer %u is not the digest's %s", i, id);
      return NULL;
    }
    result = json_object_get_member (answer, "result");
    if (result == NULL)
      g_ptr_array_add (out, da_json_to_string (json_object_get_member (answer, "error")));
    else if (strcmp (digest->labels->pdata[i], "server.info") == 0)
      g_ptr_array_add (out, server_counters (result));
    else
      g_ptr_array_add (out, da_json_to_string (result));
  }
  return g_steal_pointer (&out);
}

/* ------------------------------------------------------------------ */
/* the other client */

typedef struct {
  GMutex lock;
  GCond cond;
  char *socket_path;
  char *expected_list; /* vm.list as the setup left it */
  const char *secret;
  const char *row;     /* the row running now; the rows outlive the thread */
  gboolean check_list; /* compare vm.list with expected_list */
  gboolean stop;
  guint answered;
  gint64 worst_us;
  char *worst_row;
  char *failure;
} Other;

static void
other_fail (Other *other, char *message)
{
  g_mutex_lock (&other->lock);
  if (other->failure == NULL)
    other->failure = message;
  else
    g_free (message);
  g_cond_broadcast (&other->cond);
  g_mutex_unlock (&other->lock);
}

static const char *
other_row (Other *other)
{
  const char *row;

  g_mutex_lock (&other->lock);
  row = other->row;
  g_mutex_unlock (&other->lock);
  return row;
}

static gpointer
other_main (gpointer data)
{
  Other *other = data;
  g_autoptr (Conn) conn = conn_open (other->socket_path);
  static const char *const queries[][2] = {
    { "vm.list", NULL },
    { "server.info", NULL },
    { "vm.get", "{\"vm\":\"bi-pc\"}" },
    { "pool.stats", "{\"scope\":\"host\",\"type\":\"mac\"}" },
  };

  if (conn == NULL) {
    other_fail (other, g_strdup_printf ("the other client cannot connect: %s", g_strerror (errno)));
    return NULL;
  }
  for (guint n = 0;; n++) {
    const char *method = queries[n % G_N_ELEMENTS (queries)][0];
    const char *params = queries[n % G_N_ELEMENTS (queries)][1];
    g_autoptr (GBytes) bytes = request_bytes (method, params, -1);
    g_autofree char *line = NULL;
    g_autoptr (JsonNode) reply = NULL;
    const char *row_before, *row_after;
    gint64 start, took;
    gboolean eof;

    g_mutex_lock (&other->lock);
    if (other->stop || other->failure != NULL) {
      g_mutex_unlock (&other->lock);
      break;
    }
    row_before = other->row;
    g_mutex_unlock (&other->lock);

    start = g_get_monotonic_time ();
    if (!conn_send (conn, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes))) {
      other_fail (other, g_strdup_printf ("the other client could not send while row %s ran", row_before));
      break;
    }
    line = conn_read_line (conn, REPLY_TIMEOUT_MS, &eof);
    took = g_get_monotonic_time () - start;
    row_after = other_row (other);
    if (line == NULL) {
      other_fail (other, g_strdup_printf ("the other client got no answer to %s while row %s ran (%s)", method,
                                          row_before, eof ? "closed" : "timeout"));
      break;
    }
    if (strstr (line, other->secret) != NULL) {
      other_fail (other, g_strdup_printf ("the other client got the secret while row %s ran", row_after));
      break;
    }
    reply = da_json_parse (line, strlen (line), NULL, NULL, NULL);
    if (reply == NULL || !JSON_NODE_HOLDS_OBJECT (reply) || !json_object_has_member (json_node_get_object (reply), "result")) {
      other_fail (other, g_strdup_printf ("the other client's %s failed while row %s ran: %s", method, row_before, line));
      break;
    }
    if (other->check_list && strcmp (method, "vm.list") == 0) {
      g_autofree char *list = da_json_to_string (json_object_get_member (json_node_get_object (reply), "result"));

      if (strcmp (list, other->expected_list) != 0) {
        other_fail (other, g_strdup_printf ("the other client saw another vm.list while row %s ran: %s", row_before, list));
        break;
      }
    }
    g_mutex_lock (&other->lock);
    if (took > other->worst_us) {
      other->worst_us = took;
      g_free (other->worst_row);
      other->worst_row = g_strcmp0 (row_before, row_after) == 0 ? g_strdup (row_before)
                                                                : g_strdup_printf ("%s .. %s", row_before, row_after);
    }
    other->answered++;
    g_cond_broadcast (&other->cond);
    g_mutex_unlock (&other->lock);
  }
  return NULL;
}

static void
other_set_row (Other *other, const char *row)
{
  g_mutex_lock (&other->lock);
  other->row = row;
  g_mutex_unlock (&other->lock);
}

/* wait until the other client got @n more answers */
static void
other_wait (Other *other, guint n, const char *row)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) REPLY_TIMEOUT_MS * 1000;
  gboolean ok;

  g_mutex_lock (&other->lock);
  n += other->answered;
  while (other->answered < n && other->failure == NULL)
    if (!g_cond_wait_until (&other->cond, &other->lock, deadline))
      break;
  ok = other->answered >= n;
  g_mutex_unlock (&other->lock);
  ck_assert_msg (ok, "row %s: the other client got no answers while it streamed in", row);
}

/* ------------------------------------------------------------------ */
/* running the rows */

typedef struct {
  DaTestDaemon *devaddrd;
  Catalogue *cat;
  Digest *digest;
  Other *other;
  Conn *conn;
  GHashTable *counts;  /* category -> guint rows */
  guint kept, closed;
  gboolean keep_going; /* DA_BAD_INPUT_KEEP_GOING: report every failing row */
  guint failed;
} Run;

static void row_fail (Run *run, Row *row, const char *format, ...) G_GNUC_PRINTF (3, 4);

/* fail the test, or with keep_going report the row and go on */
static void
row_fail (Run *run, Row *row, const char *format, ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  if (!run->keep_going)
    ck_abort_msg ("row %s (%s): %s", row->name, row->origin, what);
  g_printerr ("FAILED row %s (%s): %s\n", row->name, row->origin, what);
  run->failed++;
}

#define ROW_CHECK(cond, ...) \
  G_STMT_START { \
    if (!(cond)) { \
      row_fail (run, row, __VA_ARGS__); \
      return FALSE; \
    } \
  } G_STMT_END

static char *
excerpt (const char *text)
{
  return strlen (text) > 400 ? g_strdup_printf ("%.400s...", text) : g_strdup (text);
}

static gboolean
check_error (Run *run, Row *row, JsonNode *answer, const char *line)
{
  g_autofree char *shown = excerpt (line);
  g_autoptr (JsonNode) id = parse_json (row->id);
  JsonObject *obj, *error, *data;
  const char *message, *reason;

  ROW_CHECK (answer != NULL && JSON_NODE_HOLDS_OBJECT (answer), "not an answer: %s", shown);
  obj = json_node_get_object (answer);
  ROW_CHECK (json_object_has_member (obj, "error") && !json_object_has_member (obj, "result"),
             "expected error %d, got %s", row->code, shown);
  error = json_object_get_object_member (obj, "error");
  message = json_object_get_string_member (error, "message");
  ROW_CHECK (json_object_get_int_member (error, "code") == row->code, "expected error %d, got %s", row->code, shown);
  ROW_CHECK (json_object_has_member (obj, "id") && da_json_equal (json_object_get_member (obj, "id"), id),
             "expected id %s, got %s", row->id, shown);
  data = json_object_has_member (error, "data") ? json_object_get_object_member (error, "data") : NULL;
  reason = data != NULL && json_object_has_member (data, "reason") ? json_object_get_string_member (data, "reason") : NULL;
  ROW_CHECK (g_strcmp0 (reason, row->reason) == 0, "expected reason %s, got %s",
             row->reason != NULL ? row->reason : "(none)", shown);
  ROW_CHECK (row->mention == NULL || strstr (message, row->mention) != NULL, "the message does not mention \"%s\": %s",
             row->mention, shown);
  return TRUE;
}

static gboolean
check_answer (Run *run, Row *row, const char *line)
{
  g_autoptr (JsonNode) answer = da_json_parse (line, strlen (line), NULL, NULL, NULL);
  g_autofree char *shown = excerpt (line);
  JsonArray *answers;

  if (row->expect == EXPECT_ERROR)
    return check_error (run, row, answer, line);
  ROW_CHECK (answer != NULL && JSON_NODE_HOLDS_ARRAY (answer), "expected an array, got %s", shown);
  answers = json_node_get_array (answer);
  ROW_CHECK (json_array_get_length (answers) == row->batch->len, "expected %u answers, got %s", row->batch->len, shown);
  for (guint i = 0; i < row->batch->len; i++) {
    JsonNode *one = json_array_get_element (answers, i);
    JsonObject *obj = JSON_NODE_HOLDS_OBJECT (one) ? json_node_get_object (one) : NULL;
    gint code = g_array_index (row->batch, gint, i);

    /* batch entries carry their own ids; the codes are what is checked */
    if (code == 0) {
      ROW_CHECK (obj != NULL && json_object_has_member (obj, "result"), "answer %u is not a result: %s", i, shown);
    } else {
      JsonObject *error = obj != NULL && json_object_has_member (obj, "error")
                            ? json_object_get_object_member (obj, "error") : NULL;

      ROW_CHECK (error != NULL && json_object_get_int_member (error, "code") == code, "answer %u is not error %d: %s",
                 i, code, shown);
    }
  }
  return TRUE;
}

static char *
read_line_checked (Run *run, Row *row, gboolean *eof)
{
  char *line = conn_read_line (run->conn, REPLY_TIMEOUT_MS, eof);

  if (line != NULL && strstr (line, run->cat->secret) != NULL) {
    row_fail (run, row, "an answer holds the secret file's content");
    g_clear_pointer (&line, g_free);
  }
  return line;
}

static gboolean
run_row_checks (Run *run, Row *row)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (row->bytes, &len);
  g_autofree char *line = NULL;
  g_autofree char *why = NULL;
  g_autoptr (GPtrArray) after = NULL;
  gboolean eof = FALSE;
  int fifo;

  if (row->stream_at > 0 && row->stream_at < len) {
    ROW_CHECK (conn_send (run->conn, data, row->stream_at), "send failed");
    other_wait (run->other, ANSWERS_DURING_STREAM, row->name);
    ROW_CHECK (conn_send (run->conn, data + row->stream_at, len - row->stream_at), "send failed");
  } else {
    ROW_CHECK (conn_send (run->conn, data, len), "send failed");
  }
  if (row->end_eof)
    ROW_CHECK (shutdown (run->conn->fd, SHUT_WR) == 0, "shutdown: %s", g_strerror (errno));

  if (row->expect != EXPECT_NONE) {
    line = read_line_checked (run, row, &eof);
    ROW_CHECK (line != NULL, "no answer (%s)", eof ? "the daemon closed" : "timeout");
    if (!check_answer (run, row, line))
      return FALSE;
    g_clear_pointer (&line, g_free);
  }

  /* ENXIO: nobody has the named pipe open for reading */
  fifo = open (run->cat->fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fifo >= 0)
    close (fifo);
  ROW_CHECK (fifo < 0 && errno == ENXIO, "the daemon opened %s", run->cat->fifo);

  if (row->closes != NULL) {
    line = read_line_checked (run, row, &eof);
    ROW_CHECK (line == NULL && eof, "the connection should have closed (%s), got %s", row->closes,
               line != NULL ? line : "a timeout");
    conn_free (run->conn);
    run->conn = conn_open (run->devaddrd->socket_path);
    ROW_CHECK (run->conn != NULL, "cannot connect again");
    run->closed++;
  } else {
    run->kept++;
  }

  /* the same connection answers the digest next, and the state is as it was */
  ROW_CHECK (conn_send (run->conn, run->digest->frame->str, run->digest->frame->len), "the connection is gone");
  line = read_line_checked (run, row, &eof);
  ROW_CHECK (line != NULL, "the connection is stuck: no answer to the next request (%s)", eof ? "closed" : "timeout");
  after = digest_read (run->digest, line, &why);
  if (after == NULL) {
    g_autofree char *shown = excerpt (line);

    ROW_CHECK (FALSE, "%s: %s", why, shown);
  }
  /* an answer the row must not get may come after the digest's (frames
   * read at once may be answered in any order): one more request, sent
   * now, is answered after everything before it */
  g_clear_pointer (&line, g_free);
  ROW_CHECK (conn_send (run->conn, SYNC_REQUEST, strlen (SYNC_REQUEST)), "the connection is gone");
  while ((line = read_line_checked (run, row, &eof)) != NULL && !g_str_has_prefix (line, SYNC_ANSWER)) {
    g_autofree char *shown = excerpt (line);

    ROW_CHECK (FALSE, "an answer nobody asked for: %s", shown);
  }
  ROW_CHECK (line != NULL, "no answer to the next request (%s)", eof ? "closed" : "timeout");
  for (guint i = 0; i < after->len; i++) {
    if (strcmp (after->pdata[i], run->digest->before->pdata[i]) == 0)
      continue;
    row_fail (run, row, "it changed the state: %s was %s, is %s", (const char *) run->digest->labels->pdata[i],
              (const char *) run->digest->before->pdata[i], (const char *) after->pdata[i]);
    /* going on: compare the next rows with what is now */
    g_ptr_array_unref (run->digest->before);
    run->digest->before = g_steal_pointer (&after);
    return FALSE;
  }
  return TRUE;
}

static void
run_row (Run *run, Row *row)
{
  guint *count;

  other_set_row (run->other, row->name);
  if (!run_row_checks (run, row)) {
    /* keep_going: whatever the row left behind goes with its connection */
    conn_free (run->conn);
    run->conn = conn_open (run->devaddrd->socket_path);
    ck_assert (run->conn != NULL);
  }
  other_set_row (run->other, "(between rows)");
  count = g_hash_table_lookup (run->counts, row->category);
  if (count == NULL) {
    count = g_new0 (guint, 1);
    g_hash_table_insert (run->counts, g_strdup (row->category), count);
  }
  (*count)++;
}

/* ------------------------------------------------------------------ */
/* the state the rows run against */

static char *
read_domain (void)
{
  g_autofree char *path = srcdir_file ("tests/e2e/domains/pc-kitchen-sink.xml");
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) parts = NULL;

  ck_assert_msg (g_file_get_contents (path, &text, NULL, &error), "%s", error ? error->message : "");
  /* as the e2e harness hands it over: images under a directory */
  parts = g_strsplit (text, "@IMGDIR@", -1);
  return g_strjoinv ("/var/tmp", parts);
}

static void
set_up_state (Conn *conn, Catalogue *cat, char **assigned)
{
  g_autofree char *assign = xml_params ("bi-pc", cat->domain_xml);
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (JsonObject) net0 = NULL;
  g_autofree char *import = NULL;
  const char *const calls[][2] = {
    { "vm.create", "{\"vm\":\"bi-q35\",\"template\":\"q35\"}" },
    { "addr.reserve", "{\"vm\":\"bi-q35\",\"type\":\"pci\",\"alias\":\"hot0\",\"hold_s\":86400,\"constraint\":{\"tags\":[\"pcie\"]}}" },
    { "addr.reserve", "{\"vm\":\"bi-q35\",\"requests\":[{\"type\":\"virtio-serial\",\"alias\":\"vser0\"},"
                      "{\"type\":\"mmio\",\"alias\":\"bar0\",\"constraint\":{\"count\":\"0x1000\",\"align\":4096}},"
                      "{\"type\":\"id\",\"alias\":\"id0\"},{\"type\":\"drive-sata\",\"alias\":\"sata0-0-1\",\"address\":\"0:0:0:1\"},"
                      "{\"type\":\"usb\",\"alias\":\"usb0\"}]}" },
    { "addr.reserve", "{\"vm\":\"bi-q35\",\"type\":\"pci\",\"alias\":\"gpu0\",\"address\":\"0000:00:05.0\"}" },
    { "addr.reserve", "{\"vm\":\"bi-q35\",\"type\":\"pci\",\"alias\":\"rel0\"}" },
    { "addr.release", "{\"vm\":\"bi-q35\",\"alias\":\"rel0\",\"phase\":\"begin\"}" },
    { "addr.reserve", "{\"vm\":\"bi-pc\",\"type\":\"pci\",\"alias\":\"bi-rel\"}" },
    { "addr.release", "{\"vm\":\"bi-pc\",\"alias\":\"bi-rel\",\"phase\":\"begin\"}" },
    { "addr.reserve", "{\"scope\":\"host\",\"type\":\"mac\",\"alias\":\"bi-mac0\"}" },
    { "addr.reserve", "{\"scope\":\"host\",\"type\":\"vsock-cid\",\"alias\":\"bi-cid0\"}" },
    { "addr.release", "{\"scope\":\"host\",\"alias\":\"bi-cid0\",\"phase\":\"begin\"}" },
    { "addr.reserve", "{\"scope\":\"host\",\"type\":\"tcp-port\",\"alias\":\"bi-vnc0\"}" },
  };

  result = call_object (conn, "vm.create", "{\"vm\":\"bi-pc\",\"template\":\"pc\"}");
  g_clear_pointer (&result, json_object_unref);
  result = call_object (conn, "domain.assign", assign);
  *assigned = g_strdup (json_object_get_string_member (result, "xml"));
  g_clear_pointer (&result, json_object_unref);
  result = call_object (conn, "vm.create", "{\"vm\":\"bi-imp\"}");
  import = xml_params ("bi-imp", *assigned);
  g_clear_pointer (&result, json_object_unref);
  result = call_object (conn, "domain.import", import);
  ck_assert_uint_gt (json_array_get_length (json_object_get_array_member (result, "reservations")), 0);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++) {
    g_autoptr (JsonNode) r = call (conn, calls[i][0], calls[i][1]);
  }
  net0 = call_object (conn, "addr.reserve", "{\"vm\":\"bi-q35\",\"type\":\"pci\",\"alias\":\"net0\"}");
  cat->net0_address = g_strdup (json_object_get_string_member (net0, "address"));
}

/* every replay base once: each must be a valid call */
static void
run_bases (Conn *conn, Gen *gen)
{
  for (guint i = 0; i < G_N_ELEMENTS (bases); i++) {
    g_autoptr (JsonObject) params = NULL;
    g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
    g_autofree char *text = NULL;
    g_autoptr (JsonNode) result = NULL;

    if (!bases[i].replay || strcmp (bases[i].method, "watch") == 0)
      continue;
    params = base_params (gen, &bases[i]);
    json_node_set_object (node, params);
    text = da_json_to_string (node);
    result = call (conn, bases[i].method, text);
  }
}

START_TEST (test_catalogue)
{
  g_autoptr (DaTestDaemon) devaddrd = da_test_daemon_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (Conn) setup = NULL;
  g_autoptr (JsonNode) document = NULL;
  g_autoptr (JsonObject) info = NULL;
  g_autoptr (GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *line = NULL;
  g_autofree char *why = NULL;
  g_autofree char *log = NULL;
  Catalogue cat = { 0 };
  Gen gen = { 0 };
  Other other = { 0 };
  Run run = { 0 };
  /* DA_BAD_INPUT_ROWS: a glob of the row names to run, for working on some */
  const char *only = g_getenv ("DA_BAD_INPUT_ROWS");
  guint skipped = 0;
  GThread *thread;
  gint64 started;
  gboolean eof;

  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  setup = conn_open (devaddrd->socket_path);
  ck_assert (setup != NULL);

  cat.rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  cat.names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  cat.fifo = g_build_filename (devaddrd->dir, "pipe", NULL);
  ck_assert (mkfifo (cat.fifo, 0600) == 0);
  cat.secret_path = g_build_filename (devaddrd->dir, "secret", NULL);
  cat.secret = g_uuid_string_random ();
  ck_assert (g_file_set_contents (cat.secret_path, cat.secret, -1, NULL));
  cat.domain_xml = read_domain ();
  cat.nic_xml = g_strdup ("<interface type='network'><source network='default'/><model type='virtio'/></interface>");

  /* the state, the limits and the description the daemon serves */
  set_up_state (setup, &cat, &gen.assigned_xml);
  gen.cat = &cat;
  run_bases (setup, &gen);
  {
    /* a watch on a connection of its own, closed at once */
    g_autoptr (Conn) watcher = conn_open (devaddrd->socket_path);
    g_autoptr (JsonNode) result = call (watcher, "watch", "{\"vm\":\"bi-pc\"}");
  }
  info = call_object (setup, "server.info", NULL);
  cat.max_frame = json_object_get_int_member (json_object_get_object_member (info, "limits"), "frame_bytes");
  cat.max_xml = json_object_get_int_member (json_object_get_object_member (info, "limits"), "xml_bytes");
  cat.max_depth = json_object_get_int_member (json_object_get_object_member (info, "limits"), "depth");
  document = call (setup, "rpc.discover", NULL);
  gen.schemas = json_object_get_object_member (json_object_get_object_member (json_node_get_object (document),
                                                                              "components"),
                                               "schemas");

  /* the catalogue */
  load_corpus (&cat);
  generate_frames (&cat);
  generate_xml (&cat);
  walk_methods (&gen, json_node_get_object (document), wrong_types);
  method_rows (&gen, json_node_get_object (document));
  walk_methods (&gen, json_node_get_object (document), bad_name_rows);

  /* the digest before the first row */
  run.devaddrd = devaddrd;
  run.cat = &cat;
  run.digest = digest_plan (setup);
  run.counts = counts;
  run.keep_going = g_getenv ("DA_BAD_INPUT_KEEP_GOING") != NULL;
  ck_assert (conn_send (setup, run.digest->frame->str, run.digest->frame->len));
  line = conn_read_line (setup, REPLY_TIMEOUT_MS, &eof);
  ck_assert (line != NULL);
  run.digest->before = digest_read (run.digest, line, &why);
  ck_assert_msg (run.digest->before != NULL, "%s", why);

  /* the other client, from now to the end */
  g_mutex_init (&other.lock);
  g_cond_init (&other.cond);
  other.socket_path = g_strdup (devaddrd->socket_path);
  other.expected_list = g_strdup (run.digest->before->pdata[0]);
  other.secret = cat.secret;
  other.row = "(before the first row)";
  /* going on after a row that changed the state, only the digest tells */
  other.check_list = !run.keep_going;
  run.other = &other;
  thread = g_thread_new ("other-client", other_main, &other);
  other_wait (&other, 1, "(before the first row)");

  started = g_get_monotonic_time ();
  run.conn = conn_open (devaddrd->socket_path);
  ck_assert (run.conn != NULL);
  for (guint i = 0; i < cat.rows->len; i++) {
    Row *row = g_ptr_array_index (cat.rows, i);

    if (only != NULL && !g_pattern_match_simple (only, row->name)) {
      skipped++;
      continue;
    }
    run_row (&run, row);
    g_mutex_lock (&other.lock);
    if (other.failure != NULL) {
      g_autofree char *failure = g_strdup (other.failure);

      g_mutex_unlock (&other.lock);
      ck_abort_msg ("%s", failure);
    }
    g_mutex_unlock (&other.lock);
  }

  ck_assert_msg (run.failed == 0, "%u rows failed (see above)", run.failed);
  g_mutex_lock (&other.lock);
  other.stop = TRUE;
  g_mutex_unlock (&other.lock);
  g_thread_join (thread);
  ck_assert_msg (other.failure == NULL, "%s", other.failure);
  ck_assert_msg (other.worst_us < OTHER_CLIENT_MAX_LATENCY_US,
                 "the other client waited %" G_GINT64_FORMAT " ms for an answer while row %s ran",
                 other.worst_us / 1000, other.worst_row);

  /* the daemon is still there and wrote nothing of it to its log */
  log = da_test_daemon_log (devaddrd);
  ck_assert_msg (strstr (log, cat.secret) == NULL, "the daemon's log holds the secret file's content");
  ck_assert_int_eq (da_test_daemon_stop (devaddrd), 0);

  {
    g_autoptr (GList) categories = g_hash_table_get_keys (counts);
    GString *summary = g_string_new (NULL);

    categories = g_list_sort (categories, (GCompareFunc) g_strcmp0);
    for (GList *l = categories; l != NULL; l = l->next)
      g_string_append_printf (summary, " %s %u", (const char *) l->data, *(guint *) g_hash_table_lookup (counts, l->data));
    g_print ("bad-input: %u rows in %.1f s (%u kept the connection, %u closed it; %u not run):%s\n",
             cat.rows->len - skipped, (g_get_monotonic_time () - started) / 1e6, run.kept, run.closed, skipped,
             summary->str);
    g_print ("bad-input: the other client got %u answers, the slowest in %.1f ms (row %s)\n", other.answered,
             other.worst_us / 1000.0, other.worst_row != NULL ? other.worst_row : "-");
    g_string_free (summary, TRUE);
  }

  conn_free (run.conn);
  digest_free (run.digest);
  g_ptr_array_unref (cat.rows);
  g_hash_table_unref (cat.names);
  g_free (cat.fifo);
  g_free (cat.secret_path);
  g_free (cat.secret);
  g_free (cat.domain_xml);
  g_free (cat.nic_xml);
  g_free (cat.net0_address);
  g_free (gen.assigned_xml);
  g_free (other.socket_path);
  g_free (other.expected_list);
  g_free (other.worst_row);
  g_free (other.failure);
  g_mutex_clear (&other.lock);
  g_cond_clear (&other.cond);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("bad-input");
  TCase *tc = tcase_create ("catalogue");

  /* well above the 10 s the catalogue takes, 40 s under ASan */
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_catalogue);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
