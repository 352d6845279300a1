/* Process-wide cancellation (regship/cancel.h): a flag a signal handler may set. */
#include "regship/cancel.h"
#include "regship/errors.h"
#include "util/util.h"

#include <stdatomic.h>

/* Lock-free (checked at build time below), so rs_cancel may run in a signal handler. */
static atomic_int cancel_signo;
#if ATOMIC_INT_LOCK_FREE != 2
#error "rs_cancel needs a lock-free atomic int (it is called from signal handlers)"
#endif

void rs_cancel(int signo)
{
	atomic_store(&cancel_signo, signo ? signo : -1);
}

int rs_cancelled(void)
{
	return atomic_load(&cancel_signo);
}

void rs_cancel_reset(void)
{
	atomic_store(&cancel_signo, 0);
}

int rs__cancel_check(void)
{
	if (!atomic_load(&cancel_signo))
		return 0;
	return rs__error_set(RS_EUSER, "interrupted");
}
