#include "common.h"

#ifndef SSHTUN_VERSION
#define SSHTUN_VERSION "0.2.0"
#endif

const char sshtun_version[] = SSHTUN_VERSION;
