// OpenBLAS's CBLAS interface, imported by GallopLearned only: Debian's
// libopenblas-dev (its pthread build), found through `pkg-config openblas`,
// whose include directory holds this cblas.h and its openblas_config.h.
// Swift imports everything GallopLearned calls as it is (cblas_sgemm with its
// CBLAS_ORDER and CBLAS_TRANSPOSE enums, the blasint typedef,
// openblas_set_num_threads, openblas_get_num_threads, openblas_get_corename),
// so there are no shim functions here; add one, prefixed gallop_ and saying
// why, only for what Swift cannot import (a function-like macro).
#ifndef GALLOP_COPENBLAS_SHIM_H
#define GALLOP_COPENBLAS_SHIM_H

#include <cblas.h>

#endif
