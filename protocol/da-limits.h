/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The limits that are part of the protocol.  Both sides use the same
 * defaults so that a client never builds a request the daemon refuses for
 * size alone; the daemon may lower or raise them in its configuration.
 */

/* largest frame (one JSON text, not counting its newline) */
#define DA_LIMIT_FRAME_MAX (4 * 1024 * 1024)

/* deepest nesting of arrays and objects; a top-level array or object is depth 1 */
#define DA_LIMIT_DEPTH_MAX 64

/* most values (of any kind) in one parsed frame: bounds the memory a
 * frame of DA_LIMIT_FRAME_MAX bytes can turn into (about 100 bytes each) */
#define DA_LIMIT_NODES_MAX (128 * 1024)

/* requests of one connection that are being processed at the same time
 * (every call of a batch counts) */
#define DA_LIMIT_PENDING_PER_CONNECTION 64

/* open connections of one peer uid */
#define DA_LIMIT_CONNECTIONS_PER_UID 128

/* VM names, aliases, type, tag and template names, in bytes; equal to
 * DA_NAME_MAX of the engine */
#define DA_LIMIT_NAME_MAX 128

/* address text, in bytes (the Address schema of the description) */
#define DA_LIMIT_ADDRESS_MAX 128

/* domain or device XML carried in one request, in bytes */
#define DA_LIMIT_XML_MAX (1024 * 1024)

/* requests in one batch-form addr.reserve */
#define DA_LIMIT_RESERVE_REQUESTS_MAX 256

/* names in a tags or not_tags list */
#define DA_LIMIT_TAGS_MAX 8
