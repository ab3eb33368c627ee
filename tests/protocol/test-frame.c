/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <string.h>

#include "protocol/da-frame.h"
#include "tests/common/da-test-suite.h"

/* what a reader produced: frames as strings, a too-large report as "!TOO_LARGE" */
static void
drain (DaFrameReader *reader, GPtrArray *out)
{
  DaFrameStatus status;
  const char *frame;
  gsize len;

  while ((status = da_frame_reader_next (reader, &frame, &len)) != DA_FRAME_NONE) {
    if (status == DA_FRAME_TOO_LARGE) {
      g_ptr_array_add (out, g_strdup ("!TOO_LARGE"));
    } else {
      ck_assert (frame[len] == '\0');
      g_ptr_array_add (out, g_strndup (frame, len));
    }
  }
}

/* feed @stream in chunks of the sizes @rand picks (1 byte each without @rand) */
static GPtrArray *
frames_of (const char *stream, gsize len, gsize max, GRand *rand, gsize max_chunk)
{
  g_autoptr (DaFrameReader) reader = da_frame_reader_new (max);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  gsize pos = 0;

  while (pos < len) {
    gsize chunk = rand != NULL ? (gsize) g_rand_int_range (rand, 1, (gint32) max_chunk + 1) : 1;

    chunk = MIN (chunk, len - pos);
    da_frame_reader_feed (reader, stream + pos, chunk);
    pos += chunk;
    /* the reader keeps at most the unfinished line plus this chunk */
    ck_assert_uint_le (da_frame_reader_get_buffered (reader), max + 1 + chunk);
    drain (reader, out);
  }
  da_frame_reader_end (reader);
  drain (reader, out);
  return out;
}

static void
assert_frames (GPtrArray *got, const char *const *expected)
{
  guint n = g_strv_length ((char **) expected);

  for (guint i = 0; i < MIN (n, got->len); i++)
    ck_assert_msg (strcmp (g_ptr_array_index (got, i), expected[i]) == 0, "frame %u: got \"%s\", expected \"%s\"", i,
                   (char *) g_ptr_array_index (got, i), expected[i]);
  ck_assert_uint_eq (got->len, n);
}

START_TEST (test_basic)
{
  const char *stream = "{\"a\":1}\n[2]\r\n\n  \t\r\n3\r\r\nlast";
  const char *expected[] = { "{\"a\":1}", "[2]", "3\r", "last", NULL };
  g_autoptr (GPtrArray) whole = NULL;
  g_autoptr (DaFrameReader) reader = da_frame_reader_new (0);

  whole = g_ptr_array_new_with_free_func (g_free);
  da_frame_reader_feed (reader, stream, strlen (stream));
  drain (reader, whole);
  da_frame_reader_end (reader);
  drain (reader, whole);
  assert_frames (whole, expected);
  ck_assert_uint_eq (da_frame_reader_get_max_frame (reader), DA_LIMIT_FRAME_MAX);
}
END_TEST

START_TEST (test_byte_by_byte_and_random_chunks)
{
  g_autoptr (GString) stream = g_string_new (NULL);
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  g_autoptr (GPtrArray) whole = NULL;
  g_autoptr (GPtrArray) bytewise = NULL;

  for (guint i = 0; i < 200; i++) {
    guint n = g_rand_int_range (rand, 0, 40);

    /* frames of varying length, some over the limit of 32, some blank */
    for (guint j = 0; j < n; j++)
      g_string_append_c (stream, "ab{}\" \t\r"[g_rand_int_range (rand, 0, 8)]);
    g_string_append (stream, g_rand_boolean (rand) ? "\n" : "\r\n");
  }

  whole = frames_of (stream->str, stream->len, 32, rand, stream->len);
  bytewise = frames_of (stream->str, stream->len, 32, NULL, 1);
  ck_assert_uint_gt (whole->len, 50);
  ck_assert_uint_eq (whole->len, bytewise->len);
  for (guint i = 0; i < whole->len; i++)
    ck_assert_str_eq (g_ptr_array_index (whole, i), g_ptr_array_index (bytewise, i));

  for (guint round = 0; round < 200; round++) {
    g_autoptr (GPtrArray) split = frames_of (stream->str, stream->len, 32, rand, 1 + round % 64);

    ck_assert_uint_eq (whole->len, split->len);
    for (guint i = 0; i < whole->len; i++)
      ck_assert_str_eq (g_ptr_array_index (whole, i), g_ptr_array_index (split, i));
  }
}
END_TEST

START_TEST (test_too_large_reported_once)
{
  g_autofree char *big = g_strnfill (100, 'x');
  g_autofree char *stream = g_strdup_printf ("ok1\n%s\n{\"next\":1}\n", big);
  const char *expected[] = { "ok1", "!TOO_LARGE", "{\"next\":1}", NULL };
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);

  for (guint round = 0; round < 50; round++) {
    g_autoptr (GPtrArray) got = frames_of (stream, strlen (stream), 16, round == 0 ? NULL : rand, 1 + round);

    assert_frames (got, expected);
  }
}
END_TEST

START_TEST (test_limit_boundary)
{
  const char *stream = "0123456789abcdef\n0123456789abcdefg\n0123456789abcde\r\n0123456789abcdef\r\n";
  /* the limit counts every byte before the newline, '\r' included */
  const char *expected[] = { "0123456789abcdef", "!TOO_LARGE", "0123456789abcde", "!TOO_LARGE", NULL };
  g_autoptr (GPtrArray) whole = frames_of (stream, strlen (stream), 16, NULL, 1);

  assert_frames (whole, expected);
}
END_TEST

START_TEST (test_consecutive_too_large)
{
  const char *stream = "aaaaaaaaaa\nbbbbbbbbbbbb\nc\ndddddddddddddddddddddd";
  const char *expected[] = { "!TOO_LARGE", "!TOO_LARGE", "c", "!TOO_LARGE", NULL };
  g_autoptr (GPtrArray) got = frames_of (stream, strlen (stream), 8, NULL, 1);

  /* and at the end of the stream, an over-long unfinished line gives nothing more */
  assert_frames (got, expected);
}
END_TEST

START_TEST (test_memory_bounded)
{
  /* 64 MiB without a newline, in 64 KiB chunks, against a 1 MiB limit */
  g_autoptr (DaFrameReader) reader = da_frame_reader_new (1024 * 1024);
  g_autofree char *chunk = g_strnfill (64 * 1024, 'x');
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
  const char *expected[] = { "!TOO_LARGE", "{}", NULL };

  for (guint i = 0; i < 1024; i++) {
    da_frame_reader_feed (reader, chunk, 64 * 1024);
    ck_assert_uint_le (da_frame_reader_get_buffered (reader), 1024 * 1024 + 64 * 1024);
    drain (reader, got);
  }
  da_frame_reader_feed (reader, "\n{}\n", 4);
  drain (reader, got);
  assert_frames (got, expected);
  ck_assert_uint_le (da_frame_reader_get_buffered (reader), 8);
}
END_TEST

START_TEST (test_embedded_nul)
{
  g_autoptr (DaFrameReader) reader = da_frame_reader_new (0);
  const char *frame;
  gsize len;

  da_frame_reader_feed (reader, "a\0b\n", 4);
  ck_assert_int_eq (da_frame_reader_next (reader, &frame, &len), DA_FRAME_DATA);
  ck_assert_uint_eq (len, 3);
  ck_assert (memcmp (frame, "a\0b", 3) == 0);
  ck_assert_int_eq (da_frame_reader_next (reader, &frame, &len), DA_FRAME_NONE);
  ck_assert (frame == NULL);
}
END_TEST

START_TEST (test_frames_survive_until_next_feed)
{
  g_autoptr (DaFrameReader) reader = da_frame_reader_new (0);
  const char *first;
  const char *second;
  gsize len;

  da_frame_reader_feed (reader, "one\ntwo\nthr", 11);
  ck_assert_int_eq (da_frame_reader_next (reader, &first, &len), DA_FRAME_DATA);
  ck_assert_int_eq (da_frame_reader_next (reader, &second, &len), DA_FRAME_DATA);
  ck_assert_str_eq (first, "one");
  ck_assert_str_eq (second, "two");
  ck_assert_int_eq (da_frame_reader_next (reader, NULL, NULL), DA_FRAME_NONE);
  da_frame_reader_feed (reader, "ee\n", 3);
  ck_assert_int_eq (da_frame_reader_next (reader, &first, &len), DA_FRAME_DATA);
  ck_assert_str_eq (first, "three");
  /* taken frames are dropped on the next feed */
  ck_assert_uint_le (da_frame_reader_get_buffered (reader), 6);
}
END_TEST

START_TEST (test_untaken_frames_kept)
{
  g_autoptr (DaFrameReader) reader = da_frame_reader_new (0);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
  const char *expected[] = { "a", "b", "c", NULL };

  /* a caller that feeds twice before draining loses nothing */
  da_frame_reader_feed (reader, "a\nb", 3);
  da_frame_reader_feed (reader, "\nc\n", 3);
  drain (reader, got);
  assert_frames (got, expected);
}
END_TEST

static gboolean
collect (DaFrameStatus status, const char *frame, gsize len, gpointer user_data)
{
  g_ptr_array_add (user_data, status == DA_FRAME_TOO_LARGE ? g_strdup ("!TOO_LARGE") : g_strndup (frame, len));
  return TRUE;
}

/* whether a line is unfinished, and which one: what a deadline for
 * finishing a line needs */
START_TEST (test_unfinished_line)
{
  g_autoptr (DaFrameReader) reader = da_frame_reader_new (8);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  ck_assert (!da_frame_reader_in_line (reader));
  da_frame_reader_feed (reader, "ab", 2);
  ck_assert (da_frame_reader_in_line (reader));
  ck_assert_uint_eq (da_frame_reader_get_lines (reader), 0);
  /* one ends and the next begins in the same chunk: a new line */
  da_frame_reader_feed (reader, "c\nd", 3);
  ck_assert (da_frame_reader_in_line (reader));
  ck_assert_uint_eq (da_frame_reader_get_lines (reader), 1);
  drain (reader, out);
  da_frame_reader_feed (reader, "\n \n\n", 4);
  ck_assert (!da_frame_reader_in_line (reader));
  ck_assert_uint_eq (da_frame_reader_get_lines (reader), 4);
  /* an over-long line being skipped is unfinished too */
  da_frame_reader_feed (reader, "0123456789", 10);
  ck_assert (da_frame_reader_in_line (reader));
  da_frame_reader_feed (reader, "\n", 1);
  ck_assert (!da_frame_reader_in_line (reader));
  ck_assert_uint_eq (da_frame_reader_get_lines (reader), 5);
  /* the end ends the last line */
  da_frame_reader_feed (reader, "x", 1);
  da_frame_reader_end (reader);
  ck_assert (!da_frame_reader_in_line (reader));
  ck_assert_uint_eq (da_frame_reader_get_lines (reader), 6);
  drain (reader, out);
  ck_assert_uint_eq (out->len, 4);
  ck_assert_str_eq (g_ptr_array_index (out, 0), "abc");
  ck_assert_str_eq (g_ptr_array_index (out, 1), "d");
  ck_assert_str_eq (g_ptr_array_index (out, 2), "!TOO_LARGE");
  ck_assert_str_eq (g_ptr_array_index (out, 3), "x");
}
END_TEST

START_TEST (test_split)
{
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
  const char *expected[] = { "1", "!TOO_LARGE", "2", NULL };

  da_frame_split ("1\n123456789\n\n2", 14, 4, collect, got);
  assert_frames (got, expected);
  da_frame_split (NULL, 0, 4, collect, got);
  ck_assert_uint_eq (got->len, 3);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("frame");
  TCase *tc = tcase_create ("reader");

  /* a critical from GLib or json-glib is a bug, even when the test would pass */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

  tcase_add_test (tc, test_basic);
  tcase_add_test (tc, test_byte_by_byte_and_random_chunks);
  tcase_add_test (tc, test_too_large_reported_once);
  tcase_add_test (tc, test_limit_boundary);
  tcase_add_test (tc, test_consecutive_too_large);
  tcase_add_test (tc, test_memory_bounded);
  tcase_add_test (tc, test_embedded_nul);
  tcase_add_test (tc, test_frames_survive_until_next_feed);
  tcase_add_test (tc, test_untaken_frames_kept);
  tcase_add_test (tc, test_split);
  tcase_add_test (tc, test_unfinished_line);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
