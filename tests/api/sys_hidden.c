/*
 * The backend-author API (regship/sys/) stays out of reach of a program that includes only
 * <regship.h>: CMake compiles this file (tests "api/sys_hidden_*"):
 *   -DPROBE_OPS     names rs_store_ops            : must FAIL to compile
 *   -DPROBE_READER  reads rs_reader.vouched_digest : must FAIL to compile
 *   -DWITH_SYS plus either probe                    : must compile (the control: the probes
 *                                                     themselves are valid code)
 */
#include <regship.h>
#ifdef WITH_SYS
#include <regship/sys/store.h>
#endif

int regship_sys_probe(rs_reader *r);
int regship_sys_probe(rs_reader *r)
{
#ifdef PROBE_OPS
	rs_store_ops ops = {0};
	ops.version = RS_STORE_OPS_VERSION;
	return (int)ops.version + (r != NULL);
#endif
#ifdef PROBE_READER
	return r->vouched_digest != NULL;
#endif
}
