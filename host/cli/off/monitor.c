// SPDX-License-Identifier: MIT
/* top and exporter in a build without them (make MONITOR=0). */
#include <stdio.h>

#include "../cli.h"

static int not_built(const char *what, struct haywire_error *err)
{
	err->code = HAYWIRE_E_INVALID;
	snprintf(err->msg, sizeof(err->msg),
		 "this haywire was built without %s (make MONITOR=0, the default with AGENTLESS=0; build with MONITOR=1)", what);
	return err->code;
}

int cmd_top(struct cli *cli, char **argv, struct haywire_error *err)
{
	(void)cli; (void)argv;
	return not_built("top (ncurses)", err);
}

int cmd_exporter(struct cli *cli, char **argv, struct haywire_error *err)
{
	(void)cli; (void)argv;
	return not_built("exporter (libmicrohttpd)", err);
}
