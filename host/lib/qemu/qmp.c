// SPDX-License-Identifier: MIT
/*
 * A client for QEMU's QMP monitor over a unix or TCP socket: greeting,
 * capability negotiation, commands with a deadline, asynchronous events
 * skipped, QEMU's own error messages passed on.
 *
 * QMP messages are JSON objects, one per line ("\r\n"). Every message is
 * parsed with json-c and validated before anything in it is used. QEMU is
 * untrusted input like the guest: a line longer than QMP_MAX_LINE, a
 * reply that is not an object, or one without "return" or "error" ends the
 * command with an error, and so does silence past the deadline. After a
 * timeout or a malformed reply the connection is unusable (a late reply
 * could be mistaken for the next command's): later commands fail at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "qemu.h"

#define QMP_MAX_LINE	(16 * MIB)	/* info mtree -f of a big machine */
#define QMP_MAX_EVENTS	100000		/* skipped per command, then give up */

struct haywire_qmp {
	int fd;
	unsigned int timeout_ms;
	char *buf;		/* received bytes not yet consumed */
	size_t len, cap;
	uint64_t next_id;
	bool broken;		/* a timeout or protocol error happened */
	char broken_why[160];
	char address[128];	/* for messages */
	char version[32];	/* QEMU's, from the greeting */
};

static uint64_t deadline_after(unsigned int ms)
{
	return hwi_now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ULL;
}

/* Milliseconds left until the deadline, for poll(); 0 when it passed. */
static int ms_left(uint64_t deadline)
{
	uint64_t now = hwi_now_ns(CLOCK_MONOTONIC);

	if (now >= deadline)
		return 0;
	return (int)((deadline - now + 999999) / 1000000);
}

static int qmp_broken(struct haywire_qmp *q, struct haywire_error *err,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fail, and remember that the connection cannot be used any more. */
static int qmp_broken(struct haywire_qmp *q, struct haywire_error *err,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->broken_why, sizeof(q->broken_why), fmt, ap);
	va_end(ap);
	q->broken = true;
	return hwi_fail(err, HAYWIRE_E_QMP, "QMP %s: %s", q->address,
			q->broken_why);
}

static int wait_fd(struct haywire_qmp *q, short events, uint64_t deadline,
		   const char *what, struct haywire_error *err)
{
	struct pollfd p = { .fd = q->fd, .events = events };
	int rc;

	for (;;) {
		rc = poll(&p, 1, ms_left(deadline));
		if (rc > 0)
			return 0;
		if (rc == 0)
			return qmp_broken(q, err,
					  "nothing from QEMU within %u ms while waiting for %s (is QEMU stopped, or another client connected to this monitor?)",
					  q->timeout_ms, what);
		if (errno != EINTR)
			return qmp_broken(q, err, "poll: %s", strerror(errno));
	}
}

static int send_all(struct haywire_qmp *q, const char *data, size_t len,
		    uint64_t deadline, struct haywire_error *err)
{
	while (len) {
		ssize_t n = send(q->fd, data, len, MSG_NOSIGNAL);

		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(q, POLLOUT, deadline, "room to send", err))
				return HAYWIRE_E_QMP;
			continue;
		}
		return qmp_broken(q, err, "cannot send: %s (did QEMU exit?)",
				  n < 0 ? strerror(errno) : "connection closed");
	}
	return 0;
}

/*
 * The next message as a JSON object (*msg, to put). Lines that are empty
 * are skipped; anything else that is not a JSON object is an error.
 */
static int read_message(struct haywire_qmp *q, uint64_t deadline,
			const char *what, struct json_object **msg,
			struct haywire_error *err)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
		ssize_t n;

		if (nl) {
			size_t line = (size_t)(nl - q->buf) + 1;
			struct json_tokener *tok;
			enum json_tokener_error jerr;
			struct json_object *obj;
			size_t text = line;

			while (text && (q->buf[text - 1] == '\n' ||
					q->buf[text - 1] == '\r'))
				text--;
			if (!text) {
				memmove(q->buf, q->buf + line, q->len - line);
				q->len -= line;
				continue;
			}
			tok = json_tokener_new();
			if (!tok)
				return hwi_fail(err, HAYWIRE_E_NOMEM,
						"out of memory");
			obj = json_tokener_parse_ex(tok, q->buf, (int)text);
			jerr = json_tokener_get_error(tok);
			/* The whole line must be one value. */
			if (obj && jerr == json_tokener_success &&
			    json_tokener_get_parse_end(tok) != text)
				jerr = json_tokener_error_parse_unexpected;
			json_tokener_free(tok);
			if (jerr != json_tokener_success ||
			    !json_object_is_type(obj, json_type_object)) {
				char start[48];
				size_t i, shown = text < 40 ? text : 40;

				for (i = 0; i < shown; i++)
					start[i] = (q->buf[i] >= 0x20 &&
						    q->buf[i] < 0x7f) ?
						   q->buf[i] : '?';
				start[shown] = '\0';
				json_object_put(obj);
				return qmp_broken(q, err,
						  "malformed message (%s) while waiting for %s: '%s%s'",
						  jerr == json_tokener_continue ?
						  "incomplete JSON" :
						  jerr != json_tokener_success ?
						  json_tokener_error_desc(jerr) :
						  "not a JSON object", what, start,
						  text > shown ? "..." : "");
			}
			memmove(q->buf, q->buf + line, q->len - line);
			q->len -= line;
			*msg = obj;
			return 0;
		}
		if (q->len >= QMP_MAX_LINE)
			return qmp_broken(q, err,
					  "a reply longer than %llu MiB without a line end",
					  (unsigned long long)(QMP_MAX_LINE / MIB));
		if (q->cap - q->len < 65536) {
			size_t cap = q->cap ? q->cap * 2 : 65536;
			char *p;

			if (cap > QMP_MAX_LINE + 65536)
				cap = QMP_MAX_LINE + 65536;
			p = realloc(q->buf, cap);
			if (!p)
				return hwi_fail(err, HAYWIRE_E_NOMEM,
						"out of memory");
			q->buf = p;
			q->cap = cap;
		}
		n = recv(q->fd, q->buf + q->len, q->cap - q->len, 0);
		if (n > 0) {
			q->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return qmp_broken(q, err,
					  "QEMU closed the connection while we waited for %s (did QEMU exit?)",
					  what);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return qmp_broken(q, err, "cannot receive: %s (did QEMU exit?)",
					  strerror(errno));
		if (wait_fd(q, POLLIN, deadline, what, err))
			return HAYWIRE_E_QMP;
	}
}

static int connect_unix(struct haywire_qmp *q, const char *path,
			struct haywire_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"QMP socket path is longer than %zu bytes: %s",
				sizeof(sa.sun_path) - 1, path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (q->fd < 0)
		return hwi_fail(err, HAYWIRE_E_QMP, "socket: %s",
				strerror(errno));
	if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	if (errno == EAGAIN)	/* backlog full: another client is on */
		return hwi_fail(err, HAYWIRE_E_QMP,
				"QMP socket %s does not accept connections right now (another client?)",
				path);
	return hwi_fail(err, HAYWIRE_E_QMP,
			"cannot connect to the QMP socket %s: %s%s", path,
			strerror(errno),
			errno == ENOENT || errno == ECONNREFUSED ?
			" (is QEMU running with -qmp unix:PATH,server=on?)" :
			"");
}

static int connect_tcp(struct haywire_qmp *q, const char *hostport,
		       uint64_t deadline, struct haywire_error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char host[256];
	const char *colon = strrchr(hostport, ':');
	size_t hlen;
	int rc, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!colon || colon == hostport || !colon[1] ||
	    (size_t)(colon - hostport) >= sizeof(host))
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"QMP address 'tcp:%s' is not tcp:HOST:PORT",
				hostport);
	hlen = (size_t)(colon - hostport);
	memcpy(host, hostport, hlen);
	host[hlen] = '\0';
	/* [::1]:4444 */
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc)
		return hwi_fail(err, HAYWIRE_E_QMP,
				"cannot resolve QMP address %s: %s", hostport,
				gai_strerror(rc));
	rc = HAYWIRE_E_QMP;
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd p;

		q->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
			       SOCK_NONBLOCK, ai->ai_protocol);
		if (q->fd < 0)
			continue;
		if (connect(q->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			rc = 0;
			break;
		}
		if (errno == EINPROGRESS) {
			p.fd = q->fd;
			p.events = POLLOUT;
			if (poll(&p, 1, ms_left(deadline)) == 1 &&
			    !getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &soerr,
					&sl) && !soerr) {
				rc = 0;
				break;
			}
			if (!soerr)
				soerr = ETIMEDOUT;
		} else {
			soerr = errno;
		}
		close(q->fd);
		q->fd = -1;
	}
	freeaddrinfo(res);
	if (rc)
		return hwi_fail(err, HAYWIRE_E_QMP,
				"cannot connect to QMP at %s: %s%s", hostport,
				strerror(soerr ? soerr : ECONNREFUSED),
				" (is QEMU running with -qmp tcp:HOST:PORT,server=on?)");
	return 0;
}

static const char *string_member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t int_member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* {"QMP": {"version": {"qemu": {"major": ..}, ..}, "capabilities": []}} */
static int check_greeting(struct haywire_qmp *q, struct json_object *msg,
			  struct haywire_error *err)
{
	struct json_object *qmp, *version, *qemu;

	if (!json_object_object_get_ex(msg, "QMP", &qmp) ||
	    !json_object_is_type(qmp, json_type_object))
		return qmp_broken(q, err,
				  "the server's first message is not a QMP greeting: is this a QMP socket (-qmp), not an HMP one (-monitor)?");
	if (json_object_object_get_ex(qmp, "version", &version) &&
	    json_object_object_get_ex(version, "qemu", &qemu) &&
	    int_member(qemu, "major") >= 0)
		snprintf(q->version, sizeof(q->version), "%lld.%lld.%lld",
			 (long long)int_member(qemu, "major"),
			 (long long)int_member(qemu, "minor"),
			 (long long)int_member(qemu, "micro"));
	else
		snprintf(q->version, sizeof(q->version), "unknown");
	return 0;
}

struct haywire_qmp *haywire_qmp_open(const char *address,
				     unsigned int timeout_ms,
				     struct haywire_error *err)
{
	struct haywire_qmp *q;
	struct json_object *msg = NULL;
	uint64_t deadline;
	int rc;

	if (!address || !*address) {
		hwi_fail(err, HAYWIRE_E_INVALID, "no QMP socket given");
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		return NULL;
	}
	q->fd = -1;
	q->timeout_ms = timeout_ms ? timeout_ms : HAYWIRE_QMP_TIMEOUT_MS;
	snprintf(q->address, sizeof(q->address), "%s", address);
	deadline = deadline_after(q->timeout_ms);
	if (!strncmp(address, "tcp:", 4))
		rc = connect_tcp(q, address + 4, deadline, err);
	else
		rc = connect_unix(q, strncmp(address, "unix:", 5) ? address :
				  address + 5, err);
	if (!rc)
		rc = read_message(q, deadline, "the QMP greeting", &msg, err);
	if (!rc)
		rc = check_greeting(q, msg, err);
	json_object_put(msg);
	if (!rc)
		rc = haywire_qmp_execute(q, "qmp_capabilities", NULL, NULL,
					 err);
	if (rc) {
		haywire_qmp_close(q);
		return NULL;
	}
	return q;
}

void haywire_qmp_close(struct haywire_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	free(q);
}

const char *haywire_qmp_version(const struct haywire_qmp *q)
{
	return q->version;
}

/* QEMU's error object: {"class": "GenericError", "desc": "..."} */
static int qemu_error(struct haywire_qmp *q, const char *command,
		      struct json_object *error, struct haywire_error *err)
{
	const char *desc = json_object_is_type(error, json_type_object) ?
			   string_member(error, "desc") : NULL;

	if (!desc)
		return qmp_broken(q, err,
				  "malformed error reply to '%s' (no \"desc\")",
				  command);
	return hwi_fail(err, HAYWIRE_E_QMP, "QEMU: %s (QMP command '%s')",
			desc, command);
}

int haywire_qmp_execute(struct haywire_qmp *q, const char *command,
			struct json_object *args, struct json_object **ret,
			struct haywire_error *err)
{
	struct json_object *req, *msg = NULL, *v;
	uint64_t deadline = deadline_after(q->timeout_ms);
	char id[32], what[96];
	const char *text;
	unsigned int skipped = 0;
	int rc;

	if (ret)
		*ret = NULL;
	if (q->broken)
		return hwi_fail(err, HAYWIRE_E_QMP,
				"QMP %s is unusable after an earlier failure: %s",
				q->address, q->broken_why);
	snprintf(id, sizeof(id), "hw-%llu", (unsigned long long)++q->next_id);
	req = json_object_new_object();
	if (!req)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	json_object_object_add(req, "execute",
			       json_object_new_string(command));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	json_object_object_add(req, "id", json_object_new_string(id));
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	rc = send_all(q, text, strlen(text), deadline, err);
	if (!rc)
		rc = send_all(q, "\n", 1, deadline, err);
	json_object_put(req);
	if (rc)
		return rc;

	snprintf(what, sizeof(what), "the reply to '%s'", command);
	for (;;) {
		const char *got;

		rc = read_message(q, deadline, what, &msg, err);
		if (rc)
			return rc;
		if (json_object_object_get_ex(msg, "event", NULL)) {
			json_object_put(msg);
			if (++skipped > QMP_MAX_EVENTS)
				return qmp_broken(q, err,
						  "more than %d events and no reply to '%s'",
						  QMP_MAX_EVENTS, command);
			continue;
		}
		got = string_member(msg, "id");
		if (!got || strcmp(got, id)) {
			rc = qmp_broken(q, err,
					"a reply to '%s' with id %.40s, expected %s",
					command, got ? got : "(none)", id);
			json_object_put(msg);
			return rc;
		}
		break;
	}
	if (json_object_object_get_ex(msg, "error", &v)) {
		rc = qemu_error(q, command, v, err);
	} else if (json_object_object_get_ex(msg, "return", &v)) {
		if (ret)
			*ret = json_object_get(v);
		rc = 0;
	} else {
		rc = qmp_broken(q, err,
				"the reply to '%s' has neither \"return\" nor \"error\"",
				command);
	}
	json_object_put(msg);
	return rc;
}

int haywire_qmp_hmp(struct haywire_qmp *q, const char *command_line,
		    char **out, struct haywire_error *err)
{
	struct json_object *args, *ret = NULL;
	int rc;

	*out = NULL;
	args = json_object_new_object();
	if (!args)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	json_object_object_add(args, "command-line",
			       json_object_new_string(command_line));
	rc = haywire_qmp_execute(q, "human-monitor-command", args, &ret, err);
	json_object_put(args);
	if (rc)
		return rc;
	if (!json_object_is_type(ret, json_type_string)) {
		json_object_put(ret);
		return qmp_broken(q, err,
				  "the reply to HMP '%s' is not a string",
				  command_line);
	}
	*out = strdup(json_object_get_string(ret));
	json_object_put(ret);
	if (!*out)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	return 0;
}

const char *hwi_qmp_address(const struct haywire_qmp *q)
{
	return q->address;
}
