/* Flows to connections.  See steer.h. */
#include <string.h>

#include "steer.h"

/* One side of a flow: address (4 or 16 bytes, zero-padded) and port. */
struct end {
	uint8_t addr[16];
	uint8_t port[2];
};

struct tuple {
	struct end a, b;	/* a <= b: the same for both directions */
	uint8_t family;		/* 4 or 6 */
	uint8_t proto;
};

/* Protocols whose first four bytes are the source and destination port. */
static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

/* A 64-bit word into the hash: multiply-rotate rounds, each word's bits
 * spread over the whole state before the next comes. */
static uint64_t stir(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

static uint64_t hash_bytes(uint64_t seed, const uint8_t *p, size_t len)
{
	uint64_t h = stir(seed, len);
	uint8_t tail[8];

	for (; len >= 8; p += 8, len -= 8)
		h = stir(h, load64(p));
	if (len) {
		memset(tail, 0, sizeof(tail));
		memcpy(tail, p, len);
		h = stir(h, load64(tail));
	}
	return h ? h : 1;	/* 0 marks a free slot */
}

/* The tuple with its ends in order, so that a reply has the same key. */
static uint64_t tuple_key(uint64_t seed, struct tuple *t)
{
	if (memcmp(&t->a, &t->b, sizeof(t->a)) > 0) {
		struct end x = t->a;

		t->a = t->b;
		t->b = x;
	}
	return hash_bytes(seed, (const uint8_t *)t, sizeof(*t));
}

/* IPv6: past the extension headers we know the length of, to the upper
 * protocol at *off; a fragment (other than an atomic one) says so.  False
 * when a header runs past the packet. */
static bool v6_upper(const uint8_t *p, size_t len, uint8_t *proto, size_t *off, bool *frag)
{
	uint8_t nh = p[6];
	size_t at = 40;

	*frag = false;
	for (int i = 0; i < 8; i++) {
		if (nh == 0 || nh == 43 || nh == 60 || nh == 51) {
			if (at + 2 > len)
				return false;
			size_t hl = nh == 51 ? ((size_t)p[at + 1] + 2) * 4 : ((size_t)p[at + 1] + 1) * 8;

			nh = p[at];
			at += hl;
		} else if (nh == 44) {
			if (at + 8 > len)
				return false;
			if (((p[at + 2] << 8 | p[at + 3]) & 0xfff8) || (p[at + 3] & 1))
				*frag = true;
			nh = p[at];
			at += 8;
			if (*frag)
				break;
		} else {
			break;
		}
	}
	if (at > len)
		return false;
	*proto = nh;
	*off = at;
	return true;
}

enum steer_kind steer_key(const struct steer *s, const uint8_t *p, size_t len, uint64_t *key)
{
	struct tuple t;
	size_t off;
	bool frag;

	memset(&t, 0, sizeof(t));
	if (len >= 20 && p[0] >> 4 == 4) {
		off = (size_t)(p[0] & 15) * 4;
		if (off < 20 || off > len)
			goto bad;
		t.family = 4;
		t.proto = p[9];
		memcpy(t.a.addr, p + 12, 4);
		memcpy(t.b.addr, p + 16, 4);
		frag = (p[6] & 0x3f) || p[7];	/* more fragments, or an offset */
	} else if (len >= 40 && p[0] >> 4 == 6) {
		if (!v6_upper(p, len, &t.proto, &off, &frag))
			goto bad;
		t.family = 6;
		memcpy(t.a.addr, p + 8, 16);
		memcpy(t.b.addr, p + 24, 16);
	} else {
		goto bad;
	}
	if (frag) {
		*key = tuple_key(s->seed, &t);
		return STEER_FRAGMENT;
	}
	if (!has_ports(t.proto)) {
		*key = tuple_key(s->seed, &t);
		return STEER_OTHER;
	}
	if (off + 4 > len)
		goto bad;
	memcpy(t.a.port, p + off, 2);
	memcpy(t.b.port, p + off + 2, 2);
	*key = tuple_key(s->seed, &t);
	return STEER_FLOW;
bad:
	*key = hash_bytes(s->seed ^ 1, p, len < 40 ? len : 40);
	return STEER_BAD;
}

void steer_init(struct steer *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
}

static bool idle(const struct steer_entry *e, uint64_t now_ms)
{
	return (uint32_t)((uint32_t)now_ms - e->seen_ms) > STEER_IDLE_MS;
}

static void release(struct steer *s, struct steer_entry *e)
{
	if (e->counted && e->conn < STEER_CONNS && s->flows[e->conn])
		s->flows[e->conn]--;
	e->key = 0;
}

/* Once a second: idle flows go, and the bytes figure decays. */
static void sweep(struct steer *s, uint64_t now_ms)
{
	if (s->swept && now_ms < s->next_sweep_ms)
		return;
	s->swept = true;
	s->next_sweep_ms = now_ms + STEER_SWEEP_MS;
	for (size_t i = 0; i < STEER_SLOTS; i++)
		if (s->e[i].key && idle(&s->e[i], now_ms))
			release(s, &s->e[i]);
	for (int c = 0; c < STEER_CONNS; c++)
		s->bytes[c] /= 2;
}

/* The live connection with the fewest flows, then the fewest bytes, then
 * the lowest index. */
static int least_loaded(const struct steer *s, unsigned alive)
{
	int best = -1;

	for (int c = 0; c < STEER_CONNS; c++) {
		if (!(alive & 1u << c))
			continue;
		if (best < 0 || s->flows[c] < s->flows[best] ||
		    (s->flows[c] == s->flows[best] && s->bytes[c] < s->bytes[best]))
			best = c;
	}
	return best;
}

/* The (key mod live)th live connection: stable for a key while the same
 * connections live. */
static int by_hash(uint64_t key, unsigned alive)
{
	unsigned n = (unsigned)__builtin_popcount(alive), k = (unsigned)(key % n);

	for (int c = 0; c < STEER_CONNS; c++)
		if (alive & 1u << c && !k--)
			return c;
	return -1;	/* cannot happen: alive has n bits */
}

int steer_pick(struct steer *s, const uint8_t *pkt, size_t len, unsigned alive, uint64_t now_ms)
{
	struct steer_entry *hit = NULL, *room = NULL;
	uint64_t key;
	enum steer_kind kind;
	int c;

	alive &= (1u << STEER_CONNS) - 1;
	if (!alive)
		return -1;
	sweep(s, now_ms);
	switch ((kind = steer_key(s, pkt, len, &key))) {
	case STEER_FLOW:
	case STEER_OTHER:
		break;
	case STEER_FRAGMENT:
		s->fragments++;
		return by_hash(key, alive);
	default:
		s->unparsed++;
		return by_hash(key, alive);
	}
	for (size_t i = 0; i < STEER_PROBE; i++) {
		struct steer_entry *e = &s->e[(key + i) & (STEER_SLOTS - 1)];

		if (e->key == key) {
			hit = e;
			break;
		}
		if (!room && (!e->key || idle(e, now_ms)))
			room = e;
	}
	if (hit && (idle(hit, now_ms) || !(alive & 1u << hit->conn))) {
		release(s, hit);	/* gone quiet, or its connection went */
		room = hit;
		hit = NULL;
	}
	if (hit) {
		c = hit->conn;
	} else if (room) {
		if (room->key)
			release(s, room);	/* an idle flow the sweep has not seen yet */
		c = least_loaded(s, alive);
		room->key = key;
		room->conn = (uint8_t)c;
		room->counted = kind == STEER_FLOW;
		s->flows[c] += room->counted;
		hit = room;
	} else {
		s->table_full++;
		return by_hash(key, alive);
	}
	hit->seen_ms = (uint32_t)now_ms;
	s->bytes[c] += len;
	return c;
}

void steer_forget(struct steer *s, int conn)
{
	if (conn < 0 || conn >= STEER_CONNS)
		return;
	for (size_t i = 0; i < STEER_SLOTS; i++)
		if (s->e[i].key && s->e[i].conn == conn)
			s->e[i].key = 0;
	s->flows[conn] = 0;
	s->bytes[conn] = 0;
}

unsigned steer_flows(const struct steer *s, int conn)
{
	return conn >= 0 && conn < STEER_CONNS ? s->flows[conn] : 0;
}
