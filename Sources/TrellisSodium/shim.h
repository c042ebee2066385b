#ifndef TRELLIS_SODIUM_SHIM_H
#define TRELLIS_SODIUM_SHIM_H
#include <sodium.h>
#endif
