/*
 * queue_fuzz.c - libFuzzer target for queue_open(): the input is written
 * to a temporary file and opened. Whatever opens must read back exactly
 * the size its end record names.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"
#include "queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
count_bytes(void *ctx, const char *data, size_t len)
{
	*(size_t *)ctx += len;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct queue_file *q;
	size_t total = 0;
	int fd;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/queue_fuzz.%ld",
		    (long)getpid());
	/* No fsync: the file only needs to be readable, and fast. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || io_write_all(fd, data, size) < 0 || close(fd) < 0)
		abort();
	q = queue_open(path, false);
	if (q != NULL) {
		if (queue_read_content(q, count_bytes, &total) < 0 ||
		    total != q->size)
			abort();
		for (size_t i = 0; i < q->rcpt_count; i++)
			if (q->rcpts[i].address == NULL)
				abort();
		queue_close(&q);
	}
	unlink(path);
	return 0;
}
