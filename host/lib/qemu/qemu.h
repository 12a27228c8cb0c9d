/* SPDX-License-Identifier: MIT */
/* libhaywire QEMU internals (qmp.c, qemu.c): the QMP client and QEMU's facts. */
#ifndef HAYWIRE_QEMU_H
#define HAYWIRE_QEMU_H

#include "../core/core.h"

/* qmp.c: the address given, for messages. */
const char *hwi_qmp_address(const struct haywire_qmp *q);

#endif /* HAYWIRE_QEMU_H */
