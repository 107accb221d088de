/* The client's timers while it runs: rates once a second, the keepalive
 * that notices a dead server, and the pings --compress auto measures the
 * channel's queue by (pressure.h). */
#ifndef SSHTUN_KEEPALIVE_H
#define SSHTUN_KEEPALIVE_H

struct engine;

void keepalive_start(struct engine *eng);

#endif
