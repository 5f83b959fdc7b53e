/*
 * dns_test.c - tests for lib/dns.c that need no network: a resolver is
 * required, a malformed name is refused before any query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "testing.h"

static void
test_without_resolver(void)
{
	struct dns_mx *mx = NULL;
	struct dns_addr *addr = NULL;
	size_t count = 99;
	char *error = NULL;

	/* Never "no records" when nothing could be asked. */
	CHECK(dns_lookup_mx("example.com", &mx, &count, &error) == DNS_TEMP);
	CHECK(mx == NULL && count == 0);
	CHECK(error != NULL && strstr(error, "type=MX") != NULL);
	free(error);
	CHECK(dns_lookup_addr("example.com", AF_UNSPEC, &addr, &count,
	    &error) == DNS_TEMP);
	CHECK(addr == NULL && count == 0);
	free(error);
}

static void
test_init(void)
{
	char path[] = "/tmp/dns_test.XXXXXX";
	char *error = NULL;
	FILE *f;
	int fd;

	CHECK(dns_init("/nonexistent/resolv.conf", &error) == -1);
	CHECK(error != NULL);
	free(error);
	error = NULL;

	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		CHECK(0);
		return;
	}
	fputs("nameserver 192.0.2.53\n", f);
	fclose(f);
	CHECK(dns_init(path, &error) == 0);
	CHECK(error == NULL);
	{
		struct dns_mx *mx = NULL;
		size_t count = 0;

		/* Malformed names fail before the (unreachable) server is
		 * asked. */
		CHECK(dns_lookup_mx("", &mx, &count, &error) == DNS_NOTFOUND);
		free(error);
		CHECK(dns_lookup_mx("a b", &mx, &count, &error) ==
		    DNS_NOTFOUND);
		free(error);
	}
	dns_done();
	unlink(path);
}

static void
test_result_text(void)
{
	CHECK_STR(dns_result_text(DNS_NOTFOUND), "Host not found");
	CHECK_STR(dns_result_text(DNS_TEMP), "Host not found, try again");
}

int
main(void)
{
	TEST_RUN(test_without_resolver);
	TEST_RUN(test_init);
	TEST_RUN(test_result_text);
	return TEST_DONE();
}
