/* Bounds-checked reading of untrusted bytes, in the manner of OpenSSH's
 * sshbuf: every get checks the remaining length first and returns -1 without
 * moving when it is short.  Nothing indexes raw pointers into peer data. */
#ifndef SSHTUN_BUF_H
#define SSHTUN_BUF_H

#include <stddef.h>
#include <stdint.h>

struct reader {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline void reader_init(struct reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

int reader_u32(struct reader *r, uint32_t *v);
int reader_u64(struct reader *r, uint64_t *v);
/* Points *p at the next n bytes (no copy) and skips them. */
int reader_bytes(struct reader *r, size_t n, const uint8_t **p);

void put_u32(uint8_t *dst, uint32_t v);
void put_u64(uint8_t *dst, uint64_t v);
uint16_t get_u16(const uint8_t *src);
uint32_t get_u32(const uint8_t *src);
uint64_t get_u64(const uint8_t *src);

#endif
