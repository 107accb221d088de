/* The server's address pool and its lease file (pool.h).
 *
 * Locking: the lease file itself is replaced atomically (written to
 * "<file>.tmp", then renamed over it) while an exclusive flock is held on a
 * separate "<file>.lock" that is never removed.  Rewriting in place with
 * ftruncate + write would leave a short or empty file if the helper were
 * killed halfway (sshd does kill helpers), and the next helper would then
 * hand out pairs that live sessions still hold.  With rename, readers see
 * the old file or the new one, never a mix.  No fsync: the file lives on
 * tmpfs (/run), and leases written before a power loss name helpers that
 * died with it anyway. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "log.h"
#include "pool.h"
#include "safefile.h"

#define NONE UINT_MAX
#define LINE_MAX_LEN 96		/* "65535 <32 chars> <pid> <time> <uid>" fits */
#define MAX_LINES (2 * POOL_MAX_LEASES)	/* bounds the work a damaged file costs */
#define MAX_WARNINGS 10

struct entry {
	bool used;
	char id[HELLO_ID_LEN + 1];
	pid_t pid;		/* 0: released */
	long long time;		/* taken, or the grace time's start once released */
	uid_t uid;		/* the account; POOL_NO_UID on an old four-field line */
};

/* --- address arithmetic, on the network-order bytes of either family --- */

static size_t addr_len(const struct inet_prefix *p)
{
	return p->family == AF_INET ? 4 : 16;
}

/* Bits of byte i that lie inside the host part of a prefix of plen. */
static uint8_t host_mask(size_t i, unsigned plen)
{
	if (i * 8 >= plen)
		return 0xff;
	if (plen - i * 8 >= 8)
		return 0;
	return (uint8_t)(0xff >> (plen - i * 8));
}

static void addr_add(struct inet_prefix *p, uint64_t v)
{
	uint8_t *b = (uint8_t *)&p->addr;
	unsigned carry = 0;

	for (size_t i = addr_len(p); i-- > 0 && (v || carry);) {
		unsigned sum = b[i] + (unsigned)(v & 0xff) + carry;

		b[i] = (uint8_t)sum;
		carry = sum >> 8;
		v >>= 8;
	}
}

/* Offset of a inside net: -1 when outside the prefix; saturates at
 * UINT64_MAX (far beyond any pool). */
static int addr_offset(const struct inet_prefix *net, const struct inet_prefix *a, uint64_t *off)
{
	const uint8_t *nb = (const uint8_t *)&net->addr, *ab = (const uint8_t *)&a->addr;

	*off = 0;
	for (size_t i = 0; i < addr_len(net); i++) {
		uint8_t hm = host_mask(i, net->plen);

		if ((ab[i] & ~hm) != (nb[i] & ~hm))
			return -1;
		*off = *off >> 56 ? UINT64_MAX : *off << 8 | (ab[i] & hm);
	}
	return 0;
}

/* --- the pool --- */

static int set_net(struct inet_prefix *net, const char *s, int family, unsigned max_plen,
		   char *err, size_t errlen)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	struct inet_prefix masked;
	char want[INET6_ADDRSTRLEN + 4];

	memset(net, 0, sizeof(*net));
	if (!s || !*s || !strcmp(s, "none"))
		return 0;
	if (inet_prefix_parse(s, net) < 0 || net->family != family || net->plen > max_plen) {
		memset(net, 0, sizeof(*net));
		return errorf(err, errlen, "bad %s pool `%s' (want an %s prefix no longer than /%u, "
			      "or `none')", fam, s, fam, max_plen);
	}
	masked = *net;
	for (size_t i = 0; i < addr_len(net); i++)
		((uint8_t *)&masked.addr)[i] &= (uint8_t)~host_mask(i, net->plen);
	if (memcmp(&masked.addr, &net->addr, addr_len(net))) {
		memset(net, 0, sizeof(*net));
		return errorf(err, errlen, "%s pool `%s' has host bits set (did you mean %s?)", fam, s,
			      inet_prefix_str(&masked, true, want, sizeof(want)));
	}
	return 0;
}

int pool_init(struct pool *pool, const char *net4, const char *net6, const char *lease_path,
	      char *err, size_t errlen)
{
	memset(pool, 0, sizeof(*pool));
	pool->lease_path = lease_path && *lease_path ? lease_path : POOL_LEASE_FILE;
	pool->grace = POOL_GRACE_DEFAULT;
	pool->max_per_account = POOL_PER_ACCOUNT_DEFAULT;
	if (set_net(&pool->net4, net4, AF_INET, 31, err, errlen) < 0 ||
	    set_net(&pool->net6, net6, AF_INET6, 126, err, errlen) < 0)
		return -1;
	if (!pool->net4.family && !pool->net6.family)
		return errorf(err, errlen, "no address pool: both IPv4 and IPv6 are `none'");
	return 0;
}

/* IPv4: pairs (net+2i, net+2i+1), all of the prefix.  IPv6: (net+2i+2,
 * net+2i+3), which leaves out net+0, the subnet-router anycast address. */
static unsigned family_pairs(const struct inet_prefix *net)
{
	unsigned host = (net->family == AF_INET ? 32 : 128) - net->plen;

	if (host - 1 >= 17)
		return POOL_MAX_LEASES;
	if (net->family == AF_INET)
		return 1u << (host - 1);
	return (1u << (host - 1)) - 1;
}

unsigned pool_size(const struct pool *pool)
{
	unsigned size = POOL_MAX_LEASES;

	if (!pool->net4.family && !pool->net6.family)
		return 0;
	if (pool->net4.family && family_pairs(&pool->net4) < size)
		size = family_pairs(&pool->net4);
	if (pool->net6.family && family_pairs(&pool->net6) < size)
		size = family_pairs(&pool->net6);
	return size;
}

static void pair_addr(const struct inet_prefix *net, uint64_t off, unsigned plen,
		      struct inet_prefix *out)
{
	*out = *net;
	addr_add(out, off);
	out->plen = plen;
}

void pool_pair(const struct pool *pool, unsigned index, struct lease *out)
{
	memset(out, 0, sizeof(*out));
	out->index = index;
	if (pool->net4.family) {
		pair_addr(&pool->net4, 2 * (uint64_t)index, 31, &out->server4);
		pair_addr(&pool->net4, 2 * (uint64_t)index + 1, 31, &out->client4);
	}
	if (pool->net6.family) {
		pair_addr(&pool->net6, 2 * (uint64_t)index + 2, 127, &out->server6);
		pair_addr(&pool->net6, 2 * (uint64_t)index + 3, 127, &out->client6);
	}
}

/* A -a request names the client's own address, so it must be the client
 * half of a pair (the odd offsets in both families); an even address is
 * refused rather than silently mapped to its neighbour. */
static int want_index(const struct pool *pool, const struct inet_prefix *want, int family,
		      unsigned *idx, char *err, size_t errlen)
{
	const struct inet_prefix *net = family == AF_INET ? &pool->net4 : &pool->net6;
	unsigned base = family == AF_INET ? 0 : 2, size = pool_size(pool);
	char a[INET6_ADDRSTRLEN + 4], p[INET6_ADDRSTRLEN + 4], c0[INET6_ADDRSTRLEN + 4],
	    c1[INET6_ADDRSTRLEN + 4], cn[INET6_ADDRSTRLEN + 4];
	struct inet_prefix first, second, last;
	uint64_t off;

	if (!want || !want->family)
		return 0;
	inet_prefix_str(want, false, a, sizeof(a));
	if (want->family != family)
		return errorf(err, errlen, "address %s is not an %s address", a,
			      family == AF_INET ? "IPv4" : "IPv6");
	if (!net->family)
		return errorf(err, errlen, "address %s asked for, but the server has no %s pool", a,
			      family == AF_INET ? "IPv4" : "IPv6");
	inet_prefix_str(net, true, p, sizeof(p));
	if (addr_offset(net, want, &off) < 0)
		return errorf(err, errlen, "address %s is outside the address pool %s", a, p);
	if (off < base || off - base >= 2 * (uint64_t)size || (off - base) % 2 == 0) {
		pair_addr(net, base + 1, 0, &first);
		inet_prefix_str(&first, false, c0, sizeof(c0));
		if (size == 1)
			return errorf(err, errlen, "address %s is not a client address of the pool "
				      "%s (the only one is %s)", a, p, c0);
		pair_addr(net, base + 3, 0, &second);
		pair_addr(net, base + 2 * (uint64_t)size - 1, 0, &last);
		return errorf(err, errlen, "address %s is not a client address of the pool %s "
			      "(those are %s, %s, ... %s)", a, p, c0,
			      inet_prefix_str(&second, false, c1, sizeof(c1)),
			      inet_prefix_str(&last, false, cn, sizeof(cn)));
	}
	if (*idx != NONE && *idx != (off - base) / 2)
		return errorf(err, errlen, "address %s is not in the same pair as the IPv4 address "
			      "asked for", a);
	*idx = (unsigned)((off - base) / 2);
	return 0;
}

/* --- the lease file --- */

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > HELLO_ID_LEN)
		return false;
	for (; *id; id++)
		if (*id <= 0x20 || *id >= 0x7f)
			return false;
	return true;
}

/* /proc/PID/stat read into buf (cut at cap - 1 bytes); returns where its
 * fields go on, at the ')' that ends the parenthesised name (which may hold
 * anything, ')' too: the last one), or NULL when it cannot be read. */
static char *proc_stat_fields(pid_t pid, char *buf, size_t cap)
{
	char path[64];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return NULL;
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strrchr(buf, ')');
}

/* The state letter of /proc/PID/stat (after the parenthesised name, which
 * may hold anything), or 0 when it cannot be read. */
static char proc_state(pid_t pid)
{
	char buf[512], *p = proc_stat_fields(pid, buf, sizeof(buf));

	return p && p[1] == ' ' ? p[2] : 0;
}

/* A zombie (a helper that exited and its parent, sshd, has not yet
 * reaped) moves no packets and holds nothing: not alive, or its lease,
 * NAT and rpf table would outlive it until sshd gets round to it. */
static bool alive(pid_t pid)
{
	char st;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return false;
	st = proc_state(pid);
	return st != 'Z' && st != 'X';
}

/* "<index> <id> <pid> <time> <uid>", or the older form without <uid>:
 * exactly one space between the fields.  Returns a reason when the line is
 * refused. */
static const char *parse_line(char *line, struct entry *tab, unsigned size)
{
	char *f[5];
	unsigned long long index, pid, t, uid = POOL_NO_UID;
	unsigned n = group_split_fields(line, f, 5);

	if (n != 4 && n != 5)
		return "not four or five fields";
	if (group_parse_num(f[0], UINT_MAX, &index) < 0 || !valid_id(f[1]) ||
	    group_parse_num(f[2], INT_MAX, &pid) < 0 || group_parse_num(f[3], LLONG_MAX, &t) < 0 ||
	    (n == 5 && group_parse_num(f[4], POOL_NO_UID - 1, &uid) < 0))
		return "bad field";
	if (index >= size)
		return "index outside the pool";
	if (tab[index].used)
		return "index given twice";
	tab[index].used = true;
	strcpy(tab[index].id, f[1]);
	tab[index].pid = (pid_t)pid;
	tab[index].time = (long long)t;
	tab[index].uid = (uid_t)uid;
	return NULL;
}

static void warn_line(const char *path, unsigned lineno, const char *why, unsigned *warnings)
{
	if (++*warnings <= MAX_WARNINGS)
		log_warn("%s:%u: ignoring malformed lease (%s)", path, lineno, why);
}

static int by_id(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
	int c = strcmp(x->id, y->id);

	if (!c)
		c = x->uid < y->uid ? -1 : x->uid > y->uid;
	return c ? c : (x < y ? -1 : x > y);
}

/* An id given twice for one account (a hand edit) keeps its lowest index:
 * sort, then drop the later ones. */
static void drop_duplicate_ids(const char *path, struct entry *tab, unsigned size)
{
	struct entry **v = malloc(size * sizeof(*v));
	unsigned n = 0;

	if (!v)
		return;
	for (unsigned i = 0; i < size; i++)
		if (tab[i].used)
			v[n++] = &tab[i];
	qsort(v, n, sizeof(*v), by_id);
	for (unsigned i = 1; i < n; i++) {
		if (!strcmp(v[i]->id, v[i - 1]->id) && v[i]->uid == v[i - 1]->uid) {
			log_warn("%s: client %s holds more than one lease; keeping index %u",
				 path, v[i]->id, (unsigned)(v[i - 1] - tab));
			v[i]->used = false;
			v[i] = v[i - 1];
		}
	}
	free(v);
}

/* Reads whatever is there; a missing file is an empty one.  Lines are cut
 * in a fixed buffer: a line too long to be a lease is skipped whole. */
static int read_leases(const char *path, struct entry *tab, unsigned size, char *err, size_t errlen)
{
	char chunk[4096], line[LINE_MAX_LEN + 1];
	unsigned lineno = 0, warnings = 0;
	size_t len = 0;
	bool too_long = false;
	ssize_t got = 0;
	int fd = safe_open(path, O_RDONLY, 0, err, errlen);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	while (lineno < MAX_LINES) {
		got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got && lineno < MAX_LINES; i++) {
			const char *why;

			if (chunk[i] != '\n') {
				if (len < LINE_MAX_LEN)
					line[len++] = chunk[i];
				else
					too_long = true;
				continue;
			}
			line[len] = '\0';
			lineno++;
			why = too_long ? "line too long" : strlen(line) != len ? "NUL byte" :
			    parse_line(line, tab, size);
			if (why)
				warn_line(path, lineno, why, &warnings);
			len = 0;
			too_long = false;
		}
	}
	if (got < 0) {
		errorf(err, errlen, "cannot read lease file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (lineno >= MAX_LINES)
		log_warn("%s: more than %u lines; ignoring the rest", path, MAX_LINES);
	else if (len || too_long)
		warn_line(path, lineno + 1, "no newline at the end", &warnings);
	if (warnings > MAX_WARNINGS)
		log_warn("%s: %u malformed leases ignored in all", path, warnings);
	close(fd);
	drop_duplicate_ids(path, tab, size);
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_leases(const char *path, const struct entry *tab, unsigned size, char *err,
			size_t errlen)
{
	char tmp[PATH_MAX], buf[8192];
	size_t len = 0;
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = safe_create(tmp, 0600, err, errlen);
	if (fd < 0)
		return -1;
	for (unsigned i = 0; i < size && rc == 0; i++) {
		if (!tab[i].used)
			continue;
		if (sizeof(buf) - len < LINE_MAX_LEN + 1) {
			rc = write_all(fd, buf, len);
			len = 0;
		}
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %s %d %lld", i,
					tab[i].id, (int)tab[i].pid, tab[i].time);
		/* An old line keeps its old form: it has no account to write. */
		if (tab[i].uid != POOL_NO_UID)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, " %u",
						(unsigned)tab[i].uid);
		buf[len++] = '\n';
	}
	if (rc == 0)
		rc = write_all(fd, buf, len);
	if (close(fd) < 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1;
	if (rc < 0) {
		errorf(err, errlen, "cannot write lease file %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

/* Takes the lock, creating the directory if it is missing.  Returns the
 * lock's fd; closing it unlocks. */
static int lock_leases(const char *path, char *err, size_t errlen)
{
	char lock[PATH_MAX], dir[PATH_MAX];
	char *slash;
	int fd;

	if (strlen(path) + sizeof(".lock") > sizeof(lock))
		return errorf(err, errlen, "lease file path too long: %s", path);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (safe_dir(dir, true, 0755, err, errlen) < 0)
			return -1;
	}
	fd = safe_open(lock, O_RDWR | O_CREAT, 0600, err, errlen);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			errorf(err, errlen, "cannot lock %s: %s", lock, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

static unsigned find_holder(const struct entry *tab, unsigned size, const struct lease_holder *who)
{
	for (unsigned i = 0; i < size; i++)
		if (tab[i].used && tab[i].uid == who->account->uid && !strcmp(tab[i].id, who->id))
			return i;
	return NONE;
}

static bool live(const struct entry *e)
{
	return e->used && e->pid && alive(e->pid);
}

/* When pid started, in clock ticks since boot: field 22 of /proc/PID/stat,
 * after the parenthesised name, which may hold anything.  With the pid it
 * names one process, whatever the wall clock does.  0 when unknown. */
static unsigned long long start_ticks(pid_t pid)
{
	char buf[1024], *p = proc_stat_fields(pid, buf, sizeof(buf));
	unsigned long long ticks = 0;

	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
			 "%*d %*d %llu", &ticks) != 1)
		return 0;
	return ticks;
}

/* When pid started, in seconds of the wall clock: its start_ticks plus
 * the boot time.  -1 when unknown. */
static long long started_at(pid_t pid)
{
	char buf[256];
	unsigned long long ticks = start_ticks(pid), btime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	int ok = 0;

	if (hz <= 0 || !ticks || !(f = fopen("/proc/stat", "re")))
		return -1;
	while (!ok && fgets(buf, sizeof(buf), f))
		ok = sscanf(buf, "btime %llu", &btime) == 1;
	fclose(f);
	return ok ? (long long)(btime + ticks / (unsigned long long)hz) : -1;
}

/* A pid that started after the lease was taken is not its holder: the pid
 * was reused (the holder died without releasing), maybe by another
 * account's helper, which a take-over would stop.  Two seconds for the
 * rounding of the boot time. */
static bool holder_started(const struct entry *e)
{
	long long t = started_at(e->pid);

	return t >= 0 && t <= e->time + 2;
}

/* --- connection groups (group.h), read and written under the lease lock --- */

static void groups_path(const struct pool *pool, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s" GROUP_FILE_SUFFIX, pool->lease_path);
}

/* A member runs and is the process that joined: the same start, counted
 * from boot (a reused pid starts later).  Not the wall clock, which a step
 * (NTP at boot, a VM resumed) moves against the boot time /proc gives: a
 * forward one made every member look reused, which dropped the group
 * while its helpers ran.  When the start cannot be read, running is
 * enough. */
static bool member_live(const struct group_member *m)
{
	unsigned long long t;

	if (!alive(m->pid))
		return false;
	t = start_ticks(m->pid);
	return !t || !m->start || t == m->start;
}

/* A new member: the process, its start and the client's number for it. */
static void member_add(struct group *g, pid_t pid, int conn)
{
	g->m[g->n].pid = pid;
	g->m[g->n].conn = conn;
	g->m[g->n++].start = start_ticks(pid);
}

static bool is_member(const struct group *g, pid_t pid)
{
	for (unsigned k = 0; k < g->n; k++)
		if (g->m[k].pid == pid)
			return true;
	return false;
}

/* Members that are gone leave; a group whose lease is no longer its
 * client's, or with no member left, goes; a lease whose holder is not a
 * live member passes to one that is (the pair is never released while a
 * member still moves packets).  Returns whether anything changed. */
static bool settle_groups(struct entry *tab, unsigned size, struct groups *gs)
{
	bool changed = false;

	for (unsigned i = 0; i < gs->n;) {
		struct group *g = &gs->g[i];
		struct entry *e = g->index < size ? &tab[g->index] : NULL;

		for (unsigned k = 0; k < g->n;) {
			if (member_live(&g->m[k])) {
				k++;
				continue;
			}
			group_leave(g, g->m[k].pid);
			changed = true;
		}
		if (!e || !e->used || e->uid != g->uid || strcmp(e->id, g->id) || !g->n) {
			groups_drop(gs, g);
			changed = true;
			continue;
		}
		if (!is_member(g, e->pid)) {
			log_verbose("pair %u: its helper %d is gone; member %d holds it now", g->index,
				    (int)e->pid, (int)g->m[0].pid);
			e->pid = g->m[0].pid;
			e->time = (long long)time(NULL);	/* it holds it from now */
			changed = true;
		}
		i++;
	}
	return changed;
}

/* The lease file and the groups, settled.  *dirty: something changed that
 * a writer should store. */
static int load(const struct pool *pool, struct entry *tab, unsigned size, struct groups *gs,
		bool *dirty, char *err, size_t errlen)
{
	char gpath[PATH_MAX];

	memset(gs, 0, sizeof(*gs));
	if (read_leases(pool->lease_path, tab, size, err, errlen) < 0)
		return -1;
	groups_path(pool, gpath, sizeof(gpath));
	if (groups_read(gpath, size, gs, err, errlen) < 0)
		return -1;
	*dirty = settle_groups(tab, size, gs);
	return 0;
}

static int store(const struct pool *pool, const struct entry *tab, unsigned size,
		 const struct groups *gs, char *err, size_t errlen)
{
	char gpath[PATH_MAX];

	groups_path(pool, gpath, sizeof(gpath));
	if (write_leases(pool->lease_path, tab, size, err, errlen) < 0)
		return -1;
	return groups_write(gpath, gs, err, errlen);
}

/* The epilogue: frees what open_leases gave and drops the lock (fd may be
 * -1: nothing was taken). */
static void close_leases(int fd, struct entry *tab, struct groups *gs)
{
	groups_free(gs);
	free(tab);
	if (fd >= 0)
		close(fd);
}

/* The prologue of every change to the leases: the lock taken, then the
 * lease table (size entries) and the groups loaded as load() does.
 * Returns the lock's fd, or -1 with err and nothing left to free. */
static int open_leases(const struct pool *pool, unsigned size, struct entry **tab,
		       struct groups *gs, bool *dirty, char *err, size_t errlen)
{
	int fd = lock_leases(pool->lease_path, err, errlen);

	*tab = NULL;
	if (fd < 0)
		return -1;
	*tab = calloc(size, sizeof(**tab));
	if (!*tab)
		errorf(err, errlen, "out of memory for %u leases", size);
	else if (load(pool, *tab, size, gs, dirty, err, errlen) == 0)
		return fd;
	close_leases(fd, *tab, gs);
	*tab = NULL;
	return -1;
}

/* A holder that died without releasing (kill -9, a crash) releases now:
 * its grace time starts when a helper first notices.  Returns whether
 * anything changed. */
static bool settle_dead(struct entry *tab, unsigned size, long long now)
{
	bool changed = false;

	for (unsigned i = 0; i < size; i++) {
		if (tab[i].used && tab[i].pid && !alive(tab[i].pid)) {
			tab[i].pid = 0;
			tab[i].time = now;
			changed = true;
		}
	}
	return changed;
}

static bool in_grace(const struct pool *pool, const struct entry *e, long long now)
{
	return e->time > now || now - e->time < (long long)pool->grace;
}

/* Would pair i collide with a network one side already uses? */
static bool avoided(const struct pool *pool, unsigned i, const struct prefix_list *avoid)
{
	struct lease l;

	if (!avoid || !avoid->n)
		return false;
	pool_pair(pool, i, &l);
	for (int k = 0; k < avoid->n; k++)
		if ((l.client4.family && inet_prefix_overlaps(&l.client4, &avoid->p[k])) ||
		    (l.client6.family && inet_prefix_overlaps(&l.client6, &avoid->p[k])))
			return true;
	return false;
}

/* A never-used pair first; else the reservation that ended longest ago;
 * never a pair in its grace time, never one that collides with a network
 * in use. */
static unsigned pick_free(const struct pool *pool, const struct entry *tab, unsigned size,
			  const struct prefix_list *avoid, long long now)
{
	unsigned best = NONE;

	for (unsigned i = 0; i < size; i++)
		if (!tab[i].used && !avoided(pool, i, avoid))
			return i;
	for (unsigned i = 0; i < size; i++)
		if (tab[i].used && !live(&tab[i]) && !in_grace(pool, &tab[i], now) &&
		    (best == NONE || tab[i].time < tab[best].time) && !avoided(pool, i, avoid))
			best = i;
	return best;
}

/* A new lease for an account that holds max_per_account already: its
 * oldest reservations give way; when all it holds are live sessions, it is
 * refused. */
static int account_room(const struct pool *pool, struct entry *tab, unsigned size,
			const struct lease_holder *who, char *err, size_t errlen)
{
	for (;;) {
		unsigned held = 0, running = 0, oldest = NONE;

		for (unsigned i = 0; i < size; i++) {
			if (!tab[i].used || tab[i].uid != who->account->uid)
				continue;
			held++;
			if (live(&tab[i]))
				running++;
			else if (oldest == NONE || tab[i].time < tab[oldest].time)
				oldest = i;
		}
		if (held < pool->max_per_account)
			return 0;
		if (oldest == NONE) {
			errorf(err, errlen, "account %s already has %u session%s, the most allowed "
			       "(serve --max-sessions-per-user %u)", who->account->name, running,
			       running == 1 ? "" : "s", pool->max_per_account);
			return POOL_ACCOUNT_CAP;
		}
		log_verbose("account %s: its reservation of pair %u for client %s gives way",
			    who->account->name, oldest, tab[oldest].id);
		tab[oldest].used = false;
	}
}

static int full(const struct pool *pool, const struct entry *tab, unsigned size, char *err,
		size_t errlen)
{
	char n4[INET6_ADDRSTRLEN + 4], n6[INET6_ADDRSTRLEN + 4], more[64] = "";
	unsigned running = 0, reserved = 0, clash = 0;

	for (unsigned i = 0; i < size; i++) {
		if (live(&tab[i]))
			running++;
		else if (tab[i].used)
			reserved++;
		else
			clash++;	/* free, but it overlaps a network in use */
	}
	if (clash)
		snprintf(more, sizeof(more), ", %u overlap networks in use", clash);
	inet_prefix_str(&pool->net4, true, n4, sizeof(n4));
	inet_prefix_str(&pool->net6, true, n6, sizeof(n6));
	errorf(err, errlen, "address pool %s%s%s is full: %u pairs, %u in use, %u reserved for "
	       "clients that may reconnect within %u s%s", n4, *n4 && *n6 ? " + " : "", n6, size,
	       running, reserved, pool->grace, more);
	return POOL_FULL;
}

unsigned pool_live(const struct pool *pool, pid_t except)
{
	unsigned size = pool_size(pool), count = 0;
	struct groups gs = { 0 };
	struct entry *tab;
	char err[ERROR_MSG_MAX];
	bool dirty;
	int fd;

	if (!size || (fd = open_leases(pool, size, &tab, &gs, &dirty, err, sizeof(err))) < 0)
		return 0;
	for (unsigned i = 0; i < size; i++)
		if (live(&tab[i]) && tab[i].pid != except)
			count++;
	close_leases(fd, tab, &gs);
	return count;
}

int pool_acquire(const struct pool *pool, const struct lease_holder *who,
		 const struct inet_prefix *want4, const struct inet_prefix *want6,
		 const struct prefix_list *avoid, struct lease *out, char *err, size_t errlen)
{
	unsigned size = pool_size(pool), want = NONE, mine, idx, nstale = 0;
	long long now = (long long)time(NULL);
	char a[INET6_ADDRSTRLEN + 4];
	struct groups gs = { 0 };
	struct entry *tab = NULL;
	struct group *g;
	pid_t previous = 0, stale[GROUP_MAX_MEMBERS];
	bool dirty;
	int fd, ret = POOL_ERROR;

	if (!valid_id(who->id))
		return errorf(err, errlen, "bad client id `%s'", who->id);
	if (who->account->uid == POOL_NO_UID)
		return errorf(err, errlen, "no account for client %s", who->id);
	if (!size)
		return errorf(err, errlen, "no address pool configured");
	if (want_index(pool, want4, AF_INET, &want, err, errlen) < 0 ||
	    want_index(pool, want6, AF_INET6, &want, err, errlen) < 0)
		return POOL_ERROR;
	fd = open_leases(pool, size, &tab, &gs, &dirty, err, errlen);
	if (fd < 0)
		return POOL_ERROR;
	/* The holder of our own lease is looked at before it is settled: a
	 * live one is a stale helper to take over. */
	mine = find_holder(tab, size, who);
	if (mine != NONE && live(&tab[mine]) && tab[mine].pid != who->pid && holder_started(&tab[mine]))
		previous = tab[mine].pid;
	/* Written at once, so that a refusal below keeps it too: the grace of
	 * a dead holder runs from the first time it was noticed. */
	if ((settle_dead(tab, size, now) || dirty) && store(pool, tab, size, &gs, err, errlen) < 0)
		goto out;
	if (mine == NONE && (ret = account_room(pool, tab, size, who, err, errlen)) < 0)
		goto out;
	ret = POOL_ERROR;
	if (want != NONE) {
		if (tab[want].used && want != mine) {
			inet_prefix_str(want4 && want4->family ? want4 : want6, false, a, sizeof(a));
			errorf(err, errlen, "address %s is leased to another client", a);
			ret = POOL_TAKEN;
			goto out;
		}
		idx = want;
	} else {
		idx = mine != NONE ? mine : pick_free(pool, tab, size, avoid, now);
	}
	if (idx == NONE) {
		ret = full(pool, tab, size, err, errlen);
		goto out;
	}
	/* A fresh request ends our group: its members are taken over as the
	 * holder is (each was checked to be the helper that joined). */
	if (mine != NONE && (g = groups_find(&gs, mine))) {
		for (unsigned k = 0; k < g->n; k++)
			if (g->m[k].pid != who->pid && g->m[k].pid != previous)
				stale[nstale++] = g->m[k].pid;
		groups_drop(&gs, g);
	}
	if ((g = groups_find(&gs, idx)))
		groups_drop(&gs, g);
	if (mine != NONE)
		tab[mine].used = false;
	tab[idx].used = true;
	snprintf(tab[idx].id, sizeof(tab[idx].id), "%s", who->id);
	tab[idx].pid = who->pid;
	tab[idx].time = now;
	tab[idx].uid = who->account->uid;
	if (store(pool, tab, size, &gs, err, errlen) < 0)
		goto out;
	pool_pair(pool, idx, out);
	out->previous_pid = previous;
	out->nstale = nstale;
	memcpy(out->stale, stale, nstale * sizeof(stale[0]));
	ret = 0;
out:
	close_leases(fd, tab, &gs);
	return ret;
}

int pool_release(const struct pool *pool, const struct lease_holder *who)
{
	unsigned size = pool_size(pool), i;
	struct groups gs = { 0 };
	struct entry *tab = NULL;
	struct group *g;
	char err[ERROR_MSG_MAX];
	bool dirty = false;
	int fd, ret = -1;

	if (!size || !valid_id(who->id))
		return -1;
	fd = open_leases(pool, size, &tab, &gs, &dirty, err, sizeof(err));
	if (fd < 0)
		goto out;
	i = find_holder(tab, size, who);
	ret = 0;
	g = i != NONE ? groups_find(&gs, i) : NULL;
	if (g && group_leave(g, who->pid))
		dirty = true;
	if (i == NONE || tab[i].pid != who->pid) {
		/* A newer helper took it over (leave it be), or a member left. */
		if (dirty)
			ret = store(pool, tab, size, &gs, err, sizeof(err));
		goto out;
	}
	if (g && g->n) {
		log_verbose("pair %u passes to member %d of client %s's group", i, (int)g->m[0].pid,
			    who->id);
		tab[i].pid = g->m[0].pid;
		tab[i].time = (long long)time(NULL);	/* it holds it from now */
	} else {
		if (g)
			groups_drop(&gs, g);
		tab[i].pid = 0;
		tab[i].time = (long long)time(NULL);
	}
	ret = store(pool, tab, size, &gs, err, sizeof(err));
out:
	if (ret < 0)
		log_warn("releasing the lease of %s: %s", who->id, err);
	close_leases(fd, tab, &gs);
	return ret;
}

int pool_group_create(const struct pool *pool, const struct lease_holder *who, const char *token,
		      const char *ifname, int ifindex, unsigned mtu, int conn, char *err, size_t errlen)
{
	unsigned size = pool_size(pool), i;
	struct groups gs = { 0 };
	struct entry *tab = NULL;
	struct group *g;
	bool dirty;
	int fd, ret = -1;

	if (!size || !valid_id(who->id))
		return errorf(err, errlen, "bad client id `%s'", who->id);
	if (strlen(ifname) >= IFNAMSIZ || !*ifname || strchr(ifname, ' '))
		return errorf(err, errlen, "bad interface name `%s'", ifname);
	fd = open_leases(pool, size, &tab, &gs, &dirty, err, errlen);
	if (fd < 0)
		return -1;
	i = find_holder(tab, size, who);
	if (i == NONE || tab[i].pid != who->pid) {
		errorf(err, errlen, "client %s's lease is not helper %d's", who->id, (int)who->pid);
		goto out;
	}
	g = groups_add(&gs, i);
	if (!g) {
		errorf(err, errlen, "out of memory for a group");
		goto out;
	}
	g->uid = who->account->uid;
	snprintf(g->id, sizeof(g->id), "%s", who->id);
	group_token_hash(token, g->hash);
	snprintf(g->ifname, sizeof(g->ifname), "%s", ifname);
	g->ifindex = ifindex;
	g->mtu = mtu;
	member_add(g, who->pid, conn >= 0 && conn <= HELLO_CONN_LAST ? conn : -1);
	ret = store(pool, tab, size, &gs, err, errlen);
out:
	close_leases(fd, tab, &gs);
	return ret;
}

int pool_group_join(const struct pool *pool, const struct lease_holder *who, const char *token,
		    int conn, struct pool_join *out, char *err, size_t errlen)
{
	unsigned size = pool_size(pool), i;
	struct groups gs = { 0 };
	struct entry *tab = NULL;
	struct group *g;
	struct group_member *old = NULL;
	bool dirty;
	int fd, ret = POOL_ERROR;

	memset(out, 0, sizeof(*out));
	if (!size || !valid_id(who->id))
		return errorf(err, errlen, "bad client id `%s'", who->id);
	if (conn < -1 || conn > HELLO_CONN_LAST)
		return errorf(err, errlen, "bad connection number %d", conn);
	if (strlen(token) != HELLO_ID_LEN) {
		errorf(err, errlen, "bad join token (%zu characters)", strlen(token));
		return POOL_NOJOIN;
	}
	fd = open_leases(pool, size, &tab, &gs, &dirty, err, errlen);
	if (fd < 0)
		return POOL_ERROR;
	ret = POOL_NOJOIN;
	i = find_holder(tab, size, who);
	g = i != NONE ? groups_find(&gs, i) : NULL;
	if (!g || !live(&tab[i]))
		errorf(err, errlen, "no connection group of client %s for account %s (it has ended, "
		       "or never was)", who->id, who->account->name);
	else if (!group_token_ok(g, token))
		errorf(err, errlen, "the join token does not match client %s's group", who->id);
	else if (!(old = group_conn(g, conn, who->pid)) && !is_member(g, who->pid) &&
		 g->n >= GROUP_MAX_MEMBERS)
		errorf(err, errlen, "client %s's group has %u connections, the most there may be",
		       who->id, g->n);
	else
		ret = 0;
	/* The client's connection of the same number rejoins: the old one's
	 * helper is a half-open session the client has given up on.  It
	 * leaves the group here (settled members only: the same process
	 * that joined) and the caller stops it. */
	if (ret == 0 && old) {
		out->replaces = old->pid;
		group_leave(g, old->pid);
		dirty = true;
	}
	if (ret == 0 && !is_member(g, who->pid)) {
		member_add(g, who->pid, conn);
		dirty = true;
	}
	if (ret == 0) {
		pool_pair(pool, i, &out->lease);
		snprintf(out->ifname, sizeof(out->ifname), "%s", g->ifname);
		out->ifindex = g->ifindex;
		out->mtu = g->mtu;
		/* A replaced holder hands the lease to a member now (g may
		 * move in gs: not used after). */
		if (out->replaces)
			settle_groups(tab, size, &gs);
	}
	if (dirty && store(pool, tab, size, &gs, err, errlen) < 0) {
		out->replaces = 0;
		ret = POOL_ERROR;
	}
	close_leases(fd, tab, &gs);
	return ret;
}

int pool_group_lost(const struct pool *pool, const struct lease_holder *who, int conn, pid_t *stop,
		    char *err, size_t errlen)
{
	unsigned size = pool_size(pool), i;
	struct groups gs = { 0 };
	struct entry *tab = NULL;
	struct group *g;
	struct group_member *m;
	bool dirty;
	int fd, ret = -1;

	*stop = 0;
	if (!size || !valid_id(who->id))
		return errorf(err, errlen, "bad client id `%s'", who->id);
	if (conn < 0 || conn > HELLO_CONN_LAST)
		return errorf(err, errlen, "bad connection number %d (0..%d)", conn, HELLO_CONN_LAST);
	fd = open_leases(pool, size, &tab, &gs, &dirty, err, errlen);
	if (fd < 0)
		return -1;
	i = find_holder(tab, size, who);
	g = i != NONE ? groups_find(&gs, i) : NULL;
	/* Only a member speaks for its own group (same id, same account). */
	if (!g || !is_member(g, who->pid)) {
		errorf(err, errlen, "helper %d is no member of a connection group of client %s",
		       (int)who->pid, who->id);
		goto out;
	}
	ret = 0;
	m = group_conn(g, conn, who->pid);
	if (m) {
		*stop = m->pid;
		group_leave(g, m->pid);
		settle_groups(tab, size, &gs);	/* a holder stopped: a member holds it */
		dirty = true;
	}
	if (dirty && store(pool, tab, size, &gs, err, errlen) < 0) {
		*stop = 0;
		ret = -1;
	}
out:
	close_leases(fd, tab, &gs);
	return ret;
}
