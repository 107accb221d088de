#ifndef SSHTUN_SERVE_H
#define SSHTUN_SERVE_H

/* `sshtun serve [options]`; returns the exit status. */
int serve_main(int argc, char **argv);

#endif
