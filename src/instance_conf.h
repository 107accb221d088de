/* `sshtun @NAME [ARG...]': the instance described in an instance file,
 * $SSHTUN_CONF_DIR/NAME.conf (default /etc/sshtun/NAME.conf): the
 * destination and options, one per line, as on the command line (quotes as
 * in the shell's command lines, # comments).  What the systemd unit
 * sshtun@NAME.service runs. */
#ifndef SSHTUN_INSTANCE_CONF_H
#define SSHTUN_INSTANCE_CONF_H

#define INSTANCE_CONF_DIR "/etc/sshtun"
#define INSTANCE_CONF_MAX_ARGS 256

/* Reads the instance file of name (without the '@') into argv (cap slots,
 * strings kept in a static store): the option lines' words, then the
 * destination line's (*ndest of them).  Returns the count, or -1 with
 * fail(EXIT_USAGE) naming the file and the line. */
int instance_conf_read(const char *name, char **argv, int cap, int *ndest);

/* argv[0] is "@NAME": runs the client with -n NAME, the file's options, the
 * rest of the command line, and the file's destination. */
int instance_main(int argc, char **argv);

#endif
