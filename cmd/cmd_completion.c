/* regship completion — shell completion scripts; regship __complete — their candidates. */
#include "cli.h"

int cmd_completion(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 0;
}
