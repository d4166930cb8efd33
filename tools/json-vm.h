/* SPDX-License-Identifier: GPL-2.0-or-later */
/* VMs, their assignments and the devices a command moved, as the --json forms write them. */
#pragma once

#include "json.h"
#include "tool.h"

/* One assignment; inv (NULL: not known) says whether its device is there. */
void json_assignment(struct json *j, const char *key, struct qpci_inventory *inv, const struct qpci_assignment *a);
/* A VM: name, state, running, memory, maxmem, vcpus, kernelopts, pci_strictreset, devices. Fails
 * (nothing written) when its assignments cannot be read. */
int json_vm(struct json *j, const char *key, struct qpci_vm *vm, struct qpci_inventory *inv);
/* The devices whose driver is not the one inv's snapshot has: what the command moved. */
void json_moved(struct json *j, const char *key, struct qpci_ctx *ctx, struct qpci_inventory *inv);
