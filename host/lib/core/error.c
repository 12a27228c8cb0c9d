// SPDX-License-Identifier: MIT
/* Error codes and one-line messages. */
#include <stdio.h>
#include <string.h>

#include "core.h"

const char *haywire_code_name(enum haywire_code code)
{
	switch (code) {
	case HAYWIRE_OK: return "ok";
	case HAYWIRE_E_FILE: return "file";
	case HAYWIRE_E_NOT_RAM: return "not-ram";
	case HAYWIRE_E_NO_BEACON: return "no-beacon";
	case HAYWIRE_E_GONE: return "gone";
	case HAYWIRE_E_VERSION: return "version";
	case HAYWIRE_E_BUSY: return "busy";
	case HAYWIRE_E_CORRUPT: return "corrupt";
	case HAYWIRE_E_NOT_FOUND: return "not-found";
	case HAYWIRE_E_IO: return "io";
	case HAYWIRE_E_NOMEM: return "nomem";
	case HAYWIRE_E_INVALID: return "invalid";
	case HAYWIRE_E_UNMAPPED: return "unmapped";
	case HAYWIRE_E_REFUSED: return "refused";
	case HAYWIRE_E_FULL: return "full";
	case HAYWIRE_E_TIMEOUT: return "timeout";
	case HAYWIRE_E_QMP: return "qmp";
	case HAYWIRE_E_MISMATCH: return "mismatch";
	case HAYWIRE_E_RAM_MAP: return "ram-map";
	case HAYWIRE_E_AMBIGUOUS: return "ambiguous";
	}
	return "unknown";
}

int hwi_fail(struct haywire_error *err, enum haywire_code code,
	     const char *fmt, ...)
{
	va_list ap;
	char *nl;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* Messages are one line, whatever a formatted value contained. */
	while ((nl = strpbrk(err->msg, "\r\n")))
		*nl = ' ';
	return code;
}

void hwi_clear(struct haywire_error *err)
{
	if (err) {
		err->code = HAYWIRE_OK;
		err->msg[0] = '\0';
	}
}
