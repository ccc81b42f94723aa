/* mpcheck: a structural walk over msgpack bytes that allocates nothing.
 * msgpack-c allocates an array's or map's elements as soon as it reads the
 * header, so a tiny message claiming 2^32 elements would make it reserve
 * gigabytes.  Every element takes at least one byte, so a count larger than the
 * bytes left is a lie; nesting is capped at PROTO_MAX_DEPTH; ext types and the
 * reserved byte 0xc1 are refused. */
#include "proto.h"

static uint64_t
mpcheck_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int
proto_mpcheck(const uint8_t *buf, size_t len, size_t *end_r, const char **err_r)
{
	uint64_t pending[PROTO_MAX_DEPTH + 1];
	int depth = 0;
	size_t off = 0;

	pending[0] = 1;
	for (;;) {
		uint8_t b;
		uint64_t skip = 0, children = 0;
		unsigned lenbytes = 0;

		while (depth > 0 && pending[depth] == 0)
			depth--;
		if (pending[depth] == 0)
			break;
		pending[depth]--;
		if (off >= len) {
			*err_r = "message truncated";
			return -1;
		}
		b = buf[off++];
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixint, nil, bool */
		} else if (b >= 0x80 && b <= 0x8f) {
			children = (uint64_t)(b & 0x0f) * 2;
		} else if (b >= 0x90 && b <= 0x9f) {
			children = b & 0x0f;
		} else if (b >= 0xa0 && b <= 0xbf) {
			skip = b & 0x1f;
		} else {
			switch (b) {
			case 0xc4: case 0xd9: lenbytes = 1; break;          /* bin8, str8 */
			case 0xc5: case 0xda: lenbytes = 2; break;          /* bin16, str16 */
			case 0xc6: case 0xdb: lenbytes = 4; break;          /* bin32, str32 */
			case 0xca: skip = 4; break;                         /* float32 */
			case 0xcb: skip = 8; break;                         /* float64 */
			case 0xcc: case 0xd0: skip = 1; break;
			case 0xcd: case 0xd1: skip = 2; break;
			case 0xce: case 0xd2: skip = 4; break;
			case 0xcf: case 0xd3: skip = 8; break;
			case 0xdc: case 0xde: lenbytes = 2; break;          /* array16, map16 */
			case 0xdd: case 0xdf: lenbytes = 4; break;          /* array32, map32 */
			default:
				*err_r = b == 0xc1 ? "reserved msgpack byte 0xc1" : "msgpack ext types are not accepted";
				return -1;
			}
			if (lenbytes > 0) {
				uint64_t n;

				if (len - off < lenbytes) {
					*err_r = "message truncated";
					return -1;
				}
				n = mpcheck_be(buf + off, lenbytes);
				off += lenbytes;
				if (b == 0xdc || b == 0xdd)
					children = n;
				else if (b == 0xde || b == 0xdf)
					children = n * 2;
				else
					skip = n;
			}
		}
		if (skip > len - off) {
			*err_r = "message truncated";
			return -1;
		}
		off += (size_t)skip;
		if (children > 0) {
			if (children > len - off) {
				*err_r = "element count exceeds message size";
				return -1;
			}
			if (depth == PROTO_MAX_DEPTH) {
				*err_r = "message nested too deeply";
				return -1;
			}
			pending[++depth] = children;
		}
	}
	*end_r = off;
	return 0;
}
