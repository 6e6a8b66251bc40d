// SPDX-License-Identifier: Apache-2.0
/*
 * mem.c - giving back the library pages start-up touched, and the deep
 * pages of idle workers' stacks (see mem.h).
 *
 * mem_drop_file_pages: a daemon linked against gRPC, OpenSSL, libcurl and
 * their 80 dependencies starts with ~19 MiB of library pages resident
 * (bench/results/memory-n1000.txt), most of them code and constants that ran
 * once (constructors, the loader, gRPC's and TLS's set-up) or that the
 * kernel mapped around a fault. The segments of a loaded object that are not
 * writable (PT_LOAD without PF_W: code, constants, symbol tables) are never
 * written, not even by the loader: a MADV_DONTNEED unmaps their pages, the
 * page cache keeps them, and the next touch maps them again. The writable
 * segments, RELRO included (it lies in the first writable segment and holds
 * the relocated pointers), are left alone. dl_iterate_phdr lists the objects
 * under the loader's lock, so none is unloaded while we advise; an object
 * being loaded is listed once mapped, and its read-only segments hold the
 * file's bytes from the start.
 *
 * mem_trim_heap: malloc_trim, but never under AddressSanitizer (see mem.h).
 *
 * mem_limit_arenas: glibc gives threads that contend for malloc arenas of
 * their own, up to 8 per core; each keeps the pages it once used. Since the
 * workers run their requests' TLS themselves (src/kube/direct.c), that was
 * 2.4-4 MiB more at the peak of an N=1000 run; with two arenas 0.8 MiB more
 * than before, and the CPU no higher (bench/results/request-direct.txt).
 *
 * mem_drop_stack: 200 workers (--worker-threads=100, claims and volumes)
 * each touched 15-19 KiB of their 512 KiB stacks by the end of a run (a
 * gRPC call runs its poller on the caller's stack): 3.7 MiB that stayed
 * resident while the workers waited. Below the caller's frame the stack
 * holds nothing live (the callee madvise's frames and the ABI's 128-byte
 * red zone lie within `keep`), so those pages may be unmapped; private
 * anonymous pages come back zeroed on the next touch.
 */
#include "base/mem.h"

#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

/* resident file-backed (and shared) pages of this process in KiB, from statm; -1 unreadable */
static long file_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	long size, resident, shared = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld %ld", &size, &resident, &shared) != 3)
		shared = -1;
	fclose(f);
	return shared < 0 ? -1 : shared * (sysconf(_SC_PAGESIZE) / 1024);
}

/* whether the loader writes into the object's code (DT_TEXTREL): then its code is not clean */
static int has_textrel(const struct dl_phdr_info *info)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_DYNAMIC)
			continue;
		for (const ElfW(Dyn) *d = (const void *)(info->dlpi_addr + ph->p_vaddr);
		     d->d_tag != DT_NULL; d++)
			if (d->d_tag == DT_TEXTREL ||
			    (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL)))
				return 1;
	}
	return 0;
}

/* whether [start, end) shares a page with a writable segment of the object */
static int near_writable(const struct dl_phdr_info *info, uintptr_t start, uintptr_t end,
			 uintptr_t page)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t ws, we;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
			continue;
		ws = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
		we = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) & ~(page - 1);
		if (ws < end && start < we)
			return 1;
	}
	return 0;
}

static int drop_object(struct dl_phdr_info *info, size_t size, void *ctx)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);

	if (has_textrel(info))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start, end;

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || !ph->p_memsz)
			continue;
		/*
		 * A tail beyond the file's bytes was zeroed by the loader in a
		 * private page: the file would bring the bytes back, not zeros.
		 */
		if (ph->p_memsz != ph->p_filesz)
			continue;
		start = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
		end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) & ~(page - 1);
		if (vdso && vdso >= start && vdso < end)
			return 0;	/* the kernel's vDSO: not a file mapping */
		/* an odd layout where a written page is shared: leave the segment alone */
		if (near_writable(info, start, end, page))
			continue;
		madvise((void *)start, end - start, MADV_DONTNEED);
	}
	return 0;
}

long mem_drop_file_pages(void)
{
	long before = file_kib(), after;

	dl_iterate_phdr(drop_object, NULL);
	after = file_kib();
	if (before < 0 || after < 0)
		return -1;
	return before > after ? before - after : 0;
}

#if defined(__SANITIZE_ADDRESS__)
#define MEM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_SANITIZED 1
#endif
#endif

void mem_trim_heap(void)
{
#ifndef MEM_SANITIZED
	malloc_trim(0);
#endif
}

void mem_limit_arenas(int n)
{
#ifndef MEM_SANITIZED
	const char *t = getenv("GLIBC_TUNABLES");

	if (!getenv("MALLOC_ARENA_MAX") && !(t && strstr(t, "glibc.malloc.arena_max")))
		mallopt(M_ARENA_MAX, n);
#else
	(void)n;
#endif
}

uintptr_t mem_stack_low(void)
{
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size = 0;

	if (pthread_getattr_np(pthread_self(), &attr))
		return 0;
	if (pthread_attr_getstack(&attr, &addr, &size))
		addr = NULL;
	pthread_attr_destroy(&attr);
	return (uintptr_t)addr;
}

__attribute__((noinline)) size_t mem_drop_stack(uintptr_t low, size_t keep)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uintptr_t end;

	if (!low || here < low + keep + page)
		return 0;
	end = (here - keep) & ~(page - 1);
	low = (low + page - 1) & ~(page - 1);
	if (end <= low || madvise((void *)low, end - low, MADV_DONTNEED))
		return 0;
	return end - low;
}
