/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * DevaddrTemplateInfo:
 *
 * A machine template: how the pools of a new VM are laid out and what is
 * reserved in them from the start.  Immutable, reference counted.
 */
typedef struct _DevaddrTemplateInfo DevaddrTemplateInfo;

/**
 * DEVADDR_TYPE_TEMPLATE_INFO:
 *
 * The #GType of #DevaddrTemplateInfo, a boxed type.
 */
#define DEVADDR_TYPE_TEMPLATE_INFO (devaddr_template_info_get_type ())

GType devaddr_template_info_get_type (void);
DevaddrTemplateInfo *devaddr_template_info_ref (DevaddrTemplateInfo *info);
void devaddr_template_info_unref (DevaddrTemplateInfo *info);

const char *devaddr_template_info_get_name (DevaddrTemplateInfo *info);
const char *devaddr_template_info_get_description (DevaddrTemplateInfo *info);
const char *const *devaddr_template_info_get_machines (DevaddrTemplateInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DevaddrTemplateInfo, devaddr_template_info_unref)

G_END_DECLS
