/* OpenSSH certificates as the client reads them (an agent's identity blob
 * or a -cert.pub file's), and the host patterns of known_hosts marker
 * lines.
 *
 * Input: one byte of knobs, then the data.
 *   bit 0  the data is a certificate blob for cert_parse (+ cert_problem,
 *          cert_signable); else "PATTERNS\nNAME" for known_hosts_match
 * Checks: a parsed certificate's certified key lies inside the blob, its
 * principals fit, its texts are printable and terminated; a refusal says
 * why; matching ends (no exponential backtracking) and is deterministic. */
#include <string.h>

#include "certs.h"
#include "fuzz.h"
#include "known_hosts.h"

static bool printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static void one_cert(const uint8_t *p, size_t n)
{
	struct cert_info ci;
	char err[300], why[400];

	err[0] = '\0';
	if (cert_parse(p, n, &ci, err, sizeof(err)) < 0) {
		CHECK(err[0]);
		return;
	}
	CHECK(ci.pubkey >= p && ci.pubkey + ci.pubkey_len <= p + n);
	CHECK(ci.nprincipals >= 0 && ci.nprincipals <= CERT_PRINCIPALS_MAX);
	CHECK(cert_type_is(ci.type, strlen(ci.type)));
	CHECK(printable(ci.key_id, sizeof(ci.key_id)));
	for (int i = 0; i < ci.nprincipals; i++)
		CHECK(printable(ci.principals[i], sizeof(ci.principals[i])));
	why[0] = '\0';
	if (cert_problem(&ci, "root", 1800000000, why, sizeof(why)) == 0)
		CHECK(why[0] && strnlen(why, sizeof(why)) < sizeof(why));
	why[0] = '\0';
	if (cert_signable(&ci, why, sizeof(why)) < 0)
		CHECK(why[0]);
}

static void one_match(const uint8_t *p, size_t n)
{
	char name[256];
	const uint8_t *nl = memchr(p, '\n', n);
	size_t plen = nl ? (size_t)(nl - p) : n, nlen = nl ? n - plen - 1 : 0;
	bool a, b;

	if (nlen >= sizeof(name))
		nlen = sizeof(name) - 1;
	memcpy(name, nl ? nl + 1 : p, nlen);
	name[nlen] = '\0';
	a = known_hosts_match((const char *)p, plen, name);
	b = known_hosts_match((const char *)p, plen, name);
	CHECK(a == b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		one_cert(data + 1, size - 1);
	else
		one_match(data + 1, size - 1);
	return 0;
}
