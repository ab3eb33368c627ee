/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-methods: every method handler of daemon/methods/ on hostile
 * parameters, against an in-memory engine seeded with two VMs (an i440fx
 * and a q35 domain assigned, a host MAC, a held and a releasing
 * reservation).
 *
 * The input is a few calls, one per line:
 *   METHOD PARAMS     PARAMS a JSON object (or nothing: no params)
 *   @expire SECONDS   time goes on that long, then the daemon's hold expiry
 * Each call runs as da-daemon.c runs it (params reader, handler, error
 * mapping, a transaction for a mutation, rolled back when it fails) on a
 * detached daemon, which has no store: nothing touches the disk.  Checked
 * for every call:
 *   - a handler returns a result or sets an error, never both or neither,
 *     and the error is one the protocol knows (not "internal");
 *   - the reply the connection would send serialises to JSON that parses;
 *   - a mutation's changes survive the journal: encoded as a record and
 *     decoded they are the same changes, and replayed on a second engine
 *     (what recovery does after a restart) they give the same state.
 * After the last call every transaction is rolled back, newest first (what
 * the daemon does when the store fails), and the engine must be exactly the
 * seeded one again: that is also what makes the next input independent.
 */
#include "config.h"

#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "daemon/da-daemon.h"
#include "daemon/da-record.h"
#include "fuzz-util.h"
#include "protocol/da-json.h"
#include "protocol/da-jsonrpc.h"

/* every input runs at the same wall-clock time, so it replays exactly */
#define FUZZ_NOW ((gint64) 1700000000 * G_USEC_PER_SEC)
#define MAX_CALLS 16

typedef struct {
  DaConfig *config;
  DaDaemon *daemon;
  DaEngine *engine;       /* the daemon's */
  DaCatalog *catalog;
  GPtrArray *baseline;    /* DaChange: the seeded engine, dumped */
  char *baseline_text;
} Fixture;

static Fixture fixture;

/* ------------------------------------------------------------------ */

static void
collect_change (const DaChange *change, gpointer user_data)
{
  g_ptr_array_add (user_data, da_change_copy (change));
}

static void
append_change (GString *out, const DaChange *c)
{
  g_string_append_printf (out, "%s scope=%s tmpl=%s type=%s alias=%s tag=%s %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                          " n=%" G_GUINT64_FORMAT " mode=%d state=%d flags=%u time=%" G_GINT64_FORMAT
                          " cursor=%d expired=%d\n",
                          da_change_kind_to_string (c->kind), c->scope, c->template_name, c->type, c->alias, c->tag,
                          c->start, c->end, c->count, c->mode, c->state, c->flags, c->time, c->cursor, c->expired);
}

static char *
changes_to_string (GPtrArray *changes)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < changes->len; i++)
    append_change (out, g_ptr_array_index (changes, i));
  return g_string_free (out, FALSE);
}

/* the whole state of an engine as text: its snapshot at now, one change a
 * line (cool-downs that ended by now are left out, as in a snapshot) */
static char *
engine_to_string (DaEngine *engine, gint64 now)
{
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) da_change_free);

  da_engine_dump (engine, now, collect_change, changes);
  return changes_to_string (changes);
}

static DaEngine *
engine_from_changes (GPtrArray *changes)
{
  DaEngine *engine = da_engine_new (fixture.catalog);

  da_engine_set_cooldown (engine, fixture.config->cooldown_us);
  for (guint i = 0; i < changes->len; i++) {
    g_autoptr (GError) error = NULL;

    da_fuzz_check (da_engine_apply (engine, g_ptr_array_index (changes, i), &error),
                   "replaying change %u: %s", i, error->message);
  }
  return engine;
}

/* ------------------------------------------------------------------ */

/* what the journal keeps of a mutation, and what recovery makes of it */
static void
check_record (GPtrArray *changes, DaEngine *mirror)
{
  g_autoptr (GBytes) record = da_record_encode (changes);
  g_autoptr (GPtrArray) decoded = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (record, &len);

  decoded = da_record_decode (data, len, &error);
  da_fuzz_check (decoded != NULL, "the record of %u changes does not decode: %s", changes->len, error->message);
  before = changes_to_string (changes);
  after = changes_to_string (decoded);
  da_fuzz_check (strcmp (before, after) == 0, "the record changes what it holds:\n%s---\n%s", before, after);
  for (guint i = 0; i < decoded->len; i++) {
    g_autoptr (GError) apply_error = NULL;
    g_autofree char *text = NULL;

    if (da_engine_apply (mirror, g_ptr_array_index (decoded, i), &apply_error))
      continue;
    text = changes_to_string (decoded);
    da_fuzz_fail (__FILE__, __LINE__, "da_engine_apply", "change %u of the record does not replay: %s\n%s", i,
                  apply_error->message, text);
  }
}

static void
check_reply (JsonNode *result, const GError *error, JsonObject *error_data, guint index)
{
  g_autoptr (JsonNode) id = json_node_new (JSON_NODE_VALUE);
  g_autoptr (JsonNode) reply = NULL;
  g_autoptr (JsonNode) parsed = NULL;
  g_autoptr (GError) parse_error = NULL;
  g_autofree char *text = NULL;

  json_node_set_int (id, index);
  reply = error != NULL ? da_jsonrpc_error_response_new (id, error, error_data)
                        : da_jsonrpc_result_response_new (id, json_node_ref (result));
  text = da_json_to_string (reply);
  parsed = da_json_parse (text, strlen (text), NULL, NULL, &parse_error);
  da_fuzz_check (parsed != NULL, "the reply is not JSON: %s: %s", parse_error->message, text);
}

/* one call, as run_call() in da-daemon.c makes it; a mutation that
 * succeeded returns its transaction, to be rolled back later */
static DaTxn *
run_method (const DaMethod *method, JsonNode *params_node, gint64 now, DaEngine *mirror, guint index)
{
  DaMethodContext ctx = { fixture.daemon, fixture.engine, NULL, now, NULL, NULL, NULL };
  g_autoptr (DaParams) params = NULL;
  GError *error = NULL;
  JsonNode *result = NULL;
  DaTxn *kept = NULL;

  if ((params = da_params_new (params_node, &error)) != NULL) {
    if (method->flags & DA_METHOD_MUTATES)
      ctx.txn = da_txn_new (fixture.engine);
    result = method->func (&ctx, params, &error);
    da_fuzz_check ((result == NULL) != (error == NULL), "%s returned %s and %s an error", method->name,
                   result != NULL ? "a result" : "no result", error != NULL ? "set" : "did not set");
  }
  /* the answer is the text run_call() sends, whichever way the handler
   * gave it: it must be JSON */
  if (result != NULL) {
    g_autoptr (GString) text = da_methods_take_result_text (&ctx, result);
    g_autoptr (GError) parse_error = NULL;

    result = da_json_parse (text->str, text->len, NULL, NULL, &parse_error);
    da_fuzz_check (result != NULL, "%s: the result is not JSON: %s: %s", method->name,
                   parse_error != NULL ? parse_error->message : "", text->str);
  }
  da_methods_map_error (&error);
  da_fuzz_check (error == NULL || (error->domain == DA_RPC_ERROR && error->code != DA_RPC_ERROR_INTERNAL),
                 "%s: an internal error: %s", method->name, error->message);
  check_reply (result, error, ctx.error_data, index);
  /* what a seed reaches: DA_FUZZ_VERBOSE=1 with the replay */
  if (g_getenv ("DA_FUZZ_VERBOSE") != NULL)
    g_printerr ("  %s: %s\n", method->name, error != NULL ? error->message : "ok");

  if (ctx.txn != NULL) {
    if (result == NULL) {
      /* a failed mutation leaves nothing behind */
      da_txn_rollback (g_steal_pointer (&ctx.txn));
    } else {
      da_methods_notify_changes (&ctx, da_txn_get_changes (ctx.txn), 0);
      if (mirror != NULL && da_txn_get_changes (ctx.txn)->len > 0)
        check_record (da_txn_get_changes (ctx.txn), mirror);
      kept = g_steal_pointer (&ctx.txn);
    }
  }
  if (mirror != NULL) {
    g_autofree char *live = engine_to_string (fixture.engine, now);
    g_autofree char *replayed = engine_to_string (mirror, now);

    da_fuzz_check (strcmp (live, replayed) == 0, "after %s the journal replays to another state:\n%s---\n%s",
                   method->name, live, replayed);
  }
  g_clear_pointer (&ctx.notifications, g_ptr_array_unref);
  g_clear_pointer (&ctx.error_data, json_object_unref);
  g_clear_pointer (&result, json_node_unref);
  g_clear_error (&error);
  return kept;
}

/* the daemon's expiry timer firing */
static DaTxn *
run_expire (gint64 now, DaEngine *mirror)
{
  DaTxn *txn = da_txn_new (fixture.engine);

  da_engine_expire (fixture.engine, now, txn);
  if (da_txn_get_changes (txn)->len > 0 && mirror != NULL)
    check_record (da_txn_get_changes (txn), mirror);
  return txn;
}

/* "METHOD PARAMS" or "@expire SECONDS"; NULL when the line is no call */
static DaTxn *
run_line (const char *line, gsize len, gint64 *now, DaEngine *mirror, guint index)
{
  const char *space = memchr (line, ' ', len);
  g_autofree char *name = g_strndup (line, space != NULL ? (gsize) (space - line) : len);
  const char *rest = space != NULL ? space + 1 : line + len;
  gsize rest_len = (gsize) (line + len - rest);
  g_autoptr (JsonNode) params = NULL;
  const DaMethod *method;

  if (strcmp (name, "@expire") == 0) {
    g_autofree char *text = g_strndup (rest, rest_len);
    guint64 seconds = 0;

    if (!g_ascii_string_to_unsigned (text, 10, 0, 10 * 24 * 3600, &seconds, NULL))
      return NULL;
    /* time goes on: later calls run then too */
    *now += (gint64) seconds * G_USEC_PER_SEC;
    return run_expire (*now, mirror);
  }
  method = da_methods_lookup (name);
  if (method == NULL)
    return NULL;
  if (rest_len > 0) {
    params = da_json_parse (rest, rest_len, NULL, NULL, NULL);
    /* what the connection refuses (-32600) never reaches a handler */
    if (params == NULL || (!JSON_NODE_HOLDS_OBJECT (params) && !JSON_NODE_HOLDS_ARRAY (params)))
      return NULL;
  }
  return run_method (method, params, *now, mirror, index);
}

/* ------------------------------------------------------------------ */

static char *
read_example (const char *name)
{
  g_autofree char *path = g_build_filename (da_fuzz_srcdir (), "examples", name, NULL);
  g_autoptr (GError) error = NULL;
  char *xml = NULL;

  da_fuzz_check (g_file_get_contents (path, &xml, NULL, &error), "%s", error->message);
  return xml;
}

static void
seed_call (const char *method_name, JsonObject *params)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  const DaMethod *method = da_methods_lookup (method_name);
  DaMethodContext ctx = { fixture.daemon, fixture.engine, da_txn_new (fixture.engine), FUZZ_NOW, NULL, NULL, NULL };
  g_autoptr (DaParams) params_reader = NULL;
  g_autoptr (JsonNode) result = NULL;
  g_autoptr (GError) error = NULL;

  json_node_take_object (node, params);
  params_reader = da_params_new (node, &error);
  result = method->func (&ctx, params_reader, &error);
  da_fuzz_check (result != NULL, "seeding with %s: %s", method_name, error->message);
  if (ctx.result_text != NULL)
    g_string_free (ctx.result_text, TRUE);
  da_txn_free (ctx.txn);
  g_clear_pointer (&ctx.notifications, g_ptr_array_unref);
}

static JsonObject *
object_of (const char *first_name, ...)
{
  JsonObject *object = json_object_new ();
  const char *name = first_name;
  va_list args;

  va_start (args, first_name);
  while (name != NULL) {
    json_object_set_string_member (object, name, va_arg (args, const char *));
    name = va_arg (args, const char *);
  }
  va_end (args);
  return object;
}

static void
fixture_init (void)
{
  g_autofree char *pc_xml = read_example ("domain-pc.xml");
  g_autofree char *q35_xml = read_example ("domain-q35.xml");
  g_autoptr (DaEngine) mirror = NULL;
  g_autofree char *mirrored = NULL;
  JsonObject *held;

  da_fuzz_init ();
  fixture.config = da_config_new_default ();
  fixture.catalog = da_fuzz_load_catalog ();
  fixture.engine = da_engine_new (fixture.catalog);
  da_engine_set_cooldown (fixture.engine, fixture.config->cooldown_us);
  fixture.daemon = da_daemon_new_detached (fixture.config, fixture.engine);

  seed_call ("domain.assign", object_of ("vm", "vm1", "xml", pc_xml, NULL));
  seed_call ("vm.create", object_of ("vm", "vm2", "template", "q35", NULL));
  seed_call ("domain.assign", object_of ("vm", "vm2", "xml", q35_xml, NULL));
  seed_call ("addr.reserve", object_of ("scope", "host", "type", "mac", "alias", "vm1-net0", NULL));
  held = object_of ("vm", "vm1", "type", "pci", "alias", "hot0", NULL);
  json_object_set_int_member (held, "hold_s", 60);
  seed_call ("addr.reserve", held);
  seed_call ("addr.reserve", object_of ("vm", "vm2", "type", "virtio-serial", "alias", "chan9", NULL));
  seed_call ("addr.release", object_of ("vm", "vm2", "alias", "chan9", "phase", "begin", NULL));

  fixture.baseline = g_ptr_array_new_with_free_func ((GDestroyNotify) da_change_free);
  da_engine_dump (fixture.engine, FUZZ_NOW, collect_change, fixture.baseline);
  fixture.baseline_text = changes_to_string (fixture.baseline);
  /* the snapshot of the seeded state must itself replay */
  mirror = engine_from_changes (fixture.baseline);
  mirrored = engine_to_string (mirror, FUZZ_NOW);
  da_fuzz_check (strcmp (mirrored, fixture.baseline_text) == 0, "the seeded state does not replay:\n%s---\n%s",
                 fixture.baseline_text, mirrored);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  DaFuzzInput input = { data, size };
  g_autoptr (GPtrArray) txns = g_ptr_array_new ();
  g_autoptr (DaEngine) mirror = NULL;
  g_autofree char *after = NULL;
  gint64 now = FUZZ_NOW;
  const char *line;
  gsize len;

  if (fixture.engine == NULL)
    fixture_init ();
  /* the random policy draws the same numbers for the same input */
  da_engine_set_seed (fixture.engine, 1);
  mirror = engine_from_changes (fixture.baseline);

  for (guint i = 0; i < MAX_CALLS && da_fuzz_input_take_line (&input, &line, &len); i++) {
    DaTxn *txn = run_line (line, len, &now, mirror, i);

    if (txn != NULL)
      g_ptr_array_add (txns, txn);
  }
  for (guint i = txns->len; i > 0; i--)
    da_txn_rollback (g_ptr_array_index (txns, i - 1));

  after = engine_to_string (fixture.engine, FUZZ_NOW);
  da_fuzz_check (strcmp (after, fixture.baseline_text) == 0,
                 "rolling back every call left the engine changed:\n%s---\n%s", fixture.baseline_text, after);
  return 0;
}
