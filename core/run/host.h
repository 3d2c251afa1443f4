/*
 * host.h - the services sluiced offers plugins (the sluice_host table).
 *
 * The table is filled once, by main.c, and handed to the loader
 * (loader_set_host), which gives every plugin its own copy.
 */
#ifndef SLUICE_HOST_H
#define SLUICE_HOST_H

#include <sluice/plugin.h>

/* The host services table of this version of the ABI. */
void host_fill(sluice_host *h);

#endif
