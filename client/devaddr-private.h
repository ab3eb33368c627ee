/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* what the objects of the library know of the wire; never installed */

#define DEVADDR_COMPILATION
#include "devaddr/devaddr.h"

G_BEGIN_DECLS

/* each reads one result (or part of one) of the protocol; path names the
 * value in error messages, such as "result.reservations[2]" */
DevaddrReservation *da_reservation_new_from_json (JsonNode *node, const char *path, GError **error);
GPtrArray *da_reservations_new_from_json (JsonArray *array, const char *path, GError **error);
DevaddrVm *da_vm_new_from_json (JsonNode *node, const char *path, gboolean with_reservations, GError **error);
DevaddrPoolStats *da_pool_stats_new_from_json (JsonNode *node, const char *path, GError **error);
DevaddrServerInfo *da_server_info_new_from_json (JsonNode *node, const char *path, GError **error);
DevaddrTypeInfo *da_type_info_new_from_json (JsonNode *node, const char *path, GError **error);
DevaddrTemplateInfo *da_template_info_new_from_json (JsonNode *node, const char *path, GError **error);
DevaddrChange *da_change_new_from_json (JsonNode *node, const char *path, GError **error);
DevaddrAssignment *da_assignment_new_from_json (JsonNode *node, const char *path, GError **error);
DevaddrImportResult *da_import_result_new_from_json (JsonNode *node, const char *path, GError **error);
DevaddrAttachment *da_attachment_new_from_json (JsonNode *node, const char *path, GError **error);

/* the error a JSON-RPC error object stands for */
GError *da_error_new_from_json (JsonNode *error_object);
/* a state of a release result; "free" is an older name of "released" */
DevaddrState da_release_state_from_string (const char *state);

G_END_DECLS
