/* The control socket's request reader on arbitrary bytes from a client.
 *
 * The reader (on_client, client_process, handle) is static in control.c and
 * reached only through a listening socket, so this file includes control.c
 * itself, as wireguard-tools' fuzzers include the file under test, and run.sh
 * links it without control.o.  One end of a socketpair is the client slot
 * the way on_accept() fills it; the harness writes the input into the other
 * end in pieces, calls on_client() as the loop would, and reads the answers.
 * The shell behind it runs on the fake engine of the unit tests.
 *
 * Input: one byte of knobs, then the bytes the client sends.
 *   bits 0-2  bytes written per round (1 .. everything)
 *   bit 3     the client shuts its side down after the last byte
 *   bit 4     the fake engine's calls fail
 *   bit 5     a pending command (ping, stats --watch) is stopped with
 *             shell_stop() so the requests behind it run; else the client
 *             is dropped with it pending
 * Checks: every answer line is "o ", "e " or "x <status>"; no more "x"
 * lines than requests; the client's buffers stay in bounds; nothing is left
 * pending or in flight once the client is gone. */
#include "../../src/control.c"

#include "fuzz.h"
#include "shell_fakes.h"

static struct loop *loop;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = LOG_QUIET;
	loop = loop_new();
	if (!loop) {
		fprintf(stderr, "fuzz_control: no loop\n");
		exit(1);
	}
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		C.clients[i].fd = -1;
	C.eng = FAKE_ENG;
	C.loop = loop;
	return 0;
}

/* The answers so far, checked line by line as they complete. */
static struct answers {
	char buf[CTL_OUT_MAX + CTL_LINE_MAX];
	size_t len;
	unsigned exits;
} ans;

static void check_line(const char *line, size_t n)
{
	CHECK(n >= 2 && line[1] == ' ');
	CHECK(line[0] == 'o' || line[0] == 'e' || line[0] == 'x');
	if (line[0] == 'x') {
		CHECK(n == 3 && line[2] >= '0' && line[2] <= '2');
		ans.exits++;
	}
}

static void read_answers(int fd)
{
	for (;;) {
		ssize_t n = read(fd, ans.buf + ans.len, sizeof(ans.buf) - ans.len);
		char *nl;

		if (n <= 0)
			break;
		ans.len += (size_t)n;
		while ((nl = memchr(ans.buf, '\n', ans.len))) {
			size_t used = (size_t)(nl - ans.buf) + 1;

			check_line(ans.buf, used - 1);
			memmove(ans.buf, ans.buf + used, ans.len - used);
			ans.len -= used;
		}
		CHECK(ans.len < sizeof(ans.buf));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 1, 3, 17, 100, 1000, 4095, 4097, SIZE_MAX };
	struct client *cl = &C.clients[0];
	size_t pos = 0, chunk, requests = 0, tail = 0;
	bool shut = false;
	uint8_t knobs;
	int sv[2];

	if (size < 1)
		return 0;
	knobs = data[0];
	data++;
	size--;
	chunk = chunks[knobs & 7];
	for (size_t i = 0; i < size; i++)
		requests += data[i] == '\n';

	fake_reset(loop);
	ans.len = 0;
	ans.exits = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	memset(cl, 0, offsetof(struct client, in));
	cl->fd = sv[0];
	cl->last = now_ms();
	CHECK(loop_watch(loop, sv[0], POLLIN, on_client, cl) == 0);

	/* Each round sends a piece; a few more let the reader wind down. */
	while (cl->fd >= 0 && (pos < size || tail++ < 4)) {
		F.fail_next = knobs & 16;
		log_level = LOG_QUIET;
		if (pos < size) {
			size_t n = size - pos < chunk ? size - pos : chunk;
			ssize_t w = write(sv[1], data + pos, n);

			if (w > 0)
				pos += (size_t)w;
		} else if ((knobs & 8) && !shut) {
			shutdown(sv[1], SHUT_WR);
			shut = true;
		}
		/* What poll() would report for the events client_events() asks. */
		struct pollfd pfd = { .fd = sv[0], .events = 0 };

		if (!cl->eof && (cl->closing || cl->inlen < sizeof(cl->in)))
			pfd.events |= POLLIN;
		if (cl->outlen)
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, 0) > 0)
			on_client(loop, sv[0], pfd.revents, cl);
		CHECK(cl->fd < 0 || (cl->inlen <= sizeof(cl->in) && cl->outlen <= cl->outcap &&
				     cl->outcap <= CTL_OUT_MAX));
		read_answers(sv[1]);
		if (cl->fd >= 0 && cl->busy) {
			CHECK(shell_pending(&cl->drv));
			if (!(knobs & 32))
				break;
			shell_stop(&cl->drv);
			read_answers(sv[1]);
		}
	}
	if (cl->fd >= 0)
		client_drop(cl);
	read_answers(sv[1]);
	close(sv[1]);
	CHECK(!shell_pending(&cl->drv));
	/* One line too long earns an "x 2" without a newline of its own. */
	CHECK(ans.exits <= requests + 1);
	for (int i = 0; i < FAKE_PINGS; i++)
		CHECK(!F.pings[i].fn);
	return 0;
}
