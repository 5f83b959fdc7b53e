/*
 * testing.h - the unit-test harness: a few macros, no dependency.
 *
 * A test file defines test functions and a main() that runs them with
 * TEST_RUN(fn). CHECK(cond) records a failure with file and line and goes
 * on; the process exit status is 1 when anything failed. The last line
 * printed is "NAME: N passed, M failed", which test/run.py adds up.
 */
#ifndef POSTERN_TESTING_H
#define POSTERN_TESTING_H

#include <stdio.h>
#include <string.h>

static int testing_passed, testing_failed, testing_current_failed;

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", \
			    __FILE__, __LINE__, #cond); \
			testing_current_failed = 1; \
		} \
	} while (0)

#define CHECK_STR(got, want) \
	do { \
		const char *got_ = (got), *want_ = (want); \
		if (got_ == NULL || want_ == NULL ? got_ != want_ : \
		    strcmp(got_, want_) != 0) { \
			fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", \
			    __FILE__, __LINE__, got_ ? got_ : "(null)", \
			    want_ ? want_ : "(null)"); \
			testing_current_failed = 1; \
		} \
	} while (0)

#define TEST_RUN(fn) \
	do { \
		testing_current_failed = 0; \
		fn(); \
		if (testing_current_failed) { \
			testing_failed++; \
			fprintf(stderr, "FAIL %s\n", #fn); \
		} else { \
			testing_passed++; \
		} \
	} while (0)

#define TEST_DONE() \
	(printf("%s: %d passed, %d failed\n", __FILE__, testing_passed, \
	    testing_failed), testing_failed ? 1 : 0)

#endif
