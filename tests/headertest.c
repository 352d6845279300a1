/* Compiles the public headers alone, with -Werror -pedantic: they must stand on their own. */
#include <regship.h>

int regship_headertest(void);
int regship_headertest(void)
{
	return RS_OK;
}
