/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's intrusive doubly-linked lists (LRU cache entries, TCP connections, control
 * clients): an element carries `prev` and `next`, its owner a head and a tail pointer. Macros,
 * since the element types differ; each argument is a plain lvalue, evaluated more than once.
 */
#ifndef DNSNAME_DLIST_H
#define DNSNAME_DLIST_H

/* Take e out of the list head..tail; its links end NULL. */
#define DL_UNLINK(head, tail, e)                                                                   \
	do {                                                                                       \
		if ((e)->prev)                                                                     \
			(e)->prev->next = (e)->next;                                               \
		else                                                                               \
			(head) = (e)->next;                                                        \
		if ((e)->next)                                                                     \
			(e)->next->prev = (e)->prev;                                               \
		else                                                                               \
			(tail) = (e)->prev;                                                        \
		(e)->prev = (e)->next = NULL;                                                      \
	} while (0)

/* Put e (in no list) at the end @end of the list, @other its other end, @in e's link toward it. */
#define DL__PUSH(end, other, e, in, out)                                                           \
	do {                                                                                       \
		(e)->in = (end);                                                                   \
		(e)->out = NULL;                                                                   \
		if (end)                                                                           \
			(end)->out = (e);                                                          \
		else                                                                               \
			(other) = (e);                                                             \
		(end) = (e);                                                                       \
	} while (0)

/* Put e (in no list) after tail. */
#define DL_APPEND(head, tail, e) DL__PUSH(tail, head, e, prev, next)
/* Put e (in no list) before head. */
#define DL_PREPEND(head, tail, e) DL__PUSH(head, tail, e, next, prev)

#endif
