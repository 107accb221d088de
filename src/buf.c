/* Big-endian integers and a bounds-checked reader over untrusted bytes. */
#include "buf.h"

static void put_u16(uint8_t *dst, uint16_t v)
{
	dst[0] = (uint8_t)(v >> 8);
	dst[1] = (uint8_t)v;
}

void put_u32(uint8_t *dst, uint32_t v)
{
	put_u16(dst, (uint16_t)(v >> 16));
	put_u16(dst + 2, (uint16_t)v);
}

void put_u64(uint8_t *dst, uint64_t v)
{
	put_u32(dst, (uint32_t)(v >> 32));
	put_u32(dst + 4, (uint32_t)v);
}

uint16_t get_u16(const uint8_t *src)
{
	return (uint16_t)((unsigned)src[0] << 8 | src[1]);
}

uint32_t get_u32(const uint8_t *src)
{
	return (uint32_t)get_u16(src) << 16 | get_u16(src + 2);
}

uint64_t get_u64(const uint8_t *src)
{
	return (uint64_t)get_u32(src) << 32 | get_u32(src + 4);
}

/* Every getter goes through here: the length is checked before the pointer
 * is formed, and a short read leaves the reader where it was. */
int reader_bytes(struct reader *r, size_t n, const uint8_t **p)
{
	if (r->off > r->len || n > r->len - r->off)
		return -1;
	*p = r->p + r->off;
	r->off += n;
	return 0;
}

int reader_u32(struct reader *r, uint32_t *v)
{
	const uint8_t *p;

	if (reader_bytes(r, 4, &p) < 0)
		return -1;
	*v = get_u32(p);
	return 0;
}

int reader_u64(struct reader *r, uint64_t *v)
{
	const uint8_t *p;

	if (reader_bytes(r, 8, &p) < 0)
		return -1;
	*v = get_u64(p);
	return 0;
}
