/*
 * qmgr_resolve_test.c - tests for qmgr_resolve.c (config_set, inline:
 * tables; no files, no network).
 */
#include <stdlib.h>

#include "config.h"
#include "qmgr_resolve.h"
#include "testing.h"

struct resolve_case {
	const char *address;
	int want;			/* 0 or -1 */
	enum qmgr_route_class route_class;
	const char *transport;
	const char *nexthop;
};

static void
run_cases(const struct resolve_case *cases, size_t count)
{
	char *error = NULL;
	struct qmgr_resolver *r = qmgr_resolve_open(&error);

	CHECK(r != NULL);
	if (r == NULL) {
		fprintf(stderr, "open: %s\n", error ? error : "?");
		free(error);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		struct qmgr_route route;
		const char *reason = NULL;
		int got = qmgr_resolve(r, cases[i].address, &route, &reason);

		if (got != cases[i].want)
			fprintf(stderr, "case %s: got %d\n", cases[i].address,
			    got);
		CHECK(got == cases[i].want);
		if (got < 0) {
			CHECK(reason != NULL && reason[0] == '4');
			continue;
		}
		if (route.route_class != cases[i].route_class)
			fprintf(stderr, "case %s: class %d\n",
			    cases[i].address, (int)route.route_class);
		CHECK(route.route_class == cases[i].route_class);
		CHECK_STR(route.transport, cases[i].transport);
		CHECK_STR(route.nexthop, cases[i].nexthop);
		qmgr_route_release(&route);
	}
	qmgr_resolve_close(&r);
	CHECK(r == NULL);
}

static void
base_config(void)
{
	config_set("myhostname", "mail.example.com");
	config_set("mydomain", "example.com");
	config_set("mydestination",
	    "$myhostname, localhost.$mydomain, localhost, Example.COM");
	config_set("virtual_mailbox_domains", "virt.example .sub.virt2.example"
	    ", inline:{ mapvirt.example=1 }");
	config_set("relay_domains", "relay.example");
	config_set("relayhost", "");
	config_set("local_transport", "local");
	config_set("virtual_transport", "virtual");
	config_set("relay_transport", "relay");
	config_set("default_transport", "smtp");
	config_set("transport_maps", "");
}

static void
test_resolve(void)
{
	static const struct resolve_case cases[] = {
		{ "root", 0, QMGR_ROUTE_LOCAL, "local", "mail.example.com" },
		{ "bob@EXAMPLE.com", 0, QMGR_ROUTE_LOCAL, "local",
		    "example.com" },
		{ "bob@mail.example.com.", 0, QMGR_ROUTE_LOCAL, "local",
		    "mail.example.com" },
		{ "bob@localhost", 0, QMGR_ROUTE_LOCAL, "local",
		    "localhost" },
		{ "bob@localhost.example.com", 0, QMGR_ROUTE_LOCAL, "local",
		    "localhost.example.com" },
		{ "a@sub.example.com", 0, QMGR_ROUTE_DEFAULT, "smtp",
		    "sub.example.com" },	/* no parent match */
		{ "a@virt.example", 0, QMGR_ROUTE_VIRTUAL, "virtual",
		    "virt.example" },
		{ "a@x.virt.example", 0, QMGR_ROUTE_DEFAULT, "smtp",
		    "x.virt.example" },
		{ "a@x.sub.virt2.example", 0, QMGR_ROUTE_VIRTUAL, "virtual",
		    "x.sub.virt2.example" },
		{ "a@sub.virt2.example", 0, QMGR_ROUTE_DEFAULT, "smtp",
		    "sub.virt2.example" },
		{ "a@MapVirt.Example", 0, QMGR_ROUTE_VIRTUAL, "virtual",
		    "mapvirt.example" },
		{ "a@relay.example", 0, QMGR_ROUTE_RELAY, "relay",
		    "relay.example" },
		{ "a@x.relay.example", 0, QMGR_ROUTE_RELAY, "relay",
		    "x.relay.example" },	/* relay_domains: parents */
		{ "a@xrelay.example", 0, QMGR_ROUTE_DEFAULT, "smtp",
		    "xrelay.example" },
		{ "a@gmail.com", 0, QMGR_ROUTE_DEFAULT, "smtp", "gmail.com" },
		{ "\"a@b\"@gmail.com", 0, QMGR_ROUTE_DEFAULT, "smtp",
		    "gmail.com" },
	};

	base_config();
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_transport_maps(void)
{
	static const struct resolve_case cases[] = {
		{ "a@special.example", 0, QMGR_ROUTE_DEFAULT, "lmtp",
		    "unix:/run/dovecot/lmtp" },
		/* an empty nexthop in the table keeps the class's one */
		{ "user@override.example", 0, QMGR_ROUTE_DEFAULT, "local",
		    "[smart.example]:587" },
		{ "other@override.example", 0, QMGR_ROUTE_DEFAULT, "smtp",
		    "[smart.example]:587" },
		{ "a@nexthop.example", 0, QMGR_ROUTE_DEFAULT, "smtp",
		    "[mx.example]:25" },
		{ "a@x.parent.example", 0, QMGR_ROUTE_DEFAULT, "relay",
		    "[smart.example]:587" },
		{ "a@mapvirt.example", 0, QMGR_ROUTE_VIRTUAL, "virtual",
		    "mapvirt.example" },
		{ "a@parent.example", 0, QMGR_ROUTE_DEFAULT, "smtp",
		    "[smart.example]:587" },
		{ "bob@example.com", 0, QMGR_ROUTE_LOCAL, "local",
		    "example.com" },	/* relayhost is not for local */
		{ "a@relay.example", 0, QMGR_ROUTE_RELAY, "relay",
		    "[smart.example]:587" },
	};

	base_config();
	config_set("relayhost", "[smart.example]:587");
	config_set("transport_maps", "inline:{ "
	    "special.example=lmtp:unix:/run/dovecot/lmtp, "
	    "user@override.example=local, "
	    "nexthop.example=:[mx.example]:25, "
	    ".parent.example=relay }");
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_bad_transport(void)
{
	static const struct resolve_case cases[] = {
		{ "bob@example.com", -1, QMGR_ROUTE_LOCAL, NULL, NULL },
		{ "a@gmail.com", -1, QMGR_ROUTE_DEFAULT, NULL, NULL },
		{ "a@virt.example", 0, QMGR_ROUTE_VIRTUAL, "lmtp",
		    "unix:private/dovecot-lmtp" },
	};

	base_config();
	config_set("local_transport", "../local");
	config_set("default_transport", ":nexthop");
	config_set("virtual_transport", "lmtp:unix:private/dovecot-lmtp");
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_transport_valid(void)
{
	static const struct {
		const char *name;
		bool want;
	} cases[] = {
		{ "", false },
		{ ".hidden", false },
		{ "a/b", false },
		{ "a b", false },
		{ "local", true },
		{ "smtp-relay_2.x", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(qmgr_resolve_transport_valid(cases[i].name) ==
		    cases[i].want);
}

int
main(void)
{
	TEST_RUN(test_transport_valid);
	TEST_RUN(test_bad_transport);
	TEST_RUN(test_resolve);
	TEST_RUN(test_transport_maps);
	return TEST_DONE();
}
