/* analysis/: what the events of decoded bundles mean, for `show`, diff, baselines, checks,
 * replay and the viewer alike: the event filter, the merged timeline and its rows, and the
 * behaviour keys (events with their volatile parts normalised away). Depends on formats/
 * only. */
#ifndef RUNTRAIL_ANALYSIS_ANALYSIS_H
#define RUNTRAIL_ANALYSIS_ANALYSIS_H

#include "analysis/filter.h"
#include "analysis/jsondiff.h"
#include "analysis/keys.h"
#include "analysis/timeline.h"

#endif
