/* The command table, and everything it drives: dispatch, argument checking,
 * help, completion and the man page's COMMANDS section.  In the manner of
 * bluez' shell: the argument spec ("<CIDR>", "[COUNT]", "[--json]",
 * "<auto|off|LEVEL>") is both checked and printed, and its lowercase
 * alternatives complete when a command has no completer of its own. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tokenize.h"

struct command {
	const char *name;	/* one word, or two for a group: "route add" */
	const char *args;
	const char *help;	/* one line, for `help` */
	const char *more;	/* for `help CMD` and the man page, or NULL */
	int (*fn)(struct call *c);
	void (*complete)(struct engine *eng, int argi, struct cands *cd);
};

static int cmd_help(struct call *c);
static void complete_help(struct engine *eng, int argi, struct cands *cd);
static void complete_route_del(struct engine *eng, int argi, struct cands *cd);
static void complete_log(struct engine *eng, int argi, struct cands *cd);
static void complete_reconnect(struct engine *eng, int argi, struct cands *cd);

static const struct command commands[] = {
	{ "status", "[--json]", "Show state, server, interface, addresses, mode and uptime",
	  "The JSON object has state, server, ifname, local_addr, peer_addr, local_addr6, "
	  "peer_addr6, mode, compression, uptime_s, reconnects, kill_switch (true while "
	  "--kill-switch's table is in place), dns_guard (true while DNS outside the tunnel is "
	  "blocked), routes, uid_routes ({cidr, uid} of route add --uid), server_stack (tun, "
	  "or userspace when the server's helper runs its user-space network stack) and servers (each with host, state and error: "
	  "standby, connecting, up, failed or busy).  Server is the one in use, or being tried.  "
	  "connections and connections_up count --connections' SSH connections; connections_note "
	  "says why only one runs when the server cannot take more (\"\" otherwise).",
	  cmd_status, NULL },
	{ "stats", "[--json] [--watch]", "Show packet and byte counters, rates and round trip",
	  "The queue delay line is the fair queue toward the server: how long its packets "
	  "wait now and at most, how many flows have packets queued, how many it dropped "
	  "(JSON: fq_delay_ms, fq_delay_peak_ms, fq_flows, fq_drops).  The rx window line "
	  "is the channel credit the client keeps open for the server: twice the receive rate "
	  "times the idle round trip, between 256 KiB and 16 MiB (JSON: rx_window, in bytes; "
	  "0 with --openssh).  The offload line "
	  "says what the interface hands over as GSO super-packets and unchecksummed packets "
	  "(csum, tcp4, tcp6, udp; off when the server takes none) and counts super-packets "
	  "sent and received whole, cut here for a server without offloads, and refused for "
	  "a bad virtio-net header (JSON: offload, gso_tx_frames, gso_rx_frames, gso_split, "
	  "gso_bad).  With --connections N a line per connection: its state, whether its TUN "
	  "queue is attached, its -b, the address it leaves from, its bytes, round trip and "
	  "reconnects (JSON: connections, a list of {index, state, bind, local, tx_bytes, "
	  "rx_bytes, tx_packets, rx_packets, rtt_ms, reconnects, queue}).  With --watch, print one line (one JSON object with --json) a second until a key "
	  "or Ctrl-C is pressed; through sshtun ctl, until the client goes away.",
	  cmd_stats, NULL },
	{ "route add", "<CIDR> [--uid UID]", "Route a prefix through the tunnel",
	  "CIDR is an IPv4 or IPv6 prefix, a bare address, or default for all traffic. A "
	  "route that would capture the SSH server's own address is refused. With --uid, "
	  "only that user's traffic to the prefix takes the tunnel (a policy rule to a "
	  "table of this instance's own); a user's instance may name its own uid only.",
	  cmd_route_add, NULL },
	{ "route del", "<CIDR> [--uid UID]", "Remove a route or an exclude this instance added",
	  "An excluded prefix goes back to the routes that cover it (the tunnel's, in a "
	  "full tunnel). With --uid, that user's route.",
	  cmd_route_del, complete_route_del },
	{ "route list", "[--json]", "List the routes this instance added", NULL,
	  cmd_route_list, NULL },
	{ "route exclude", "<CIDR>", "Keep a prefix on the original path, out of the tunnel",
	  "Useful with a full tunnel (route add default): the prefix goes where the SSH "
	  "connection itself goes, and follows it to a new gateway when the tunnel "
	  "reconnects. Removed on exit or by route del.",
	  cmd_route_exclude, NULL },
	{ "dns", "[on|off] [--json]", "Show the server's DNS offer, or use it (on) or stop (off)",
	  "on routes the offered resolvers through the tunnel and applies them with "
	  "resolvectl, resolvconf or /etc/resolv.conf; off restores what was there.",
	  cmd_dns, NULL },
	{ "ping", "[COUNT] [--json]", "Measure the round trip through the tunnel's own channel",
	  "Sends COUNT pings (default 4, at most 3600), one a second, each waiting up to "
	  "2 s for its reply, then prints a summary.",
	  cmd_ping, NULL },
	{ "events", "[--json]", "Follow state changes, reconnects, route changes and counters",
	  "One line per event (one JSON object with --json: event is state, reconnect, "
	  "path, route, network, server, counters or lost), the current state first and the counters every "
	  "5 s, until a key or Ctrl-C is pressed; through sshtun ctl, until the client "
	  "goes away.",
	  cmd_events, NULL },
	{ "reconnect", "[HOST]", "Drop the SSH connection and bring it back; the interface stays",
	  "With HOST (one of the servers the client was started with), connect to that server "
	  "instead; the others follow in the list's order if it fails.",
	  cmd_reconnect, complete_reconnect },
	{ "compress", "<auto|off|LEVEL>", "Set compression: auto, off, or a zlib level 1 to 9",
	  NULL, cmd_compress, NULL },
	{ "log", "[LEVEL]", "Show or set the log level",
	  "LEVEL is one of error, warn, info, verbose, debug and debug2.",
	  cmd_log, complete_log },
	{ "help", "[COMMAND]", "List the commands, or describe one", NULL,
	  cmd_help, complete_help },
	{ "quit", "", "Tear down what was set up and exit (Ctrl-D at the prompt)", NULL,
	  cmd_quit, NULL },
};

/* --- output --- */

int call_open(struct call *c)
{
	c->obuf = NULL;
	c->olen = c->osent = 0;
	c->out = open_memstream(&c->obuf, &c->olen);
	return c->out ? 0 : -1;
}

void call_flush(struct call *c)
{
	if (!c->out || fflush(c->out) != 0)
		return;
	if (c->olen > c->osent)
		c->ops->write(c->ctx, 1, c->obuf + c->osent, c->olen - c->osent);
	c->osent = c->olen;
}

void call_close(struct call *c)
{
	if (!c->out)
		return;
	call_flush(c);
	fclose(c->out);
	free(c->obuf);
	c->out = NULL;
	c->obuf = NULL;
}

void say(struct call *c, int stream, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (stream == 1 && c->out) {
		vfprintf(c->out, fmt, ap);
		fputc('\n', c->out);
		va_end(ap);
		return;
	}
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;	/* truncated: still one whole line */
	line[n++] = '\n';
	call_flush(c);
	c->ops->write(c->ctx, stream, line, (size_t)n);
}

/* --- the argument spec --- */

struct spec_tok {
	const char *s;		/* the content, brackets stripped */
	size_t len;
	bool optional, flag;
};

static bool spec_next(const char **sp, struct spec_tok *t)
{
	const char *p = *sp, *end;

	while (*p == ' ')
		p++;
	if (!*p)
		return false;
	t->optional = *p == '[';
	if (*p == '<' || *p == '[') {
		end = strchr(p, t->optional ? ']' : '>');
		t->s = p + 1;
		t->len = (size_t)(end - p - 1);
		p = end + 1;
	} else {
		t->s = p;
		t->len = strcspn(p, " ");
		p += t->len;
	}
	t->flag = t->len > 2 && !strncmp(t->s, "--", 2);
	*sp = p;
	return true;
}

/* Next '|'-separated alternative of t, from *off on. */
static bool alt_next(const struct spec_tok *t, size_t *off, const char **a, size_t *alen)
{
	if (*off > t->len)
		return false;
	*a = t->s + *off;
	*alen = strcspn(*a, "|>]");
	if (*alen > t->len - *off)
		*alen = t->len - *off;
	*off += *alen + 1;
	return true;
}

/* An uppercase alternative (CIDR, LEVEL) names a value rather than being
 * one: it is not completed, and it means the handler checks the value. */
static bool is_meta(const char *a)
{
	return isupper((unsigned char)*a);
}

static bool word_eq(const char *a, size_t alen, const char *word)
{
	return strlen(word) == alen && !strncmp(a, word, alen);
}

/* -1: only literals and word is none of them; else 0. */
static int check_literal(const struct spec_tok *t, const char *word)
{
	size_t off = 0, alen;
	const char *a;

	while (alt_next(t, &off, &a, &alen))
		if (is_meta(a) || word_eq(a, alen, word))
			return 0;
	return -1;
}

static void usage(struct call *c, const struct command *cmd)
{
	say(c, 2, "usage: %s%s%s", cmd->name, *cmd->args ? " " : "", cmd->args);
}

/* Takes the flags out of argv (any position), checks them and the number
 * of the rest against the spec.  Returns 0, or 2 after saying why. */
static int check_args(struct call *c, const struct command *cmd, int argc, char **argv)
{
	struct spec_tok t;
	const char *sp = cmd->args;
	int npos = 0, min = 0, max = 0, i = 0;

	for (int k = 0; k < argc; k++) {
		bool known = false;

		if (strncmp(argv[k], "--", 2) || !argv[k][2]) {
			argv[npos++] = argv[k];
			continue;
		}
		bool takes = false;

		/* "[--uid UID]": a flag with a value, the word after it. */
		for (sp = cmd->args; spec_next(&sp, &t);) {
			size_t nlen = strcspn(t.s, " ");

			nlen = nlen < t.len ? nlen : t.len;
			if (t.flag && word_eq(t.s, nlen, argv[k])) {
				known = true;
				takes = nlen < t.len;
			}
		}
		if (!known) {
			say(c, 2, "unknown option `%s' for %s", argv[k], cmd->name);
			usage(c, cmd);
			return 2;
		}
		if (takes) {
			if (k + 1 == argc) {
				say(c, 2, "option `%s' needs a value", argv[k]);
				usage(c, cmd);
				return 2;
			}
			c->flag_value = argv[++k];
			continue;
		}
		c->json |= !strcmp(argv[k], "--json");
		c->watch |= !strcmp(argv[k], "--watch");
	}
	for (sp = cmd->args; spec_next(&sp, &t);) {
		if (t.flag)
			continue;
		if (i < npos && check_literal(&t, argv[i]) < 0) {
			say(c, 2, "bad value `%s' for %s", argv[i], cmd->name);
			usage(c, cmd);
			return 2;
		}
		i++;
		max++;
		min += !t.optional;
	}
	if (npos < min || npos > max) {
		usage(c, cmd);
		return 2;
	}
	c->argc = npos;
	c->argv = argv;
	argv[npos] = NULL;
	return 0;
}

/* --- finding a command --- */

static size_t first_len(const char *name)
{
	return strcspn(name, " ");
}

enum { FOUND, UNKNOWN, GROUP_ONLY, GROUP_UNKNOWN };

static int lookup(int argc, char **argv, const struct command **out, int *nwords)
{
	bool group = false;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const char *name = commands[i].name;
		size_t n = first_len(name);

		if (!word_eq(name, n, argv[0]))
			continue;
		if (!name[n]) {
			*out = &commands[i];
			*nwords = 1;
			return FOUND;
		}
		group = true;
		if (argc > 1 && !strcmp(name + n + 1, argv[1])) {
			*out = &commands[i];
			*nwords = 2;
			return FOUND;
		}
	}
	if (!group)
		return UNKNOWN;
	return argc > 1 ? GROUP_UNKNOWN : GROUP_ONLY;
}

/* The usage lines of every command whose first word is word. */
static void group_usage(struct call *c, const char *word)
{
	bool first = true;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *cmd = &commands[i];

		if (!word_eq(cmd->name, first_len(cmd->name), word))
			continue;
		say(c, 2, "%s%s%s%s", first ? "usage: " : "       ", cmd->name,
		    *cmd->args ? " " : "", cmd->args);
		first = false;
	}
}

static int dispatch(struct call *c, int argc, char **argv)
{
	const struct command *cmd = NULL;
	int nw = 0;

	switch (lookup(argc, argv, &cmd, &nw)) {
	case UNKNOWN:
		say(c, 2, "unknown command `%s' (try help)", argv[0]);
		return 2;
	case GROUP_UNKNOWN:
		say(c, 2, "unknown command `%s %s' (try help %s)", argv[0], argv[1], argv[0]);
		return 2;
	case GROUP_ONLY:
		group_usage(c, argv[0]);
		return 2;
	}
	c->name = cmd->name;
	if (check_args(c, cmd, argc - nw, argv + nw))
		return 2;
	return cmd->fn(c);
}

int shell_run(struct engine *eng, const char *line, const struct shell_out_ops *ops, void *ctx)
{
	static const char busy[] = "a command is still running\n";
	static const char nomem[] = "out of memory\n";
	struct call c = { .eng = eng, .ops = ops, .ctx = ctx };
	struct tokens t;
	char err[128];
	int status;

	if (shell_pending(ctx)) {
		ops->write(ctx, 2, busy, sizeof(busy) - 1);
		ops->done(ctx, 1);
		return 1;
	}
	if (call_open(&c) < 0) {
		ops->write(ctx, 2, nomem, sizeof(nomem) - 1);
		ops->done(ctx, 1);
		return 1;
	}
	if (tokenize(line, &t, 0, err, sizeof(err)) < 0) {
		say(&c, 2, "%s", err);
		status = 2;
	} else if (t.argc == 0) {
		status = 0;	/* an empty line or a comment */
	} else {
		status = dispatch(&c, t.argc, t.argv);
	}
	call_close(&c);
	if (status != SHELL_PENDING)
		ops->done(ctx, status);
	return status;
}

bool shell_is_command(const char *word)
{
	char *argv[] = { (char *)word, NULL };
	const struct command *cmd;
	int nw, r = lookup(1, argv, &cmd, &nw);

	return r == FOUND || r == GROUP_ONLY;
}

/* --- help --- */

/* Prints text wrapped at 72 columns, each line indented. */
static void say_wrapped(struct call *c, const char *indent, const char *text)
{
	while (*text) {
		size_t n = strlen(text), cut = n;

		if (n > 72 - strlen(indent)) {
			cut = 72 - strlen(indent);
			while (cut > 0 && text[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = strcspn(text, " ");
		}
		say(c, 1, "%s%.*s", indent, (int)cut, text);
		text += cut;
		while (*text == ' ')
			text++;
	}
}

static int cmd_help(struct call *c)
{
	int width = 0;
	bool found = false;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		int w = (int)(strlen(commands[i].name) + 1 + strlen(commands[i].args));

		width = w > width ? w : width;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *cmd = &commands[i];
		char usage_str[128];

		snprintf(usage_str, sizeof(usage_str), "%s%s%s", cmd->name, *cmd->args ? " " : "",
			 cmd->args);
		if (c->argc == 0) {
			say(c, 1, "  %-*s  %s", width, usage_str, cmd->help);
			continue;
		}
		if (!word_eq(cmd->name, first_len(cmd->name), c->argv[0]))
			continue;
		say(c, 1, "%susage: %s", found ? "\n" : "", usage_str);
		say_wrapped(c, "  ", cmd->help);
		if (cmd->more)
			say_wrapped(c, "  ", cmd->more);
		found = true;
	}
	if (c->argc && !found) {
		say(c, 2, "unknown command `%s' (try help)", c->argv[0]);
		return 2;
	}
	return 0;
}

/* --- completion --- */

void cand(struct cands *cd, const char *word)
{
	if (!strncmp(word, cd->prefix, strlen(cd->prefix)))
		cd->fn(cd->ctx, word);
}

/* Each first word once (route is three commands). */
static void complete_first(struct cands *cd)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		char word[32];
		size_t n = first_len(commands[i].name);
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen |= first_len(commands[j].name) == n &&
				!strncmp(commands[j].name, commands[i].name, n);
		if (seen)
			continue;
		snprintf(word, sizeof(word), "%.*s", (int)n, commands[i].name);
		cand(cd, word);
	}
}

static void complete_second(const char *first, struct cands *cd)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const char *name = commands[i].name;
		size_t n = first_len(name);

		if (name[n] && word_eq(name, n, first))
			cand(cd, name + n + 1);
	}
}

static void complete_help(struct engine *eng, int argi, struct cands *cd)
{
	if (argi == 0)
		complete_first(cd);
}

static void complete_route_del(struct engine *eng, int argi, struct cands *cd)
{
	if (argi == 0)
		complete_routes(eng, cd);
}

static void complete_reconnect(struct engine *eng, int argi, struct cands *cd)
{
	if (argi == 0)
		complete_servers(eng, cd);
}

static void complete_log(struct engine *eng, int argi, struct cands *cd)
{
	if (argi == 0)
		complete_levels(eng, cd);
}

/* From the spec: flags, and the literal alternatives at position argi. */
static void complete_spec(const struct command *cmd, int argi, bool flags, struct cands *cd)
{
	const char *sp = cmd->args;
	struct spec_tok t;
	int i = 0;

	while (spec_next(&sp, &t)) {
		char word[32];
		size_t off = 0, alen;
		const char *a;

		if (t.flag ? !flags : i++ != argi)
			continue;
		if (t.flag && strcspn(t.s, " ") < t.len)
			continue;	/* "--uid UID": typed, not offered */
		while (alt_next(&t, &off, &a, &alen)) {
			if (is_meta(a))
				continue;
			snprintf(word, sizeof(word), "%.*s", (int)alen, a);
			cand(cd, word);
		}
	}
}

void shell_complete(struct engine *eng, const char *line, shell_complete_fn fn, void *ctx)
{
	const struct command *cmd = NULL;
	struct cands cd = { "", fn, ctx };
	struct tokens t;
	int nprev, nw = 0, argi = 0;

	if (tokenize(line, &t, TOK_PARTIAL, NULL, 0) < 0)
		return;
	nprev = t.open_word ? t.argc - 1 : t.argc;
	if (t.open_word)
		cd.prefix = t.argv[t.argc - 1];
	if (nprev == 0) {
		complete_first(&cd);
		return;
	}
	switch (lookup(nprev, t.argv, &cmd, &nw)) {
	case GROUP_ONLY:
		complete_second(t.argv[0], &cd);
		return;
	case FOUND:
		break;
	default:
		return;
	}
	for (int k = nw; k < nprev; k++)
		argi += strncmp(t.argv[k], "--", 2) != 0;
	if (cd.prefix[0] == '-') {
		complete_spec(cmd, -1, true, &cd);
		return;
	}
	if (cmd->complete)
		cmd->complete(eng, argi, &cd);
	complete_spec(cmd, argi, !cd.prefix[0], &cd);
}

/* --- the man page --- */

/* A piece of text as mdoc: each sentence on a line of its own, lines
 * under 80 columns, no line starting with a dot, backslashes doubled. */
static void mdoc_text(FILE *f, const char *text)
{
	size_t col = 0;

	while (*text) {
		size_t n = strcspn(text, " ");

		if (col && col + 1 + n > 72) {
			fputc('\n', f);
			col = 0;
		} else if (col) {
			fputc(' ', f);
			col++;
		}
		if (!col && (*text == '.' || *text == '\''))
			fputs("\\&", f);
		for (size_t i = 0; i < n; i++) {
			if (text[i] == '\\')
				fputc('\\', f);
			fputc(text[i], f);
		}
		col += n;
		if (n && text[n - 1] == '.' && text[n] == ' ')
			col = 80;	/* a sentence ends: new line */
		text += n;
		while (*text == ' ')
			text++;
	}
	fputc('\n', f);
}

static void mdoc_args(FILE *f, const char *args)
{
	const char *sp = args;
	struct spec_tok t;

	while (spec_next(&sp, &t)) {
		size_t off = 0, alen;
		const char *a;
		bool first = true;

		/* Oo..Oc, not Op: Op would swallow the rest of the line. */
		fputs(t.optional ? " Oo" : "", f);
		while (alt_next(&t, &off, &a, &alen)) {
			size_t sp_at = strcspn(a, " ");

			/* "--uid UID": the flag, then its value. */
			if (a[0] == '-' && sp_at < alen) {
				fprintf(f, " Fl %.*s Ar %.*s", (int)sp_at - 1, a + 1, (int)(alen - sp_at - 1), a + sp_at + 1);
				continue;
			}
			fprintf(f, "%s %s %.*s", first ? "" : " |", a[0] == '-' ? "Fl" :
				is_meta(a) ? "Ar" : "Cm", (int)(a[0] == '-' ? alen - 1 : alen),
				a[0] == '-' ? a + 1 : a);
			first = false;
		}
		fputs(t.optional ? " Oc" : "", f);
	}
}

void shell_print_mdoc(FILE *f)
{
	fputs(".Sh COMMANDS\n"
	      "The same commands are typed at the prompt, given to\n"
	      ".Nm Cm ctl ,\n"
	      "passed with\n"
	      ".Fl c ,\n"
	      "and read from standard input when it is not a terminal.\n"
	      "Words are separated by blanks; quote them with\n"
	      ".Sq ...\n"
	      "or\n"
	      ".Dq ... ;\n"
	      "a word that starts with\n"
	      ".Sq #\n"
	      "begins a comment.\n"
	      "With\n"
	      ".Fl -json\n"
	      "a command prints exactly one JSON object on one line.\n"
	      ".Bl -tag -width Ds\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *cmd = &commands[i];

		fprintf(f, ".It Ic %s", cmd->name);
		mdoc_args(f, cmd->args);
		fputc('\n', f);
		char line[160];

		snprintf(line, sizeof(line), "%s.", cmd->help);	/* a sentence in the page */
		mdoc_text(f, line);
		if (cmd->more)
			mdoc_text(f, cmd->more);
	}
	fputs(".El\n", f);
}
