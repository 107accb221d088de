#ifndef SSHTUN_CLEANUP_H
#define SSHTUN_CLEANUP_H

/* `sshtun cleanup [-n NAME | -S PATH]`: returns the exit status. */
int cleanup_main(int argc, char **argv);

#endif
