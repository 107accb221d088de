/* Reading a state file (state.h): root acts on these records in `sshtun
 * cleanup`, so each is checked here, apart from the acting, where a fuzzer
 * can reach it. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "hello.h"
#include "killswitch.h"
#include "netlink.h"
#include "log.h"
#include "state.h"

/* A positive int in decimal, nothing else. */
static bool positive(const char *s, int *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return false;
	v = strtol(s, &end, 10);
	if (*end || v <= 0 || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

static const char *check_pid(const char *args, const char *backup, struct state_record *r)
{
	return positive(args, &r->pid) ? NULL : "bad pid";
}

/* "CIDR IFINDEX [GATEWAY]" */
static const char *check_pin(const char *args, const char *backup, struct state_record *r)
{
	char copy[STATE_LINE_MAX], *save = NULL, *cidr, *idx, *gw, *extra;
	struct inet_prefix g;

	snprintf(copy, sizeof(copy), "%s", args);
	cidr = strtok_r(copy, " ", &save);
	idx = strtok_r(NULL, " ", &save);
	gw = strtok_r(NULL, " ", &save);
	extra = strtok_r(NULL, " ", &save);
	if (!cidr || inet_prefix_parse(cidr, &r->dst) < 0)
		return "bad prefix";
	if (!idx || !positive(idx, &r->ifindex))
		return "bad interface index";
	if ((gw && (inet_prefix_parse(gw, &g) < 0 || g.family != r->dst.family)) || extra)
		return "bad gateway";
	return NULL;
}

/* "file BACKUP", "resolvectl IFNAME", "resolvconf IFACE": the only file a
 * record may name is our own backup; a name goes into a program's argv, so
 * it must not look like an option. */
static const char *check_dns(const char *args, const char *backup, struct state_record *r)
{
	const char *sp = strchr(args, ' '), *what;
	size_t n;

	if (!sp)
		return "bad dns record";
	what = sp + 1;
	if (!strncmp(args, "file ", 5))
		return strcmp(what, backup) ? "dns file record names a file other than our backup" : NULL;
	if (strncmp(args, "resolvectl ", 11) && strncmp(args, "resolvconf ", 11))
		return "unknown dns method";
	n = strlen(what);
	if (n == 0 || n >= 64 || what[0] == '-' || what[0] == '.' ||
	    strspn(what, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		return "bad interface name in dns record";
	return NULL;
}

/* "sshtun_guard_PID": root deletes that table, and no other. */
static const char *check_nft(const char *args, const char *backup, struct state_record *r)
{
	if (!ks_table_ok(args))
		return "bad nftables table name";
	snprintf(r->table, sizeof(r->table), "%s", args);
	return NULL;
}

/* A half: "::/1", "128.0.0.0/1". */
static const char *check_unreach(const char *args, const char *backup, struct state_record *r)
{
	if (inet_prefix_parse(args, &r->dst) < 0 || r->dst.plen != 1 || strchr(args, ' '))
		return "bad unreachable half";
	return NULL;
}

/* A decimal u32 below UINT32_MAX, nothing else. */
static bool u32(const char *s, unsigned *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return false;
	v = strtoull(s, &end, 10);
	if (*end || v >= UINT32_MAX)
		return false;
	*out = (unsigned)v;
	return true;
}

/* "CIDR UID TABLE": the table one of an instance's (netlink.h). */
static const char *check_rule(const char *args, const char *backup, struct state_record *r)
{
	char copy[STATE_LINE_MAX], *save = NULL, *cidr, *uid, *table;

	snprintf(copy, sizeof(copy), "%s", args);
	cidr = strtok_r(copy, " ", &save);
	uid = strtok_r(NULL, " ", &save);
	table = strtok_r(NULL, " ", &save);
	if (!cidr || inet_prefix_parse(cidr, &r->dst) < 0 || r->dst.plen == 0)
		return "bad prefix";
	if (!uid || !u32(uid, &r->uid))
		return "bad uid";
	/* Any ifindex (an int: the sum stays below UINT32_MAX); the kernel's
	 * own tables (253..255) and everyone else's are below the base. */
	if (!table || !u32(table, &r->rule_table) || r->rule_table <= NET_UID_TABLE_BASE ||
	    r->rule_table - NET_UID_TABLE_BASE > (unsigned)INT_MAX || strtok_r(NULL, " ", &save))
		return "bad table";
	return NULL;
}

/* "CIDR TABLE": an exec namespace's source rule (execns.h), one address. */
static const char *check_srcrule(const char *args, const char *backup, struct state_record *r)
{
	char copy[STATE_LINE_MAX], *save = NULL, *cidr, *table;

	(void)backup;
	snprintf(copy, sizeof(copy), "%s", args);
	cidr = strtok_r(copy, " ", &save);
	table = strtok_r(NULL, " ", &save);
	if (!cidr || inet_prefix_parse(cidr, &r->dst) < 0 || r->dst.family != AF_INET || r->dst.plen != 32)
		return "bad address";
	if (!table || !u32(table, &r->rule_table) || r->rule_table <= NET_EXEC_TABLE_BASE ||
	    r->rule_table - NET_EXEC_TABLE_BASE > (unsigned)INT_MAX || strtok_r(NULL, " ", &save))
		return "bad table";
	return NULL;
}

static const struct {
	const char *name;
	enum state_kind kind;
	const char *(*check)(const char *args, const char *backup, struct state_record *r);
} kinds[] = {
	{ "pid", STATE_PID, check_pid },
	{ "pin", STATE_PIN, check_pin },
	{ "dns", STATE_DNS, check_dns },
	{ "nft", STATE_NFT, check_nft },
	{ "unreach", STATE_UNREACH, check_unreach },
	{ "rule", STATE_RULE, check_rule },
	{ "srcrule", STATE_SRCRULE, check_srcrule },
};

int state_parse(const char *text, size_t len, const char *path, const char *backup,
		struct state_record *out, int cap)
{
	const char *p = text, *end = text + len;
	int n = 0, lineno = 0;

	while (p < end && n < cap) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char line[STATE_LINE_MAX], *args;
		size_t ll;
		const char *why = "unknown record";

		lineno++;
		if (!nl) {
			log_warn("%s:%d: no newline at the end, ignored", path, lineno);
			break;
		}
		ll = (size_t)(nl - p);
		if (ll >= sizeof(line) || memchr(p, '\0', ll)) {
			log_warn("%s:%d: line too long or not text; the rest is ignored", path, lineno);
			break;
		}
		memcpy(line, p, ll);
		line[ll] = '\0';
		p = nl + 1;
		args = strchr(line, ' ');
		if (!args) {
			log_warn("%s:%d: record without arguments, skipped", path, lineno);
			continue;
		}
		*args++ = '\0';
		memset(&out[n], 0, sizeof(out[n]));
		for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
			if (strcmp(line, kinds[i].name))
				continue;
			out[n].kind = kinds[i].kind;
			why = kinds[i].check(args, backup, &out[n]);
			break;
		}
		if (why) {
			log_warn("%s:%d: %s (`%.40s'), skipped", path, lineno, why, line);
			continue;
		}
		snprintf(out[n].args, sizeof(out[n].args), "%s", args);
		n++;
	}
	if (p < end && n == cap)
		log_warn("%s: more than %d records; the rest is ignored", path, cap);
	return n;
}
