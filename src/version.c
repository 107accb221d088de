#include "common.h"

#ifndef SSHTUN_VERSION
#define SSHTUN_VERSION "0.1.0"
#endif

const char sshtun_version[] = SSHTUN_VERSION;
