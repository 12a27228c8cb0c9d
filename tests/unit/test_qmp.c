// SPDX-License-Identifier: MIT
/*
 * The QMP client against a fake QMP server (a thread in this test on a
 * unix or TCP socket) that speaks the protocol and then misbehaves:
 * events between replies, QEMU errors, malformed JSON, silence, a
 * connection closed mid-reply, a wrong id, an endless line, no greeting,
 * an HMP monitor instead of QMP. Also pmemsave reads through a server that
 * writes the requested file, and one that writes the wrong amount. Every
 * failure must be one clear error within the timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "check.h"

#define TIMEOUT_MS 300

typedef void (*serve_fn)(int fd);

struct server {
	int listen_fd;
	serve_fn serve;
	pthread_t thread;
	char address[128];
	char dir[64];
};

static void say(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* One request line from the client, parsed; NULL at EOF. */
static struct json_object *hear(int fd)
{
	char line[65536];
	size_t n = 0;

	while (n + 1 < sizeof(line)) {
		ssize_t r = recv(fd, line + n, 1, 0);

		if (r <= 0)
			return NULL;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	return json_tokener_parse(line);
}

static const char *field(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
	       json_object_get_string(v) : "";
}

/* Answer one request with `body` ({"return": ...} without the id). */
static void reply(int fd, struct json_object *req, const char *body)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "{%s, \"id\": \"%s\"}\r\n", body,
		 field(req, "id"));
	say(fd, buf);
}

static const char greeting[] =
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, "
	"\"major\": 7}, \"package\": \"test\"}, \"capabilities\": "
	"[\"oob\"]}}\r\n";

/* Greeting and capabilities; the request after them (or NULL). */
static struct json_object *handshake(int fd)
{
	struct json_object *req;

	say(fd, greeting);
	req = hear(fd);
	if (!req)
		return NULL;
	reply(fd, req, "\"return\": {}");
	json_object_put(req);
	return hear(fd);
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->listen_fd, NULL, NULL);

	if (fd >= 0) {
		s->serve(fd);
		close(fd);
	}
	return NULL;
}

static void start(struct server *s, serve_fn serve, bool tcp)
{
	memset(s, 0, sizeof(*s));
	s->serve = serve;
	if (tcp) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t len = sizeof(sa);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
		if (s->listen_fd < 0 ||
		    bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    getsockname(s->listen_fd, (struct sockaddr *)&sa, &len))
			exit(1);
		snprintf(s->address, sizeof(s->address), "tcp:127.0.0.1:%u",
			 ntohs(sa.sin_port));
	} else {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(s->dir, sizeof(s->dir), "/tmp/hw-qmp-test.XXXXXX");
		if (!mkdtemp(s->dir))
			exit(1);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/qmp.sock",
			 s->dir);
		s->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s->listen_fd < 0 ||
		    bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)))
			exit(1);
		snprintf(s->address, sizeof(s->address), "%s", sa.sun_path);
	}
	if (listen(s->listen_fd, 1) ||
	    pthread_create(&s->thread, NULL, server_main, s))
		exit(1);
}

static void stop(struct server *s)
{
	/* wake a server still waiting in accept() */
	shutdown(s->listen_fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	if (*s->dir) {
		char path[128];

		snprintf(path, sizeof(path), "%s/qmp.sock", s->dir);
		unlink(path);
		rmdir(s->dir);
	}
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- a well-behaved server -------------------------------------------- */

static void serve_good(int fd)
{
	struct json_object *req = handshake(fd);

	while (req) {
		const char *cmd = field(req, "execute");

		if (!strcmp(cmd, "query-status")) {
			say(fd, "{\"event\": \"RESUME\", \"timestamp\": {}}\r\n");
			say(fd, "\r\n");
			reply(fd, req, "\"return\": {\"status\": \"running\"}");
		} else if (!strcmp(cmd, "human-monitor-command")) {
			reply(fd, req, "\"return\": \"CR0=80050033\\r\\n\"");
		} else {
			reply(fd, req, "\"error\": {\"class\": \"CommandNotFound\", "
			      "\"desc\": \"The command nope has not been found\"}");
		}
		json_object_put(req);
		req = hear(fd);
	}
}

static void check_good(bool tcp)
{
	struct haywire_error err;
	struct haywire_qmp *q;
	struct json_object *ret;
	struct server s;
	char *text;

	start(&s, serve_good, tcp);
	q = haywire_qmp_open(s.address, TIMEOUT_MS, &err);
	CHECK(q != NULL);
	if (!q) {
		printf("#   open: %s\n", err.msg);
		stop(&s);
		return;
	}
	CHECK_STR(haywire_qmp_version(q), "7.2.22");
	CHECK_RC(haywire_qmp_execute(q, "query-status", NULL, &ret, &err),
		 HAYWIRE_OK, &err);
	CHECK_STR(json_object_get_string(json_object_object_get(ret,
								"status")),
		  "running");
	json_object_put(ret);
	CHECK_RC(haywire_qmp_hmp(q, "info registers", &text, &err),
		 HAYWIRE_OK, &err);
	CHECK_STR(text, "CR0=80050033\r\n");
	free(text);
	/* QEMU's own message, and the connection stays usable */
	CHECK_RC(haywire_qmp_execute(q, "nope", NULL, NULL, &err),
		 HAYWIRE_E_QMP, &err);
	CHECK_MSG(&err, "QEMU: The command nope has not been found");
	CHECK_RC(haywire_qmp_execute(q, "query-status", NULL, NULL, &err),
		 HAYWIRE_OK, &err);
	haywire_qmp_close(q);
	stop(&s);
}

static void test_good_unix(void)
{
	check_good(false);
}

static void test_good_tcp(void)
{
	check_good(true);
}

/* ---- servers that misbehave ------------------------------------------- */

static void serve_malformed(int fd)
{
	struct json_object *req = handshake(fd);

	if (req)
		say(fd, "{\"return\": {\"status\": \r\n");
	json_object_put(req);
	while ((req = hear(fd)))
		json_object_put(req);
}

static void serve_silent_after_caps(int fd)
{
	struct json_object *req = handshake(fd);
	char c;

	json_object_put(req);
	while (recv(fd, &c, 1, 0) > 0)
		;
}

static void serve_close_mid_reply(int fd)
{
	struct json_object *req = handshake(fd);

	if (req)
		say(fd, "{\"return\": {\"sta");
	json_object_put(req);
}

static void serve_wrong_id(int fd)
{
	struct json_object *req = handshake(fd);

	if (req)
		say(fd, "{\"return\": {}, \"id\": \"someone-else\"}\r\n");
	json_object_put(req);
	while ((req = hear(fd)))
		json_object_put(req);
}

static void serve_endless_line(int fd)
{
	struct json_object *req = handshake(fd);
	static char chunk[65536];
	unsigned int i;

	memset(chunk, ' ', sizeof(chunk));
	if (req)
		for (i = 0; i < (17u << 20) / sizeof(chunk); i++)
			if (send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) < 0)
				break;
	json_object_put(req);
}

static void serve_no_return(int fd)
{
	struct json_object *req = handshake(fd);

	if (req)
		reply(fd, req, "\"weird\": 1");
	json_object_put(req);
	while ((req = hear(fd)))
		json_object_put(req);
}

/* Run one command against a misbehaving server: one error, in time. */
static void check_bad(serve_fn serve, const char *want)
{
	struct haywire_error err;
	struct haywire_qmp *q;
	struct server s;
	uint64_t t0;

	start(&s, serve, false);
	q = haywire_qmp_open(s.address, TIMEOUT_MS, &err);
	CHECK(q != NULL);
	if (q) {
		t0 = ms_now();
		CHECK_RC(haywire_qmp_execute(q, "query-status", NULL, NULL,
					     &err), HAYWIRE_E_QMP, &err);
		CHECK_MSG(&err, want);
		/* within the timeout (plus slack for a loaded machine) */
		CHECK(ms_now() - t0 < TIMEOUT_MS + 2000);
		/* and the connection refuses to go on */
		CHECK_RC(haywire_qmp_execute(q, "query-status", NULL, NULL,
					     &err), HAYWIRE_E_QMP, &err);
		CHECK_MSG(&err, "unusable after an earlier failure");
		haywire_qmp_close(q);
	}
	stop(&s);
}

static void test_malformed(void)
{
	check_bad(serve_malformed, "malformed message");
}

static void test_timeout(void)
{
	check_bad(serve_silent_after_caps, "nothing from QEMU within 300 ms");
}

static void test_closed_mid_reply(void)
{
	check_bad(serve_close_mid_reply, "QEMU closed the connection");
}

static void test_wrong_id(void)
{
	check_bad(serve_wrong_id, "with id someone-else");
}

static void test_endless_line(void)
{
	check_bad(serve_endless_line, "without a line end");
}

static void test_no_return(void)
{
	check_bad(serve_no_return, "neither \"return\" nor \"error\"");
}

/* ---- failures while connecting ------------------------------------------ */

static void serve_nothing(int fd)
{
	char c;

	while (recv(fd, &c, 1, 0) > 0)
		;
}

static void serve_hmp(int fd)
{
	say(fd, "QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) ");
	serve_nothing(fd);
}

static void serve_json_not_qmp(int fd)
{
	say(fd, "{\"hello\": 1}\r\n");
	serve_nothing(fd);
}

static void check_open_fails(serve_fn serve, const char *want)
{
	struct haywire_error err;
	struct server s;

	start(&s, serve, false);
	CHECK(haywire_qmp_open(s.address, TIMEOUT_MS, &err) == NULL);
	CHECK(err.code == HAYWIRE_E_QMP);
	CHECK_MSG(&err, want);
	stop(&s);
}

static void test_open_failures(void)
{
	struct haywire_error err;

	check_open_fails(serve_nothing, "waiting for the QMP greeting");
	check_open_fails(serve_hmp, "QEMU 7.2.22 monitor");
	check_open_fails(serve_json_not_qmp, "not a QMP greeting");

	CHECK(haywire_qmp_open("/nonexistent/qmp.sock", TIMEOUT_MS, &err) == NULL);
	CHECK_MSG(&err, "cannot connect to the QMP socket /nonexistent/qmp.sock");
	CHECK(haywire_qmp_open("tcp:127.0.0.1", TIMEOUT_MS, &err) == NULL);
	CHECK_MSG(&err, "is not tcp:HOST:PORT");
	CHECK(haywire_qmp_open("tcp:127.0.0.1:1", TIMEOUT_MS, &err) == NULL);
	CHECK_MSG(&err, "cannot connect to QMP at 127.0.0.1:1");
	CHECK(haywire_qmp_open("", TIMEOUT_MS, &err) == NULL);
	CHECK(err.code == HAYWIRE_E_INVALID);
}

/* ---- pmemsave ------------------------------------------------------------ */

static int pmem_extra;	/* bytes the server writes beyond the request */

/* pmemsave: write bytes (GPA & 0xff) to the requested file. */
static void serve_pmemsave(int fd)
{
	struct json_object *req = handshake(fd);

	while (req) {
		struct json_object *args = json_object_object_get(req,
								  "arguments");
		int64_t gpa = json_object_get_int64(json_object_object_get(args,
									   "val"));
		int64_t size = json_object_get_int64(json_object_object_get(args,
									    "size"));
		FILE *f = fopen(field(args, "filename"), "wb");
		int64_t i;

		for (i = 0; f && i < size + pmem_extra; i++)
			fputc((int)((gpa + i) & 0xff), f);
		if (f)
			fclose(f);
		reply(fd, req, "\"return\": {}");
		json_object_put(req);
		req = hear(fd);
	}
}

static void test_pmemsave(void)
{
	struct haywire_qemu_ram ram = { .count = 2, .size = 3 << 20 };
	struct haywire_qmp_phys *p;
	struct haywire_error err;
	struct haywire_qmp *q;
	unsigned char buf[8192];
	struct server s;
	uint64_t reads, bytes;
	unsigned int i;
	bool ok = true;

	ram.runs[0] = (struct haywire_run){ 0, 2 << 20, 0 };
	ram.runs[1] = (struct haywire_run){ 4ULL << 30, 1 << 20, 2 << 20 };
	pmem_extra = 0;
	start(&s, serve_pmemsave, false);
	q = haywire_qmp_open(s.address, TIMEOUT_MS, &err);
	CHECK(q != NULL);
	p = q ? haywire_qmp_phys_open(q, &ram, &err) : NULL;
	CHECK(p != NULL);
	if (p) {
		CHECK_RC(haywire_qmp_phys_read(p, 0x1234, buf, sizeof(buf),
					       &err), HAYWIRE_OK, &err);
		for (i = 0; i < sizeof(buf); i++)
			ok &= buf[i] == ((0x1234 + i) & 0xff);
		CHECK(ok);
		/* a hole: refused before QEMU is asked */
		CHECK_RC(haywire_qmp_phys_read(p, (2 << 20) - 16, buf, 32,
					       &err), HAYWIRE_E_INVALID, &err);
		CHECK_MSG(&err, "is not in the guest's RAM");
		CHECK_RC(haywire_qmp_phys_read(p, 4ULL << 30, buf, 16, &err),
			 HAYWIRE_OK, &err);
		haywire_qmp_phys_stats(p, &reads, &bytes);
		CHECK_U64(reads, 2);
		CHECK_U64(bytes, sizeof(buf) + 16);
		/* a QEMU that writes the wrong amount */
		pmem_extra = 3;
		CHECK_RC(haywire_qmp_phys_read(p, 0, buf, 16, &err),
			 HAYWIRE_E_QMP, &err);
		CHECK_MSG(&err, "left 19 bytes");
	}
	haywire_qmp_phys_close(p);
	haywire_qmp_close(q);
	stop(&s);
}

int main(void)
{
	RUN(test_good_unix);
	RUN(test_good_tcp);
	RUN(test_malformed);
	RUN(test_timeout);
	RUN(test_closed_mid_reply);
	RUN(test_wrong_id);
	RUN(test_endless_line);
	RUN(test_no_return);
	RUN(test_open_failures);
	RUN(test_pmemsave);
	return check_done();
}
