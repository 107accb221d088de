#ifndef SSHTUN_CLIENT_H
#define SSHTUN_CLIENT_H

/* `sshtun [options] host`: returns the exit status (sshtun(1)), with the
 * failure recorded by fail() for main to print. */
int client_main(int argc, char **argv);

#endif
