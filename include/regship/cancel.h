#ifndef INCLUDE_regship_cancel_h__
#define INCLUDE_regship_cancel_h__
/*
 * Cancellation shared by every transfer of the process. rs_cancel() may be called from a signal
 * handler (it only stores signo in a lock-free atomic): the copy engine, the store readers and
 * writers and the HTTP layer then stop at their next check (an HTTP transfer within about a
 * second, even one that is waiting on a silent server), remove their temporary files and
 * return RS_EUSER with the message "interrupted". signo is what rs_cancelled() reports (any
 * non-zero value; use the signal number when a signal caused it).
 */
#include "common.h"

RS_BEGIN_DECL

RS_EXTERN(void) rs_cancel(int signo);
/* 0, or the value given to rs_cancel() since the last rs_cancel_reset(). */
RS_EXTERN(int) rs_cancelled(void);
RS_EXTERN(void) rs_cancel_reset(void);

RS_END_DECL

#endif
