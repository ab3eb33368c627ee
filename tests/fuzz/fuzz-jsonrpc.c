/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-jsonrpc: the byte stream of a connection through the framing
 * (protocol/da-frame.c), the JSON parser and serialiser (da-json.c) and the
 * JSON-RPC classification and replies (da-jsonrpc.c), as da-connection.c
 * drives them, under the default limits and under small ones so that every
 * limit is crossed.
 *
 * The input is the stream.  For each set of limits:
 *   - it is framed whole (da_frame_split) and fed to a reader in chunks of
 *     one byte, of sizes the input's own bytes give, and of sizes a
 *     generator seeded from the input draws: every split gives the same
 *     frames, and the reader never holds more than a frame plus a chunk;
 *   - every frame that parses serialises to text that parses to an equal
 *     tree under the same limits;
 *   - every frame is classified into calls; each valid call is answered
 *     (an error, or now and then a result), the reply is built and
 *     serialised, and it is JSON that a client parses into one response
 *     per call that is no notification, with the ids of the requests.
 */
#include "config.h"

#include <string.h>

#include "fuzz-util.h"
#include "protocol/da-frame.h"
#include "protocol/da-json.h"
#include "protocol/da-jsonrpc.h"

typedef struct {
  gsize max_frame;     /* 0: the protocol's */
  DaJsonLimits json;
} Limits;

static const Limits limit_sets[] = {
  { 0, { DA_LIMIT_DEPTH_MAX, DA_LIMIT_NODES_MAX } },
  { 512, { 4, 64 } },
  { 64, { 2, 8 } },
  { 8, { 0, 1 } },
};

typedef struct {
  DaFrameStatus status;
  GBytes *frame;       /* DA_FRAME_DATA */
} Event;

static void
event_free (Event *event)
{
  g_clear_pointer (&event->frame, g_bytes_unref);
  g_free (event);
}

static void
take_events (DaFrameReader *reader, GPtrArray *events)
{
  DaFrameStatus status;
  const char *frame;
  gsize len;

  while ((status = da_frame_reader_next (reader, &frame, &len)) != DA_FRAME_NONE) {
    Event *event = g_new0 (Event, 1);

    event->status = status;
    if (status == DA_FRAME_DATA) {
      da_fuzz_check (frame[len] == '\0', "a frame is not NUL-terminated");
      event->frame = g_bytes_new (frame, len);
    }
    g_ptr_array_add (events, event);
  }
}

static gboolean
collect_split (DaFrameStatus status, const char *frame, gsize len, gpointer user_data)
{
  Event *event = g_new0 (Event, 1);

  event->status = status;
  if (status == DA_FRAME_DATA)
    event->frame = g_bytes_new (frame, len);
  g_ptr_array_add (user_data, event);
  return TRUE;
}

typedef enum {
  CHUNKS_ONE_BYTE,
  CHUNKS_FROM_INPUT,
  CHUNKS_RANDOM,
} Chunking;

/* FNV-1a: the same input draws the same chunk sizes */
static guint32
seed_of (const guint8 *data, gsize size)
{
  guint32 hash = 2166136261u;

  for (gsize i = 0; i < size; i++)
    hash = (hash ^ data[i]) * 16777619u;
  return hash;
}

static GPtrArray *
read_in_chunks (const guint8 *data, gsize size, gsize max_frame, Chunking chunking)
{
  g_autoptr (DaFrameReader) reader = da_frame_reader_new (max_frame);
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) event_free);
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed_of (data, size));
  gsize pos = 0;
  guint nth = 0;

  while (pos < size) {
    gsize chunk;

    switch (chunking) {
    case CHUNKS_ONE_BYTE: chunk = 1; break;
    case CHUNKS_FROM_INPUT: chunk = (gsize) data[nth % size] % 97 + 1; break;
    case CHUNKS_RANDOM:
    default: chunk = (gsize) g_rand_int_range (rand, 1, 4097); break;
    }
    nth++;
    chunk = MIN (chunk, size - pos);
    da_frame_reader_feed (reader, data + pos, chunk);
    pos += chunk;
    da_fuzz_check (da_frame_reader_get_buffered (reader) <= da_frame_reader_get_max_frame (reader) + 1 + chunk,
                   "the reader holds %" G_GSIZE_FORMAT " bytes after a chunk of %" G_GSIZE_FORMAT,
                   da_frame_reader_get_buffered (reader), chunk);
    take_events (reader, events);
  }
  da_frame_reader_end (reader);
  take_events (reader, events);
  return events;
}

static void
check_same_events (GPtrArray *expected, GPtrArray *got, Chunking chunking)
{
  da_fuzz_check (expected->len == got->len, "chunking %d: %u frames, whole: %u", chunking, got->len, expected->len);
  for (guint i = 0; i < expected->len; i++) {
    Event *a = g_ptr_array_index (expected, i);
    Event *b = g_ptr_array_index (got, i);

    da_fuzz_check (a->status == b->status, "chunking %d: frame %u is %d, whole: %d", chunking, i, b->status, a->status);
    da_fuzz_check (a->frame == NULL || g_bytes_equal (a->frame, b->frame), "chunking %d: frame %u differs", chunking, i);
  }
}

/* the text a connection sends must parse, whatever the limits it received with */
static JsonNode *
parse_sent_text (const char *text)
{
  g_autoptr (GError) error = NULL;
  DaJsonLimits unlimited = { G_MAXUINT, G_MAXSIZE };
  JsonNode *parsed;

  da_fuzz_check (strchr (text, '\n') == NULL, "a reply spans lines: %s", text);
  parsed = da_json_parse (text, strlen (text), &unlimited, NULL, &error);
  da_fuzz_check (parsed != NULL, "a reply is not JSON: %s: %s", error->message, text);
  return parsed;
}

static JsonNode *
parse_sent (JsonNode *node)
{
  g_autofree char *text = da_json_to_string (node);

  return parse_sent_text (text);
}

static void
check_round_trip (const char *frame, gsize len, const DaJsonLimits *limits)
{
  g_autoptr (JsonNode) root = da_json_parse (frame, len, limits, NULL, NULL);
  g_autoptr (JsonNode) again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (root == NULL)
    return;
  text = da_json_to_string (root);
  again = da_json_parse (text, strlen (text), limits, NULL, &error);
  da_fuzz_check (again != NULL, "serialised, a frame does not parse: %s: %s", error->message, text);
  da_fuzz_check (da_json_equal (root, again), "serialised and parsed, a frame changes: %s", text);
}

/* one response of a reply, as a client reads it */
static void
check_response (JsonNode *response, DaJsonrpcCall *call)
{
  g_autoptr (JsonNode) id = NULL;
  g_autoptr (JsonNode) result = NULL;
  g_autoptr (GError) error = NULL;

  if (da_jsonrpc_response_parse (response, &id, &result, &error)) {
    da_fuzz_check (result != NULL, "a result response without a result");
  } else {
    da_fuzz_check (error != NULL, "an error response without an error");
    da_fuzz_check (id != NULL, "a malformed response: %s", error->message);
    da_fuzz_check (error->domain == DA_RPC_ERROR, "a response's error is not a protocol error: %s", error->message);
  }
  /* an invalid entry is answered with id null */
  if (call->error != NULL)
    da_fuzz_check (JSON_NODE_HOLDS_NULL (id), "an invalid request is answered with an id");
  else
    da_fuzz_check (da_json_equal (id, call->id), "a response has another id than its request");
}

static void
answer_frame (const char *frame, gsize len, const DaJsonLimits *limits)
{
  g_autoptr (DaJsonrpcBatch) batch = da_jsonrpc_batch_new_from_frame (frame, len, limits);
  g_autoptr (GString) reply = NULL;
  g_autoptr (JsonNode) parsed = NULL;
  g_autoptr (GPtrArray) answered = g_ptr_array_new ();
  guint n = da_jsonrpc_batch_get_n_calls (batch);

  da_fuzz_check (n > 0, "a frame with no calls");
  for (guint i = 0; i < n; i++) {
    DaJsonrpcCall *call = da_jsonrpc_batch_get_call (batch, i);

    /* an invalid call is answered already (da_jsonrpc_batch_get_call) */
    if (call->error != NULL) {
      da_fuzz_check (call->method == NULL, "an invalid call with a method");
    } else if (i % 3 == 2) {
      da_jsonrpc_batch_return_result (batch, i, json_node_init_boolean (json_node_alloc (), TRUE));
    } else {
      g_autoptr (GError) error = g_error_new (DA_RPC_ERROR, DA_RPC_ERROR_METHOD_NOT_FOUND, "no method \"%s\"",
                                              call->method);
      g_autoptr (JsonObject) data = json_object_new ();

      json_object_set_string_member (data, "method", call->method);
      da_jsonrpc_batch_return_error (batch, i, error, data);
    }
    if (call->error != NULL || !call->is_notification)
      g_ptr_array_add (answered, call);
  }
  da_fuzz_check (da_jsonrpc_batch_get_n_pending (batch) == 0, "calls still pending after every answer");
  reply = da_jsonrpc_batch_build_reply (batch);
  if (reply == NULL) {
    da_fuzz_check (answered->len == 0, "no reply for %u calls that need one", answered->len);
    return;
  }
  parsed = parse_sent_text (reply->str);
  if (!da_jsonrpc_batch_is_array (batch)) {
    da_fuzz_check (answered->len == 1 && JSON_NODE_HOLDS_OBJECT (parsed), "one call, and the reply is no object");
    check_response (parsed, g_ptr_array_index (answered, 0));
  } else {
    JsonArray *array;

    da_fuzz_check (JSON_NODE_HOLDS_ARRAY (parsed), "a batch, and the reply is no array");
    array = json_node_get_array (parsed);
    da_fuzz_check (json_array_get_length (array) == answered->len, "%u responses for %u calls",
                   json_array_get_length (array), answered->len);
    for (guint i = 0; i < answered->len; i++)
      check_response (json_array_get_element (array, i), g_ptr_array_index (answered, i));
  }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  da_fuzz_init ();
  for (guint l = 0; l < G_N_ELEMENTS (limit_sets); l++) {
    const Limits *limits = &limit_sets[l];
    g_autoptr (GPtrArray) whole = g_ptr_array_new_with_free_func ((GDestroyNotify) event_free);

    da_frame_split (data, size, limits->max_frame, collect_split, whole);
    for (Chunking c = CHUNKS_ONE_BYTE; c <= CHUNKS_RANDOM; c++) {
      g_autoptr (GPtrArray) chunked = NULL;

      /* byte by byte is the slowest split: the protocol's own limit and
       * the smallest ones get it */
      if (c == CHUNKS_ONE_BYTE && limits->max_frame != 0 && limits->max_frame > 64)
        continue;
      chunked = read_in_chunks (data, size, limits->max_frame, c);

      check_same_events (whole, chunked, c);
    }
    for (guint i = 0; i < whole->len; i++) {
      Event *event = g_ptr_array_index (whole, i);
      gsize len;
      const char *frame;

      if (event->status == DA_FRAME_TOO_LARGE) {
        g_autoptr (JsonNode) reply = da_jsonrpc_frame_too_large_response_new (limits->max_frame);
        g_autoptr (JsonNode) parsed = parse_sent (reply);

        continue;
      }
      frame = g_bytes_get_data (event->frame, &len);
      check_round_trip (frame, len, &limits->json);
      answer_frame (frame, len, &limits->json);
    }
  }
  return 0;
}
