/* The fair queue.  See fq.h; RFC 8290 and RFC 8289 are the model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common.h"
#include "fail.h"
#include "fq.h"

#define NONE UINT32_MAX

enum { LIST_NONE, LIST_NEW, LIST_OLD };

struct fq_pkt {
	uint32_t next;
	uint32_t len;
	uint64_t enq_us;
};

struct fq_flow {
	uint32_t head, tail;	/* packets, oldest first */
	uint32_t bytes;
	int32_t deficit;
	uint32_t next;		/* on the new or old list */
	uint8_t list;
	/* CoDel */
	bool dropping;
	uint32_t count, lastcount;
	uint64_t first_above_us, drop_next_us;
};

struct flow_list {
	uint32_t head, tail;
};

struct fq {
	unsigned mtu;
	unsigned hdr;		/* bytes before the IP header (fq_set_hdr) */
	size_t slot_size;
	uint32_t npkts;
	uint8_t *data;		/* npkts slots of slot_size */
	struct fq_pkt *pkts;
	uint32_t free_head;	/* unused slots */
	uint32_t pending;	/* handed out by fq_slot, not yet enqueued */
	uint32_t seed;
	uint64_t now_us;
	struct flow_list new_flows, old_flows;
	struct fq_flow flows[FQ_FLOWS];
	struct fq_stats st;
};

/* ---- the pool ---- */

static void pool_init(struct fq *q)
{
	for (uint32_t i = 0; i < q->npkts; i++)
		q->pkts[i].next = i + 1 < q->npkts ? i + 1 : NONE;
	q->free_head = 0;
	q->pending = NONE;
	for (unsigned i = 0; i < FQ_FLOWS; i++) {
		memset(&q->flows[i], 0, sizeof(q->flows[i]));
		q->flows[i].head = q->flows[i].tail = q->flows[i].next = NONE;
	}
	q->new_flows.head = q->new_flows.tail = NONE;
	q->old_flows.head = q->old_flows.tail = NONE;
	q->st.flows = q->st.packets = 0;
	q->st.bytes = 0;
	q->st.delay_us = 0;
}

static void slot_put(struct fq *q, uint32_t i)
{
	q->pkts[i].next = q->free_head;
	q->free_head = i;
}

int fq_set_mtu(struct fq *q, unsigned mtu)
{
	size_t slot = (size_t)mtu + 1;
	uint32_t n = FQ_LIMIT_PKTS;
	uint8_t *data;
	struct fq_pkt *pkts;

	if (mtu < 20 || mtu > FQ_LEN_MAX)
		return fail(EXIT_ERROR, "fair queue: MTU %u out of range", mtu);
	if ((size_t)n * slot > FQ_POOL_MAX)
		n = (uint32_t)(FQ_POOL_MAX / slot);
	data = malloc((size_t)n * slot);
	pkts = calloc(n, sizeof(*pkts));
	if (!data || !pkts) {
		free(data);
		free(pkts);
		return fail(EXIT_ERROR, "out of memory for the fair queue (%u packets of %u bytes)", n, mtu);
	}
	q->st.drops_full += q->st.packets;
	free(q->data);
	free(q->pkts);
	q->data = data;
	q->pkts = pkts;
	q->npkts = n;
	q->mtu = mtu;
	q->slot_size = slot;
	pool_init(q);
	return 0;
}

struct fq *fq_new(unsigned mtu)
{
	struct fq *q = calloc(1, sizeof(*q));

	if (!q) {
		fail(EXIT_ERROR, "out of memory for the fair queue");
		return NULL;
	}
	/* A secret seed: a peer who cannot predict the buckets cannot steer
	 * its flows into a victim's. */
	if (getrandom(&q->seed, sizeof(q->seed), GRND_NONBLOCK) != sizeof(q->seed))
		q->seed = 0x9e3779b9u ^ (uint32_t)(uintptr_t)q;
	if (fq_set_mtu(q, mtu) < 0) {
		free(q);
		return NULL;
	}
	return q;
}

void fq_free(struct fq *q)
{
	if (!q)
		return;
	free(q->data);
	free(q->pkts);
	free(q);
}

unsigned fq_mtu(const struct fq *q)
{
	return q->mtu;
}

void fq_clear(struct fq *q)
{
	q->st.drops_full += q->st.packets;
	pool_init(q);
}

void fq_set_seed(struct fq *q, uint32_t seed)
{
	q->seed = seed;
}

void fq_set_now(struct fq *q, uint64_t now_us)
{
	q->now_us = now_us;
}

bool fq_empty(const struct fq *q)
{
	return q->st.packets == 0;
}

void fq_get_stats(const struct fq *q, struct fq_stats *st)
{
	*st = q->st;
	if (!q->st.packets)
		st->delay_us = 0;
}

/* ---- classification ---- */

static uint32_t mix(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;	/* FNV-1a step */
	return h;
}

static uint32_t finish(uint32_t h)
{
	/* Spread the low bits: the bucket is h % FQ_FLOWS. */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 33 || proto == 132 || proto == 136;	/* TCP UDP DCCP SCTP UDP-Lite */
}

/* The 5-tuple where there is one; fragments (whose later pieces carry no
 * ports) and other protocols by addresses and protocol; anything that is
 * not an IP header we can read shares one bucket. */
unsigned fq_bucket(const struct fq *q, const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u ^ q->seed;

	if (len >= 20 && p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 0x0f) * 4;
		bool frag = (p[6] & 0x3f) || p[7];	/* MF or an offset */

		h = mix(h, p + 9, 1);
		h = mix(h, p + 12, 8);
		if (ihl >= 20 && !frag && has_ports(p[9]) && len >= ihl + 4)
			h = mix(h, p + ihl, 4);
	} else if (len >= 40 && p[0] >> 4 == 6) {
		h = mix(h, p + 6, 1);
		h = mix(h, p + 8, 32);
		/* Only ports right behind the fixed header: extension headers
		 * (fragments among them) leave the flow to the addresses. */
		if (has_ports(p[6]) && len >= 44)
			h = mix(h, p + 40, 4);
		else
			h = mix(h, p + 1, 3);	/* the flow label */
	} else {
		return 0;
	}
	return finish(h) % FQ_FLOWS;
}

/* ---- flows and lists ---- */

static void list_push(struct fq *q, struct flow_list *l, uint32_t fi, uint8_t which)
{
	q->flows[fi].next = NONE;
	q->flows[fi].list = which;
	if (l->tail == NONE)
		l->head = fi;
	else
		q->flows[l->tail].next = fi;
	l->tail = fi;
}

static uint32_t list_pop(struct fq *q, struct flow_list *l)
{
	uint32_t fi = l->head;

	if (fi == NONE)
		return NONE;
	l->head = q->flows[fi].next;
	if (l->head == NONE)
		l->tail = NONE;
	q->flows[fi].next = NONE;
	q->flows[fi].list = LIST_NONE;
	return fi;
}

/* Takes the head packet off flow fi; NONE when it has none. */
static uint32_t flow_pop(struct fq *q, uint32_t fi)
{
	struct fq_flow *f = &q->flows[fi];
	uint32_t i = f->head;

	if (i == NONE)
		return NONE;
	f->head = q->pkts[i].next;
	if (f->head == NONE) {
		f->tail = NONE;
		q->st.flows--;
	}
	f->bytes -= q->pkts[i].len;
	q->st.packets--;
	q->st.bytes -= q->pkts[i].len;
	return i;
}

static uint32_t fattest(const struct fq *q)
{
	uint32_t best = NONE, bytes = 0;

	for (uint32_t i = 0; i < FQ_FLOWS; i++)
		if (q->flows[i].bytes > bytes) {
			bytes = q->flows[i].bytes;
			best = i;
		}
	return best;
}

/* At a cap: the head of the fattest flow goes, as fq_codel does, so that a
 * flood cannot push a sparse flow out.  The flow stays on its list; DRR
 * finds it empty and moves on. */
static void drop_fattest(struct fq *q)
{
	uint32_t fi = fattest(q), i;

	if (fi == NONE || (i = flow_pop(q, fi)) == NONE)
		return;
	slot_put(q, i);
	q->st.drops_full++;
}

void fq_set_hdr(struct fq *q, unsigned hdr)
{
	q->hdr = hdr <= FQ_HDR_MAX ? hdr : FQ_HDR_MAX;
}

uint8_t *fq_slot(struct fq *q)
{
	if (q->pending == NONE) {
		if (q->free_head == NONE)
			drop_fattest(q);
		/* Every slot is either free, queued or pending, and there is
		 * at least one: with none free, some flow has packets. */
		q->pending = q->free_head;
		q->free_head = q->pkts[q->pending].next;
	}
	return q->data + (size_t)q->pending * q->slot_size;
}

void fq_enqueue(struct fq *q, size_t len)
{
	uint32_t i = q->pending, fi;
	struct fq_flow *f;

	if (i == NONE || len == 0 || len > q->mtu)
		return;
	q->pending = NONE;
	fi = len > q->hdr ? fq_bucket(q, q->data + (size_t)i * q->slot_size + q->hdr, len - q->hdr) : 0;
	f = &q->flows[fi];
	q->pkts[i].next = NONE;
	q->pkts[i].len = (uint32_t)len;
	q->pkts[i].enq_us = q->now_us;
	if (f->tail == NONE) {
		f->head = i;
		q->st.flows++;
	} else {
		q->pkts[f->tail].next = i;
	}
	f->tail = i;
	f->bytes += (uint32_t)len;
	q->st.packets++;
	q->st.bytes += len;
	/* A flow not on a list was idle: it goes first, with a full quantum. */
	if (f->list == LIST_NONE) {
		list_push(q, &q->new_flows, fi, LIST_NEW);
		f->deficit = (int32_t)q->mtu;
	}
	while (q->st.bytes > FQ_LIMIT_BYTES)
		drop_fattest(q);
}

/* ---- CoDel (RFC 8289), per flow ---- */

static uint64_t isqrt(uint64_t x)
{
	uint64_t r = 0, b = (uint64_t)1 << 62;

	while (b > x)
		b >>= 2;
	while (b) {
		if (x >= r + b) {
			x -= r + b;
			r = (r >> 1) + b;
		} else {
			r >>= 1;
		}
		b >>= 2;
	}
	return r;
}

/* t + interval / sqrt(count), the square root in 1/1024ths. */
static uint64_t control_law(uint64_t t, uint32_t count)
{
	return t + ((uint64_t)FQ_INTERVAL_US << 10) / isqrt((uint64_t)(count ? count : 1) << 20);
}

/* Has packet i (just taken off f) waited too long for too long?  A flow
 * with no more than one MTU left is never punished: its queue is drained. */
static bool ok_to_drop(struct fq *q, struct fq_flow *f, uint32_t i)
{
	uint64_t sojourn;

	if (i == NONE) {
		f->first_above_us = 0;
		return false;
	}
	sojourn = q->now_us > q->pkts[i].enq_us ? q->now_us - q->pkts[i].enq_us : 0;
	q->st.delay_us = sojourn;
	if (sojourn > q->st.delay_peak_us)
		q->st.delay_peak_us = sojourn;
	if (sojourn < FQ_TARGET_US || f->bytes <= q->mtu) {
		f->first_above_us = 0;
		return false;
	}
	if (f->first_above_us == 0) {
		f->first_above_us = q->now_us + FQ_INTERVAL_US;
		return false;
	}
	return q->now_us >= f->first_above_us;
}

static void codel_drop(struct fq *q, uint32_t i)
{
	slot_put(q, i);
	q->st.drops_codel++;
}

/* The next packet of flow fi that CoDel lets through, or NONE. */
static uint32_t codel_dequeue(struct fq *q, uint32_t fi)
{
	struct fq_flow *f = &q->flows[fi];
	uint32_t i = flow_pop(q, fi);
	bool drop = ok_to_drop(q, f, i);

	if (i == NONE) {
		f->dropping = false;
		return NONE;
	}
	if (f->dropping) {
		if (!drop) {
			f->dropping = false;
			return i;
		}
		while (f->dropping && q->now_us >= f->drop_next_us) {
			codel_drop(q, i);
			f->count++;
			i = flow_pop(q, fi);
			if (!ok_to_drop(q, f, i))
				f->dropping = false;
			else
				f->drop_next_us = control_law(f->drop_next_us, f->count);
		}
		return i;
	}
	if (drop) {
		uint32_t delta = f->count - f->lastcount;

		codel_drop(q, i);
		i = flow_pop(q, fi);
		ok_to_drop(q, f, i);
		f->dropping = true;
		/* Back into dropping soon after leaving it: carry on near the
		 * rate that was reached, not from the start. */
		if (delta > 1 && q->now_us < f->drop_next_us + 16 * (uint64_t)FQ_INTERVAL_US)
			f->count = delta;
		else
			f->count = 1;
		f->lastcount = f->count;
		f->drop_next_us = control_law(q->now_us, f->count);
	}
	return i;
}

/* ---- deficit round robin (RFC 8290 section 4) ---- */

const uint8_t *fq_dequeue(struct fq *q, size_t *len)
{
	for (;;) {
		struct flow_list *l = q->new_flows.head != NONE ? &q->new_flows : &q->old_flows;
		uint32_t fi = l->head, i;
		struct fq_flow *f;

		if (fi == NONE) {
			q->st.delay_us = 0;
			return NULL;
		}
		f = &q->flows[fi];
		if (f->deficit <= 0) {
			f->deficit += (int32_t)q->mtu;
			list_pop(q, l);
			list_push(q, &q->old_flows, fi, LIST_OLD);
			continue;
		}
		i = codel_dequeue(q, fi);
		if (i == NONE) {
			list_pop(q, l);
			/* An emptied new flow goes to the old list first, so that
			 * a flow cannot stay "new" by emptying itself each round. */
			if (l == &q->new_flows && q->old_flows.head != NONE)
				list_push(q, &q->old_flows, fi, LIST_OLD);
			continue;
		}
		f->deficit -= (int32_t)q->pkts[i].len;
		slot_put(q, i);	/* its bytes stay until the next fq_slot */
		*len = q->pkts[i].len;
		return q->data + (size_t)i * q->slot_size;
	}
}
