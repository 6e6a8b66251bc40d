// SPDX-License-Identifier: Apache-2.0
/*
 * json_lean.c - jansson parsing without managedFields and kubectl's
 * last-applied annotation (see json_lean.h).
 *
 * The scan walks the text once, keeping for each open container whether it
 * is an object and what it is (an object's metadata, metadata's
 * annotations, anything else), and records the byte spans of the values to
 * replace. It is not a validator: anything it does not expect makes it give
 * up, and the text goes to jansson as sent.
 */
#include "kube/json_lean.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define MAX_DEPTH 64
/* spans kept without an allocation: managedFields and the annotation are two */
#define INLINE_SPANS 4

enum scope { SCOPE_OTHER, SCOPE_META, SCOPE_ANNOTATIONS };

struct span {
	size_t start, end;	/* of the value in the text */
	const char *with;
};

struct scan {
	const char *text;
	struct span *spans;	/* inline_spans until more are needed */
	size_t n, alloc;
	struct span inline_spans[INLINE_SPANS];
};

/* p is at a '"': the byte after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end;) {
		const char *q = memchr(p, '"', (size_t)(end - p)), *b;

		if (!q)
			return NULL;
		/* escaped when an odd number of backslashes precede it (p follows a quote) */
		for (b = q; b > p && b[-1] == '\\'; b--)
			;
		if (!((q - b) & 1))
			return q + 1;
		p = q + 1;
	}
	return NULL;
}

/* p is at a '[' or '{': the byte after its matching close, or NULL. */
static const char *skip_container(const char *p, const char *end)
{
	int depth = 0;

	while (p < end) {
		switch (*p) {
		case '"':
			if (!(p = skip_string(p, end)))
				return NULL;
			continue;
		case '[': case '{':
			depth++;
			break;
		case ']': case '}':
			if (--depth == 0)
				return p + 1;
			break;
		}
		p++;
	}
	return NULL;
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static bool key_is(const char *k, size_t len, const char *want)
{
	return len == strlen(want) && !memcmp(k, want, len);
}

static void replace(struct scan *s, const char *from, const char *to, const char *with)
{
	if (s->n == s->alloc && s->spans == s->inline_spans) {
		/* more than the usual two: move them to the heap */
		struct span *heap = xmalloc(sizeof(*heap) * s->n * 2);

		memcpy(heap, s->spans, sizeof(*heap) * s->n);
		s->spans = heap;
		s->alloc = s->n * 2;
	}
	s->spans = xgrow(s->spans, s->n + 1, &s->alloc, sizeof(*s->spans));
	s->spans[s->n].start = (size_t)(from - s->text);
	s->spans[s->n].end = (size_t)(to - s->text);
	s->spans[s->n].with = with;
	s->n++;
}

/*
 * After an object's key (k, klen; p just past its closing quote): skip the
 * colon, and either replace the value (returning past it) or say in *next
 * what an object value is. NULL when the text is not as expected.
 */
static const char *member(struct scan *s, enum scope in, const char *k, size_t klen,
			  const char *p, const char *end, enum scope *next)
{
	const char *v;

	p = skip_space(p, end);
	if (p == end || *p != ':')
		return NULL;
	p = skip_space(p + 1, end);
	if (p == end)
		return NULL;
	v = p;
	if (in == SCOPE_META && *p == '[' && key_is(k, klen, "managedFields")) {
		if (!(p = skip_container(p, end)))
			return NULL;
		replace(s, v, p, "null");
	} else if (in == SCOPE_ANNOTATIONS && *p == '"' &&
		   key_is(k, klen, "kubectl.kubernetes.io/last-applied-configuration")) {
		if (!(p = skip_string(p, end)))
			return NULL;
		replace(s, v, p, "\"\"");
	} else if (*p == '{') {
		if (key_is(k, klen, "metadata"))
			*next = SCOPE_META;
		else if (in == SCOPE_META && key_is(k, klen, "annotations"))
			*next = SCOPE_ANNOTATIONS;
	}
	return p;
}

/* Record the spans to replace; false when the text is not what we expect. */
static bool scan(struct scan *s, size_t len)
{
	const char *p = s->text, *end = s->text + len;
	unsigned char scope[MAX_DEPTH];
	bool is_obj[MAX_DEPTH];
	enum scope next = SCOPE_OTHER;
	bool want_key = false;
	int top = -1;

	while (p < end) {
		const char *k;

		switch (*p) {
		case ' ': case '\t': case '\n': case '\r': case ':':
			p++;
			continue;
		case ',':
			want_key = top >= 0 && is_obj[top];
			p++;
			continue;
		case '{': case '[':
			if (++top == MAX_DEPTH)
				return false;
			is_obj[top] = *p == '{';
			scope[top] = (unsigned char)(is_obj[top] ? next : SCOPE_OTHER);
			next = SCOPE_OTHER;
			want_key = is_obj[top];
			p++;
			continue;
		case '}': case ']':
			if (top < 0 || is_obj[top] != (*p == '}'))
				return false;
			top--;
			want_key = false;
			p++;
			continue;
		case '"':
			k = p;
			if (!(p = skip_string(p, end)))
				return false;
			if (want_key) {
				want_key = false;
				if (!(p = member(s, scope[top], k + 1, (size_t)(p - k - 2), p, end,
						 &next)))
					return false;
			}
			continue;
		default:
			/* numbers, true, false, null */
			if (!strchr("-0123456789tfn", *p) || !*p)
				return false;
			while (p < end && *p && strchr("-+.0123456789eEtruefalsn", *p))
				p++;
			continue;
		}
	}
	return top == -1;
}

/*
 * The lean text, handed to jansson piece by piece (the text between the
 * spans and each span's replacement) so it is never copied whole: a copy
 * is a request as large as the event, which made glibc consolidate every
 * small chunk the previous event's tree had freed (issue #11).
 */
struct feed {
	const struct scan *s;
	size_t len;		/* of the text */
	size_t next;		/* span whose text before it, then replacement, comes next */
	size_t pos;		/* in the text, while handing out the text before span `next` */
	const char *with;	/* the rest of span next-1's replacement, while handing it out */
};

static size_t feed_read(void *out, size_t room, void *p)
{
	struct feed *f = p;
	size_t done = 0;

	while (done < room) {
		const char *from;
		size_t n;

		if (f->with && *f->with) {
			from = f->with;
			n = strlen(f->with);
		} else {
			size_t stop = f->next < f->s->n ? f->s->spans[f->next].start : f->len;

			if (f->pos == stop) {
				if (f->next == f->s->n)
					break;	/* all of it */
				f->with = f->s->spans[f->next].with;
				f->pos = f->s->spans[f->next].end;
				f->next++;
				continue;
			}
			from = f->s->text + f->pos;
			n = stop - f->pos;
		}
		if (n > room - done)
			n = room - done;
		memcpy((char *)out + done, from, n);
		done += n;
		if (f->with && *f->with)
			f->with += n;
		else
			f->pos += n;
	}
	return done;
}

json_t *kube_json_loadb_lean(const char *text, size_t len, size_t flags, json_error_t *err)
{
	struct scan s = { .text = text, .alloc = INLINE_SPANS };
	struct feed f = { &s, len, 0, 0, NULL };
	json_t *j;

	s.spans = s.inline_spans;
	if (!scan(&s, len) || !s.n) {
		if (s.spans != s.inline_spans)
			free(s.spans);
		return json_loadb(text, len, flags, err);
	}
	j = json_load_callback(feed_read, &f, flags, err);
	if (s.spans != s.inline_spans)
		free(s.spans);
	/* a failure is reported as it is for the text the server sent */
	return j ? j : json_loadb(text, len, flags, err);
}
