/* `sshtun list` (list.h).  Each instance answers for itself over its
 * control socket; a socket nobody answers on is a dead instance's. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "format.h"
#include "list.h"
#include "paths.h"

#define LIST_MAX 256
#define QUERY_MS 2000
#define ANSWER_MAX (64 * 1024)

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int ctl_query(const char *sock_path, const char *line, char *out, size_t cap, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char buf[ANSWER_MAX];
	uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
	size_t len = 0;
	int fd, rc = -1;
	bool got = false;

	if (cap)
		out[0] = '\0';
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	if (dprintf(fd, "run %s\n", line) < 0)
		goto out;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t now = mono_ms();
		char *nl;
		ssize_t n;

		while ((nl = memchr(buf, '\n', len))) {
			size_t used = (size_t)(nl - buf) + 1;

			*nl = '\0';
			if (!strncmp(buf, "o ", 2) && !got) {
				snprintf(out, cap, "%s", buf + 2);
				got = true;
			} else if (!strncmp(buf, "x ", 2)) {
				rc = atoi(buf + 2) == 0 ? 0 : -1;
				goto out;
			}
			memmove(buf, buf + used, len - used);
			len -= used;
		}
		if (len == sizeof(buf) || now >= deadline ||
		    poll(&pfd, 1, (int)(deadline - now)) <= 0)
			goto out;
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n <= 0)
			goto out;
		len += (size_t)n;
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

bool json_field(const char *obj, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key), o = 0;
	const char *p = obj;

	if (!cap)
		return false;
	/* "key": right after '{' or ',': not inside a string value. */
	while ((p = strstr(p, key))) {
		if (p > obj + 1 && p[-1] == '"' && (p[-2] == '{' || p[-2] == ',') &&
		    !strncmp(p + klen, "\":", 2))
			break;
		p += klen;
	}
	if (!p)
		return false;
	p += klen + 2;
	if (*p == '"') {
		for (p++; *p && *p != '"' && o + 1 < cap; p++) {
			if (*p == '\\' && p[1])
				p++;
			out[o++] = *p;
		}
	} else {
		for (; *p && *p != ',' && *p != '}' && o + 1 < cap; p++)
			out[o++] = *p;
	}
	out[o] = '\0';
	return true;
}

struct instance {
	char name[128];
	char path[PATHS_SOCK_MAX];
	bool dead;
	char status[ANSWER_MAX / 4], stats[ANSWER_MAX / 4];
};

static struct instance found[LIST_MAX];
static int nfound;

/* The instances with a socket in dir that we may use: ours, or (for
 * root, in root's directory) one a `sudo sshtun' made its user's.  Root's
 * $XDG_RUNTIME_DIR may be a user's (`su' keeps it): a socket there that is
 * not root's is that user's to answer, with whatever names and bytes. */
static void scan(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	bool any_owner = geteuid() == 0 && !strcmp(dir, "/run/sshtun");

	if (!d)
		return;
	while ((de = readdir(d)) && nfound < LIST_MAX) {
		size_t len = paths_sock_name_len(de->d_name);
		struct instance *in = &found[nfound];
		struct stat st;
		bool dup = false;
		int n;

		if (!len || len >= sizeof(in->name))
			continue;
		n = snprintf(in->path, sizeof(in->path), "%s/%s", dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(in->path) || lstat(in->path, &st) < 0 ||
		    !S_ISSOCK(st.st_mode) || (!any_owner && st.st_uid != geteuid()))
			continue;
		for (int i = 0; i < nfound; i++)
			dup |= !strcmp(found[i].path, in->path);
		if (dup)
			continue;
		snprintf(in->name, sizeof(in->name), "%.*s", (int)len, de->d_name);
		nfound++;
	}
	closedir(d);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct instance *)a)->name, ((const struct instance *)b)->name);
}

/* One JSON object and nothing after it, without control characters: what
 * an instance answers goes into our output as it is, so it must not close
 * its member and write ours. */
static bool one_object(const char *s)
{
	int depth = 0;
	bool in_str = false;

	if (*s != '{')
		return false;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
		if (in_str) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '"')
				in_str = false;
		} else if (*s == '"') {
			in_str = true;
		} else if (*s == '{' || *s == '[') {
			depth++;
		} else if (*s == '}' || *s == ']') {
			if (--depth == 0)
				return !s[1];
		}
	}
	return false;
}

static void print_json(void)
{
	printf("{\"instances\":[");
	for (int i = 0; i < nfound; i++) {
		struct instance *in = &found[i];

		printf("%s{\"name\":", i ? "," : "");
		json_str(stdout, in->name);
		printf(",\"socket\":");
		json_str(stdout, in->path);
		/* The instance's own objects, as status --json and stats
		 * --json print them: one line each, nothing to re-encode. */
		if (in->dead)
			printf(",\"state\":\"dead\"");
		if (one_object(in->status))
			printf(",\"status\":%s", in->status);
		if (one_object(in->stats))
			printf(",\"stats\":%s", in->stats);
		printf("}");
	}
	printf("]}\n");
}

/* An instance answers for itself, and one in /run/sshtun may be another
 * user's, or a network side a hostile server took over: nothing it says
 * reaches the terminal as a control sequence. */
static char *printable(char *s)
{
	for (char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return s;
}

static void print_table(void)
{
	printf("%-16s %-13s %-22s %-10s %-36s %-10s %11s %11s\n", "NAME", "STATE", "SERVER", "IFNAME",
	       "ADDRESSES", "UPTIME", "TX", "RX");
	for (int i = 0; i < nfound; i++) {
		struct instance *in = &found[i];
		char state[64] = "dead", server[128] = "-", ifname[32] = "-", a4[64] = "", a6[64] = "";
		char addrs[132], up[32] = "-", tx[32] = "-", rx[32] = "-", v[64];

		if (!in->dead) {
			json_field(in->status, "state", state, sizeof(state));
			json_field(in->status, "server", server, sizeof(server));
			json_field(in->status, "ifname", ifname, sizeof(ifname));
			json_field(in->status, "local_addr", a4, sizeof(a4));
			json_field(in->status, "local_addr6", a6, sizeof(a6));
			if (json_field(in->status, "uptime_s", v, sizeof(v)) && strcmp(v, "null"))
				fmt_duration(up, sizeof(up), strtoull(v, NULL, 10));
			if (json_field(in->stats, "tx_rate_bps", v, sizeof(v)) && strcmp(v, "null"))
				fmt_rate(tx, sizeof(tx), strtod(v, NULL));
			if (json_field(in->stats, "rx_rate_bps", v, sizeof(v)) && strcmp(v, "null"))
				fmt_rate(rx, sizeof(rx), strtod(v, NULL));
		}
		snprintf(addrs, sizeof(addrs), "%s%s%s", a4, *a4 && *a6 ? " " : "", a6);
		printable(in->name);
		printable(state);
		printable(server);
		printable(ifname);
		printable(addrs);
		printf("%-16s %-13s %-22s %-10s %-36s %-10s %11s %11s\n", in->name, state,
		       server[0] ? server : "-", ifname[0] ? ifname : "-", addrs[0] ? addrs : "-", up, tx, rx);
		if (in->dead)
			printf("  (nobody answers on %s: sshtun cleanup -n %s tidies up)\n", printable(in->path),
			       in->name);
	}
}

int list_main(int argc, char **argv)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char dir[PATHS_SOCK_MAX];
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: sshtun list [--json]\n"
			       "Every running instance: state, server, interface, addresses, uptime, rates.\n");
			return 0;
		} else {
			fprintf(stderr, "usage: sshtun list [--json]\n");
			return fail(EXIT_USAGE, "unknown argument `%s' for list", argv[i]);
		}
	}
	if (paths_dir(dir, sizeof(dir)) == 0)
		scan(dir);
	fail_clear();
	scan("/run/sshtun");
	if (rt && rt[0] == '/' && snprintf(dir, sizeof(dir), "%s/sshtun", rt) < (int)sizeof(dir))
		scan(dir);
	qsort(found, (size_t)nfound, sizeof(found[0]), by_name);
	for (int i = 0; i < nfound; i++) {
		struct instance *in = &found[i];

		if (ctl_query(in->path, "status --json", in->status, sizeof(in->status), QUERY_MS) < 0 &&
		    !in->status[0]) {
			in->dead = true;
			continue;
		}
		ctl_query(in->path, "stats --json", in->stats, sizeof(in->stats), QUERY_MS);
	}
	if (json)
		print_json();
	else if (nfound)
		print_table();
	else
		printf("no running instance\n");
	return 0;
}
