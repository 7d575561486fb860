// SPDX-License-Identifier: MIT
/*
 * threadlet: run blocking library calls asynchronously.
 *
 *	threadlet [HOST...]
 *
 * getaddrinfo() has no asynchronous form in the C library that every
 * program can use (getaddrinfo_a is glibc-only and signal based).  A
 * threadlet wraps it as it is: syslet_threadlet() runs resolve(name) on a
 * library thread and posts its return value to the same completion ring as
 * the system-call chains, so one reaping loop handles both.
 *
 * The second half shows the concurrency: four threadlets that each block
 * for 200 ms in usleep() finish in about 200 ms, not 800.
 * Exits 1 if a lookup failed.
 *
 * Inside a threadlet: it runs on a thread the library owns, with signals
 * blocked; block as long as you like, call thread-safe functions (and
 * syslet_submit()); never pthread_exit() or longjmp out of it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <syslet.h>

struct lookup {
	const char *name;
	char addr[INET6_ADDRSTRLEN];
};

/* The blocking call, wrapped: returns 0 or a negative EAI_* code. */
static long resolve(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int ret = getaddrinfo(l->name, NULL, &hints, &res);

	if (ret)
		return ret < 0 ? ret : -ret;
	if (res->ai_family == AF_INET)
		inet_ntop(AF_INET,
			  &((struct sockaddr_in *)res->ai_addr)->sin_addr,
			  l->addr, sizeof(l->addr));
	else
		inet_ntop(AF_INET6,
			  &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr,
			  l->addr, sizeof(l->addr));
	freeaddrinfo(res);
	return 0;
}

/* how many naps are asleep at once, and the most there were */
static atomic_int asleep, most_asleep;

static long nap(void *arg)
{
	int n = atomic_fetch_add(&asleep, 1) + 1, m = atomic_load(&most_asleep);

	while (n > m && !atomic_compare_exchange_weak(&most_asleep, &m, n))
		;
	usleep((useconds_t)(uintptr_t)arg);
	atomic_fetch_sub(&asleep, 1);
	return (long)(uintptr_t)arg;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char *deflt[] = { "localhost", "127.0.0.1" };
	const char **names = argc > 1 ? (const char **)argv + 1 : deflt;
	int i, n = argc > 1 ? argc - 1 : 2, ret, failed = 0;
	struct syslet_completion c;
	struct lookup look[64];
	struct syslet_ctx ctx;
	double t0;

	if (n > 64)
		n = 64;
	ret = syslet_ctx_init(&ctx, 64, 0);
	if (ret < 0) {
		fprintf(stderr, "syslet_ctx_init: %s\n", strerror(-ret));
		return 1;
	}

	for (i = 0; i < n; i++) {
		look[i].name = names[i];
		look[i].addr[0] = '\0';
		ret = syslet_threadlet(&ctx, resolve, &look[i], (uint64_t)i);
		if (ret < 0) {
			fprintf(stderr, "syslet_threadlet: %s\n",
				strerror(-ret));
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		ret = syslet_wait_completion(&ctx, &c);
		if (ret < 0) {
			fprintf(stderr, "syslet_wait_completion: %s\n",
				strerror(-ret));
			return 1;
		}
		failed += c.status != 0;
		if (c.status)
			printf("%-20s %s\n", look[c.user_data].name,
			       gai_strerror((int)c.status));
		else
			printf("%-20s %s\n", look[c.user_data].name,
			       look[c.user_data].addr);
	}

	t0 = now();
	for (i = 0; i < 4; i++)
		syslet_threadlet(&ctx, nap, (void *)(uintptr_t)200000, 100 + i);
	for (i = 0; i < 4; i++)
		if (syslet_wait_completion(&ctx, &c) < 0 || c.status != 200000)
			return 1;
	printf("4 threadlets of usleep(200 ms) took %.0f ms, at most %d asleep "
	       "at once (%s backend)\n", (now() - t0) * 1e3,
	       atomic_load(&most_asleep), syslet_backend_name(&ctx));
	syslet_ctx_exit(&ctx);
	return failed ? 1 : 0;
}
