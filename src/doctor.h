/* `sshtun doctor [options] [user@]host[:port]': checks the server's set-up
 * without bringing a tunnel up, one line per check with what to change. */
#ifndef SSHTUN_DOCTOR_H
#define SSHTUN_DOCTOR_H

int doctor_main(int argc, char **argv);

#endif
