/* The state file reader (state_parse) on arbitrary bytes: the records root
 * acts on in `sshtun cleanup`.  Whatever it returns must be safe to act on:
 * a known kind, a positive pid, a pin route with a real prefix and a
 * positive interface index, a dns record that names only our own backup or
 * an interface name that cannot pass for an option, an nft table of the
 * kill switch's name, an unreachable half, a uid rule into one of our
 * tables; never more records
 * than asked for, every string terminated. */
#include <arpa/inet.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"
#include "killswitch.h"
#include "netlink.h"
#include "fuzz.h"
#include "log.h"
#include "state.h"

#define PATH "/run/sshtun/fuzz.state"
#define BACKUP PATH ".resolv.conf"
#define CAP 8

static struct state_record rec[CAP + 1];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = LOG_QUIET;
	return 0;
}

static void check_record(const struct state_record *r)
{
	size_t n = strnlen(r->args, sizeof(r->args));

	CHECK(n < sizeof(r->args));
	switch (r->kind) {
	case STATE_PID:
		CHECK(r->pid > 0);
		break;
	case STATE_PIN:
		CHECK(r->ifindex > 0);
		CHECK(r->dst.family == AF_INET || r->dst.family == AF_INET6);
		CHECK(r->dst.plen <= (r->dst.family == AF_INET ? 32 : 128));
		break;
	case STATE_DNS:
		if (!strncmp(r->args, "file ", 5)) {
			CHECK(!strcmp(r->args + 5, BACKUP));
		} else {
			CHECK(!strncmp(r->args, "resolvectl ", 11) || !strncmp(r->args, "resolvconf ", 11));
			CHECK(r->args[11] != '-' && r->args[11] != '\0');
			CHECK(!strchr(r->args + 11, ' '));
		}
		break;
	case STATE_NFT:	/* root deletes this table: ours, by name */
		CHECK(ks_table_ok(r->table));
		break;
	case STATE_UNREACH:
		CHECK(r->dst.family == AF_INET || r->dst.family == AF_INET6);
		CHECK(r->dst.plen == 1);
		break;
	case STATE_RULE:
		CHECK(r->dst.family == AF_INET || r->dst.family == AF_INET6);
		CHECK(r->dst.plen > 0 && r->dst.plen <= (r->dst.family == AF_INET ? 32 : 128));
		CHECK(r->uid != UINT32_MAX);
		CHECK(r->rule_table > NET_UID_TABLE_BASE && r->rule_table - NET_UID_TABLE_BASE <= (unsigned)INT_MAX);
		break;
	case STATE_SRCRULE:	/* exec's rule: its /32 source to its table */
		CHECK(r->dst.family == AF_INET && r->dst.plen == 32);
		CHECK(r->rule_table > NET_EXEC_TABLE_BASE && r->rule_table - NET_EXEC_TABLE_BASE <= (unsigned)INT_MAX);
		break;
	default:
		CHECK(!"unknown kind");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int n;

	memset(rec, 0xa5, sizeof(rec));
	n = state_parse((const char *)data, size, PATH, BACKUP, rec, CAP);
	CHECK(n >= 0 && n <= CAP);
	for (int i = 0; i < n; i++)
		check_record(&rec[i]);
	/* The slot past the cap is never written. */
	for (size_t i = 0; i < sizeof(rec[CAP]); i++)
		CHECK(((const uint8_t *)&rec[CAP])[i] == 0xa5);
	return 0;
}
