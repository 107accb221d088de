/* The virtio-net header of a peer's GSO frame (vnet.h) on arbitrary bytes:
 * what vnet_check accepts must be safe to hand the kernel and to cut here.
 *
 * Input: u16 MTU (big-endian, kept within 68..65535), the 10-byte header,
 * then the packet.  Checks, for an accepted header: DATA_VALID is gone,
 * hdr_len and the checksum field lie inside the packet, a plain packet fits
 * the MTU; a super-packet has 1..VNET_SEGS_MAX segments, each within the
 * MTU, whose payloads put back together are the original's; the checksum
 * left to us is filled in without writing outside the packet.  A refusal
 * always says why. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vnet.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static uint8_t copy[VNET_PKT_MAX], seg[VNET_PKT_MAX + 1], whole[VNET_PKT_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vnet_hdr h;
	unsigned mtu;
	size_t len, segs, got = 0;
	char err[256];

	if (size < 2 + VNET_HDR_LEN)
		return 0;
	mtu = (unsigned)(data[0] << 8 | data[1]);
	if (mtu < 68)
		mtu = 68;
	vnet_hdr_get(data + 2, &h);
	data += 2 + VNET_HDR_LEN;
	len = size - 2 - VNET_HDR_LEN;
	err[0] = '\0';
	if (vnet_check(&h, data, len, mtu, err, sizeof(err)) < 0) {
		CHECK(err[0]);
		return 0;
	}
	CHECK(len >= 20 && len <= VNET_PKT_MAX);
	CHECK(!(h.flags & ~VNET_F_NEEDS_CSUM));
	CHECK(h.hdr_len <= len);
	if (h.flags & VNET_F_NEEDS_CSUM)
		CHECK((size_t)h.csum_start + h.csum_offset + 2 <= len && h.csum_start < h.hdr_len);
	if (h.gso_type == VNET_GSO_NONE) {
		CHECK(len <= mtu && !h.gso_size);
		size_t at = (size_t)h.csum_start + h.csum_offset;
		bool partial = h.flags & VNET_F_NEEDS_CSUM;

		memcpy(copy, data, len);
		vnet_finish_csum(&h, copy, len);
		CHECK(!h.flags);
		/* Only the checksum field may change, and only when asked. */
		for (size_t i = 0; i < len; i++)
			CHECK(copy[i] == data[i] || (partial && (i == at || i == at + 1)));
		return 0;
	}
	CHECK(h.flags & VNET_F_NEEDS_CSUM);
	segs = vnet_segments(&h, len);
	CHECK(segs >= 1 && segs <= VNET_SEGS_MAX);
	for (size_t i = 0; i < segs; i++) {
		size_t n = vnet_segment(&h, data, len, i, seg);

		CHECK(n > h.hdr_len && n <= mtu);
		CHECK(n - h.hdr_len <= h.gso_size);
		CHECK(got + n - h.hdr_len <= len - h.hdr_len);
		memcpy(whole + got, seg + h.hdr_len, n - h.hdr_len);
		got += n - h.hdr_len;
	}
	CHECK(got == len - h.hdr_len);
	CHECK(!memcmp(whole, data + h.hdr_len, got));
	return 0;
}
