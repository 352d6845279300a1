/* regship — container registry client library. Umbrella header. */
#ifndef REGSHIP_H
#define REGSHIP_H

#include "regship/buf.h"
#include "regship/cancel.h"
#include "regship/checkbase.h"
#include "regship/client.h"
#include "regship/common.h"
#include "regship/copy.h"
#include "regship/copy_tags.h"
#include "regship/credentials.h"
#include "regship/digest.h"
#include "regship/errors.h"
#include "regship/global.h"
#include "regship/inspect.h"
#include "regship/json.h"
#include "regship/manifest.h"
#include "regship/prune.h"
#include "regship/reader.h"
#include "regship/ref.h"
#include "regship/referrers.h"
#include "regship/retag.h"
#include "regship/store.h"
#include "regship/sync.h"

#endif
