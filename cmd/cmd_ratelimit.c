/* regship ratelimit — a registry's RateLimit-Limit / RateLimit-Remaining headers. */
#include "cli.h"

int cmd_ratelimit(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 0;
}
