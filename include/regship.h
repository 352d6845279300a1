/* regship — container registry client library. Umbrella header. */
#ifndef REGSHIP_H
#define REGSHIP_H

#include "regship/common.h"
#include "regship/errors.h"
#include "regship/buf.h"

#endif
