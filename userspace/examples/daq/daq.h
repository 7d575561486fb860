/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daq.h - the stream format of /dev/syslet-daq (drivers/misc/syslet-daq),
 * for programs that read it or write to it.  See docs/driver.md.
 *
 * Each open file is a stream of little-endian 64-bit words; word w (bytes
 * 8w .. 8w+7 of the stream) holds DAQ_MAGIC ^ w.  Reads are positioned
 * (the file position, pread's or splice's offset is the stream offset);
 * writes are a stream of their own that must carry the same pattern.
 */
#ifndef SYSLET_DAQ_H
#define SYSLET_DAQ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DAQ_DEV		"/dev/syslet-daq"
#define DAQ_PARAMS	"/sys/module/syslet_daq/parameters"
#define DAQ_MAGIC	0x5DA0000000000000ULL

static inline uint64_t daq_word(uint64_t w)
{
	return DAQ_MAGIC ^ w;
}

static inline uint8_t daq_byte(uint64_t pos)
{
	return (uint8_t)(daq_word(pos >> 3) >> (8 * (pos & 7)));
}

/* Returns how many leading bytes of @p (stream bytes from @pos) are right. */
static inline size_t daq_check(const void *p, uint64_t pos, size_t len)
{
	const uint8_t *b = p;
	size_t i = 0;
	uint64_t w;

	while (i < len && ((pos + i) & 7)) {
		if (b[i] != daq_byte(pos + i))
			return i;
		i++;
	}
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, b + i, 8);	/* x86-64: little endian */
		if (w != daq_word((pos + i) >> 3))
			break;
	}
	for (; i < len; i++)
		if (b[i] != daq_byte(pos + i))
			return i;
	return len;
}

/* Fills @p with the stream bytes [@pos, @pos + @len). */
static inline void daq_fill(void *p, uint64_t pos, size_t len)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = daq_byte(pos + i);
}

#endif /* SYSLET_DAQ_H */
