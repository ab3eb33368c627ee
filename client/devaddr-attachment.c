/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-result.h"
#include "devaddr-private.h"

struct _DevaddrAttachment {
  gatomicrefcount ref;
  char *xml;
  DevaddrReservation *reservation;
};

/**
 * devaddr_attachment_get_type:
 *
 * Returns: the #GType of #DevaddrAttachment
 */
G_DEFINE_BOXED_TYPE (DevaddrAttachment, devaddr_attachment, devaddr_attachment_ref, devaddr_attachment_unref)

DevaddrAttachment *
da_attachment_new_from_json (JsonNode *node, const char *path, GError **error)
{
  g_autoptr (DevaddrAttachment) attachment = g_new0 (DevaddrAttachment, 1);
  g_autofree char *res_path = da_result_path (path, "reservation");
  const char *xml = NULL;
  JsonObject *obj = NULL;

  g_atomic_ref_count_init (&attachment->ref);
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_string (obj, path, "xml", TRUE, &xml, error))
    return NULL;
  attachment->xml = g_strdup (xml);
  attachment->reservation = da_reservation_new_from_json (json_object_get_member (obj, "reservation"), res_path, error);
  if (attachment->reservation == NULL)
    return NULL;
  return g_steal_pointer (&attachment);
}

/**
 * devaddr_attachment_ref:
 * @attachment: a #DevaddrAttachment
 *
 * Returns: (transfer full): @attachment
 */
DevaddrAttachment *
devaddr_attachment_ref (DevaddrAttachment *attachment)
{
  g_return_val_if_fail (attachment != NULL, NULL);
  g_atomic_ref_count_inc (&attachment->ref);
  return attachment;
}

/**
 * devaddr_attachment_unref:
 * @attachment: (transfer full) (nullable): a #DevaddrAttachment
 *
 * Drops a reference; the last one frees @attachment.
 */
void
devaddr_attachment_unref (DevaddrAttachment *attachment)
{
  if (attachment == NULL || !g_atomic_ref_count_dec (&attachment->ref))
    return;
  g_free (attachment->xml);
  g_clear_pointer (&attachment->reservation, devaddr_reservation_unref);
  g_free (attachment);
}

/**
 * devaddr_attachment_get_xml:
 * @attachment: a #DevaddrAttachment
 *
 * Returns: the device XML with its `<address/>` filled in
 */
const char *
devaddr_attachment_get_xml (DevaddrAttachment *attachment)
{
  g_return_val_if_fail (attachment != NULL, NULL);
  return attachment->xml;
}

/**
 * devaddr_attachment_get_reservation:
 * @attachment: a #DevaddrAttachment
 *
 * Returns: (transfer none): the device's reservation
 */
DevaddrReservation *
devaddr_attachment_get_reservation (DevaddrAttachment *attachment)
{
  g_return_val_if_fail (attachment != NULL, NULL);
  return attachment->reservation;
}
