/* The shell on arbitrary lines: the tokenizer, tok_quote() round trips,
 * completion, and shell_run() against the fake engine of the unit tests
 * (tests/unit/shell_fakes.h), with engine strings taken from the input too.
 *
 * Input: one byte of knobs, then command lines separated by '\n'; after a
 * NUL, NUL-separated strings the fake engine reports (server, ifname,
 * state detail, addresses, compression, then routes, made printable as the
 * real engine's are).
 *   bit 0  the fake's route/compress/reconnect/ping calls fail
 *   bit 1  a pending command (ping, stats --watch) is stopped (shell_stop:
 *          summary and done) rather than cancelled (shell_cancel: silence)
 *   bit 2  pings time out
 * Checks: done is called exactly once (never after a cancel), the status
 * is 0, 1 or 2, --json output that succeeds is one JSON object per line,
 * quoting a word and tokenizing it gives the word back, and completion
 * candidates are single lines (they cross the control socket as lines). */
#include <string.h>

#include "commands.h"
#include "fuzz.h"
#include "log.h"
#include "loop.h"
#include "shell.h"
#include "shell_fakes.h"
#include "tokenize.h"

static struct loop *loop;

static struct cap {
	char out[65536];
	size_t olen;
	bool truncated;
	int dones, status;
} cap;

static void cap_write(void *ctx, int stream, const char *text, size_t len)
{
	CHECK(ctx == &cap);
	CHECK(stream == 1 || stream == 2);
	CHECK(cap.dones == 0);
	if (stream != 1)
		return;
	if (len > sizeof(cap.out) - 1 - cap.olen) {
		cap.truncated = true;
		return;
	}
	memcpy(cap.out + cap.olen, text, len);
	cap.olen += len;
	cap.out[cap.olen] = '\0';
}

static void cap_done(void *ctx, int status)
{
	CHECK(ctx == &cap);
	cap.dones++;
	cap.status = status;
}

static const struct shell_out_ops cap_ops = { cap_write, cap_done };

static void on_candidate(void *ctx, const char *word)
{
	CHECK(ctx == &cap);
	CHECK(!strchr(word, '\n'));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	loop = loop_new();
	if (!loop) {
		fprintf(stderr, "fuzz_shell: no loop\n");
		exit(1);
	}
	return 0;
}

/* Every line of a --json answer is one JSON object. */
static void check_json(void)
{
	char *line = cap.out;

	while (*line) {
		char *nl = strchr(line, '\n'), keep;

		CHECK(nl);
		keep = nl[1];
		nl[1] = '\0';
		if (!json_one_object_line(line)) {
			fprintf(stderr, "not one JSON object: %s", line);
			CHECK(!"--json printed something that is not one JSON object");
		}
		nl[1] = keep;
		line = nl + 1;
	}
}

/* tok_quote() each word, join with spaces: tokenize() gives the words back. */
static void check_quote(const struct tokens *t)
{
	static struct tokens t2;
	static char line[4 * CTL_LINE_MAX];
	size_t len = 0;

	for (int i = 0; i < t->argc; i++) {
		char small[8];
		size_t need = tok_quote(t->argv[i], NULL, 0);

		CHECK(need == tok_quote(t->argv[i], small, sizeof(small)));
		CHECK(strnlen(small, sizeof(small)) == (need < sizeof(small) ? need : sizeof(small) - 1));
		if (len + need + 2 > sizeof(line))
			return;
		CHECK(tok_quote(t->argv[i], line + len, sizeof(line) - len) == need);
		CHECK(!strncmp(line + len, small, strlen(small)));
		len += need;
		line[len++] = ' ';
	}
	line[len] = '\0';
	if (len >= CTL_LINE_MAX)
		return;
	CHECK(tokenize(line, &t2, 0, NULL, 0) == 0);
	CHECK(t2.argc == t->argc);
	for (int i = 0; i < t->argc; i++)
		CHECK(!strcmp(t->argv[i], t2.argv[i]));
}

static void check_tokens(const char *line)
{
	static struct tokens t;
	char err[128];

	memset(err, 'X', sizeof(err));
	if (tokenize(line, &t, 0, err, sizeof(err)) < 0) {
		CHECK(strnlen(err, sizeof(err)) < sizeof(err) && err[0]);
		return;
	}
	CHECK(t.argc >= 0 && t.argc <= TOK_MAX_WORDS && !t.argv[t.argc]);
	for (int i = 0; i < t.argc; i++) {
		CHECK(t.argv[i] >= t.buf && t.argv[i] < t.buf + sizeof(t.buf));
		CHECK(strnlen(t.argv[i], (size_t)(t.buf + sizeof(t.buf) - t.argv[i])) <
		      (size_t)(t.buf + sizeof(t.buf) - t.argv[i]));
	}
	check_quote(&t);
	if (t.argc)
		shell_is_command(t.argv[0]);
	CHECK(tokenize(line, &t, TOK_PARTIAL, NULL, 0) == 0);
}

static bool wants_json(const char *line)
{
	static struct tokens t;

	if (tokenize(line, &t, 0, NULL, 0) < 0)
		return false;
	for (int i = 0; i < t.argc; i++)
		if (!strcmp(t.argv[i], "--json"))
			return true;
	return false;
}

static void run_line(const char *line, uint8_t knobs)
{
	int st;

	memset(&cap, 0, sizeof(cap));
	F.fail_next = knobs & 1;
	log_level = LOG_QUIET;
	st = shell_run(FAKE_ENG, line, &cap_ops, &cap);
	if (st == SHELL_PENDING && cap.dones) {
		/* shell.h: a waiting command that finished at once. */
		CHECK(cap.dones == 1 && !shell_pending(&cap));
		st = cap.status;
	} else if (st == SHELL_PENDING) {
		CHECK(shell_pending(&cap));
		if (knobs & 2) {
			shell_stop(&cap);
			CHECK(cap.dones == 1);
			st = cap.status;
		} else {
			shell_cancel(&cap);
			CHECK(cap.dones == 0);
			st = -1;
		}
	} else {
		CHECK(cap.dones == 1 && cap.status == st);
	}
	CHECK(!shell_pending(&cap));
	CHECK(st == -1 || st == 0 || st == 1 || st == 2);
	if (st == 0 && !cap.truncated && wants_json(line))
		check_json();
	for (int i = 0; i < FAKE_PINGS; i++)
		CHECK(!F.pings[i].fn);	/* nothing left in flight */
}

/* The NUL-separated engine strings after the commands. */
static void fake_strings(const char *s, const char *end)
{
	char *fields[] = { F.st.server, F.st.ifname, F.st.state_detail, F.st.local_addr,
			   F.st.peer_addr, F.st.local_addr6, F.st.peer_addr6, F.st.compression };
	size_t caps[] = { sizeof(F.st.server), sizeof(F.st.ifname), sizeof(F.st.state_detail),
			  sizeof(F.st.local_addr), sizeof(F.st.peer_addr), sizeof(F.st.local_addr6),
			  sizeof(F.st.peer_addr6), sizeof(F.st.compression) };
	size_t i = 0;

	F.nroutes = 0;
	for (; s < end; s += strlen(s) + 1, i++) {
		if (i < ARRAY_SIZE(fields))
			snprintf(fields[i], caps[i], "%s", s);
		else if (F.nroutes < ARRAY_SIZE(F.routes))
			snprintf(F.routes[F.nroutes++], ENGINE_CIDR_STRLEN, "%s", s);
	}
	/* The engine's routes are inet_prefix_str() output: printable. */
	for (i = 0; i < F.nroutes; i++)
		for (char *c = F.routes[i]; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *line, *end, *nul;
	uint8_t knobs;

	if (size < 1 || size > 64 * 1024)
		return 0;
	knobs = data[0];
	/* One copy, NUL-terminated at both ends of the engine strings. */
	text = malloc(size + 1);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	end = text + size - 1;

	fake_reset(loop);
	F.ping_rtt = knobs & 4 ? -1 : 0.5;
	nul = memchr(text, '\0', (size_t)(end - text));
	if (nul && nul < end)
		fake_strings(nul + 1, end);
	/* The whole text as one line first: '\n' is blank to the tokenizer. */
	check_tokens(text);

	for (line = text; line < end && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		check_tokens(line);
		shell_complete(FAKE_ENG, line, on_candidate, &cap);
		run_line(line, knobs);
		if (!nl)
			break;
		line = nl + 1;
	}
	free(text);
	return 0;
}
