/* Unit tests: authd's principal cache, cookie parsing/rendering and tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cookies.h"
#include "principal.h"
#include "token.h"

static struct principal *
mk(const char *sid, int64_t uid)
{
	struct proto_principal_get_rep pg = {0};
	struct proto_user_get_rep u = {0};
	const char *perms[] = {"a.b", "c.d"};

	pg.valid = true;
	pg.expires_at = "2999-01-01T00:00:00.000Z";
	pg.has_expires_at = true;
	u.id = uid;
	u.username = "u";
	u.email = "e@x";
	u.created_at = u.updated_at = "2026-01-01T00:00:00.000Z";
	u.theme = "dark";
	u.is_active = u.is_approved = true;
	u.permissions.v = perms;
	u.permissions.n = 2;
	return principal_new(sid, &pg, &u);
}

static void
key_of(const char *tok, unsigned char k[CACHE_KEY_BYTES])
{
	cache_key(tok, k);
}

static void
test_cache_lru_ttl(void **state)
{
	struct cache *c = cache_new(2, 1000);
	unsigned char k1[16], k2[16], k3[16];
	struct principal *p1 = mk("s1", 1), *p2 = mk("s2", 2), *p3 = mk("s3", 3), *got;
	struct cache_stats st;

	(void)state;
	key_of("t1", k1);
	key_of("t2", k2);
	key_of("t3", k3);
	cache_put(c, k1, p1, INT32_MAX, 0, cache_generation(c));
	cache_put(c, k2, p2, INT32_MAX, 0, cache_generation(c));
	got = cache_get(c, k1, 10);     /* k1 most recent now */
	assert_non_null(got);
	assert_true(principal_has(got, "c.d"));
	assert_false(principal_has(got, "c"));
	principal_unref(&got);
	cache_put(c, k3, p3, INT32_MAX, 10, cache_generation(c));   /* evicts k2 */
	assert_null(cache_get(c, k2, 20));
	got = cache_get(c, k3, 20);
	assert_non_null(got);
	principal_unref(&got);
	cache_stats(c, &st);
	assert_int_equal(st.size, 2);
	assert_int_equal(st.evictions, 1);
	/* TTL: put at 0 and 10, dead from 1000 and 1010 */
	assert_null(cache_get(c, k1, 1000));
	assert_int_equal(cache_sweep(c, 2000), 1);
	cache_stats(c, &st);
	assert_int_equal(st.size, 0);
	assert_true(st.hits >= 2);
	principal_unref(&p1);
	principal_unref(&p2);
	principal_unref(&p3);
	cache_free(&c);
	assert_null(c);
}

static void
test_cache_invalidation(void **state)
{
	struct cache *c = cache_new(16, 60000);
	unsigned char k1[16], k2[16], k3[16];
	struct principal *a = mk("sa", 7), *b = mk("sb", 7), *o = mk("so", 8), *got;
	uint64_t gen;

	(void)state;
	key_of("ta", k1);
	key_of("tb", k2);
	key_of("to", k3);
	cache_put(c, k1, a, INT32_MAX, 0, cache_generation(c));
	cache_put(c, k2, b, INT32_MAX, 0, cache_generation(c));
	cache_put(c, k3, o, INT32_MAX, 0, cache_generation(c));
	assert_int_equal(cache_drop_sid(c, "sb"), 1);
	assert_null(cache_get(c, k2, 1));
	assert_int_equal(cache_drop_user(c, 7), 1);
	assert_null(cache_get(c, k1, 1));
	got = cache_get(c, k3, 1);
	assert_non_null(got);
	principal_unref(&got);
	/* an answer fetched before an invalidation is not cached after it */
	gen = cache_generation(c);
	cache_drop_sid(c, "sa");
	cache_put(c, k1, a, INT32_MAX, 2, gen);
	assert_null(cache_get(c, k1, 3));
	assert_int_equal(cache_clear(c), 1);
	/* token expiry: never served past exp */
	cache_put(c, k3, o, 5, 0, cache_generation(c));
	assert_null(cache_get(c, k3, 5000));
	principal_unref(&a);
	principal_unref(&b);
	principal_unref(&o);
	cache_free(&c);
}

static void
test_cache_off(void **state)
{
	struct cache *c = cache_new(0, 1000);
	unsigned char k[16];
	struct principal *p = mk("s", 1);

	(void)state;
	key_of("t", k);
	cache_put(c, k, p, INT32_MAX, 0, cache_generation(c));
	assert_null(cache_get(c, k, 1));
	principal_unref(&p);
	cache_free(&c);
}

static void
test_cookies(void **state)
{
	struct cookie_jar jar;
	const char *err = NULL, *tok;
	char out[COOKIES_SET_MAX];
	int slot;

	(void)state;
	assert_int_equal(cookies_parse("a=1; kubarr_session_2=two; kubarr_active=2; "
	    "kubarr_session=leg; kubarr_session_0=\"zero\"", &jar, &err), 0);
	assert_string_equal(jar.slot[0], "zero");
	assert_string_equal(jar.slot[2], "two");
	assert_null(jar.slot[1]);
	assert_string_equal(jar.legacy, "leg");
	assert_int_equal(jar.active, 2);
	tok = cookies_pick(&jar, &slot);
	assert_string_equal(tok, "two");
	assert_int_equal(slot, 2);
	cookies_jar_fini(&jar);
	/* active slot empty: first present slot; bad active ignored */
	assert_int_equal(cookies_parse("kubarr_active=7; kubarr_session_3=x", &jar, &err), 0);
	assert_int_equal(jar.active, -1);
	assert_string_equal(cookies_pick(&jar, &slot), "x");
	assert_int_equal(slot, 3);
	cookies_jar_fini(&jar);
	assert_int_equal(cookies_parse("kubarr_session=only", &jar, &err), 0);
	assert_string_equal(cookies_pick(&jar, &slot), "only");
	assert_int_equal(slot, COOKIES_LEGACY);
	cookies_jar_fini(&jar);
	assert_int_equal(cookies_parse("kubarr_session_0=a\001b", &jar, &err), -1);
	assert_non_null(err);
	cookies_jar_fini(&jar);
	cookies_set_session(out, 1, "tok", 604800, true);
	assert_string_equal(out, "kubarr_session_1=tok; Path=/; Max-Age=604800; SameSite=Lax; "
	    "HttpOnly; Secure");
	cookies_set_session(out, COOKIES_LEGACY, NULL, 604800, false);
	assert_string_equal(out, "kubarr_session=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly");
	cookies_set_active(out, 4, 60, false);
	assert_string_equal(out, "kubarr_active=4; Path=/; Max-Age=60; SameSite=Lax");
	cookies_set_active(out, -1, 60, false);
	assert_string_equal(out, "kubarr_active=; Path=/; Max-Age=0; SameSite=Lax");
}

static void
test_tokens(void **state)
{
	struct token_keys k = {0}, other = {0};
	char sid[TOKEN_SID_LEN + 1], back[TOKEN_SID_LEN + 1], *t, *err = NULL;
	const char *why = NULL;
	int64_t exp = 0;

	(void)state;
	assert_int_equal(token_keys_generate(&k, &err), 0);
	assert_int_equal(token_keys_generate(&other, &err), 0);
	assert_int_equal(token_keys_check(&k, &err), 0);
	token_new_sid(sid);
	assert_true(token_sid_valid(sid));
	assert_false(token_sid_valid("0b1e7d8e-1111-4222-8333-44445555666G"));
	t = token_sign(&k, sid, 1000, 2000);
	assert_int_equal(token_verify(&k, t, 1500, back, &exp, &why), 0);
	assert_string_equal(back, sid);
	assert_int_equal(exp, 2000);
	assert_int_equal(token_verify(&k, t, 2000, back, &exp, &why), -1);
	assert_string_equal(why, "token expired");
	assert_int_equal(token_verify(&k, t, 900 - TOKEN_SKEW_S, back, &exp, &why), -1);
	assert_int_equal(token_verify(&other, t, 1500, back, &exp, &why), -1);
	assert_string_equal(why, "token signature invalid");
	t[strlen(t) - 3] ^= 1;
	assert_int_equal(token_verify(&k, t, 1500, back, &exp, &why), -1);
	free(t);
	assert_int_equal(token_check_shape("eyJhbGciOiJub25lIn0.e30.", &why), -1);
	assert_int_equal(token_check_shape("eyJhbGciOiJub25lIn0.e30.x", &why), -1);
	assert_string_equal(why, "token algorithm is not RS256");
	assert_int_equal(token_check_shape("eyJhbGciOiJIUzI1NiJ9.e30.eA", &why), -1);
	assert_int_equal(token_check_shape("eyJhbGciOiJSUzI1NiJ9.e30.eA", &why), 0);
	assert_int_equal(token_check_shape("a b.c.d", &why), -1);
	token_keys_free(&k);
	token_keys_free(&other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_lru_ttl),
		cmocka_unit_test(test_cache_invalidation),
		cmocka_unit_test(test_cache_off),
		cmocka_unit_test(test_cookies),
		cmocka_unit_test(test_tokens),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
