/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daq.h - the stream pattern of /dev/syslet-daq and small helpers shared
 * by the driver's tests and the recorder example.
 *
 * Stream byte 8w .. 8w+7 is the little-endian 64-bit word DAQ_MAGIC ^ w;
 * every open file's stream starts at offset 0.
 */
#ifndef SYSLET_DAQ_TEST_H
#define SYSLET_DAQ_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define DAQ_DEV		"/dev/syslet-daq"
#define DAQ_PARAMS	"/sys/module/syslet_daq/parameters/"
#define DAQ_MAGIC	0x5DA0000000000000ULL
/* the most one read, write or splice call moves (DAQ_MAX_BYTES) */
#define DAQ_MAX_IO	(1024 * 1024)

static inline uint8_t daq_byte(uint64_t pos)
{
	return (uint8_t)((DAQ_MAGIC ^ (pos >> 3)) >> (8 * (pos & 7)));
}

/* Returns how many leading bytes of p (stream bytes from pos) are right. */
static inline size_t daq_check(const void *buf, uint64_t pos, size_t len)
{
	const uint8_t *p = buf;
	size_t i = 0;

	while (i < len && ((pos + i) & 7)) {
		if (p[i] != daq_byte(pos + i))
			return i;
		i++;
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);	/* x86-64: little-endian */
		if (w != (DAQ_MAGIC ^ ((pos + i) >> 3)))
			break;
	}
	for (; i < len; i++)
		if (p[i] != daq_byte(pos + i))
			return i;
	return len;
}

/* Fills buf with the stream bytes from pos. */
static inline void daq_fill(void *buf, uint64_t pos, size_t len)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = daq_byte(pos + i);
}

/* Sets a module parameter; returns 0 or -1. */
static inline int daq_param(const char *name, unsigned int val)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), DAQ_PARAMS "%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ret = fprintf(f, "%u\n", val) < 0 ? -1 : 0;
	if (fclose(f))
		ret = -1;
	return ret;
}

#endif
