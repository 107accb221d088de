/* See shell_drive in shell.h. */
#include "shell.h"

static void drv_write(void *ctx, int stream, const char *text, size_t len)
{
	struct shell_driver *d = ctx;

	d->out->write(d->ctx, stream, text, len);
}

static void drv_done(void *ctx, int status)
{
	struct shell_driver *d = ctx;

	d->finished = true;
	d->status = status;
	if (d->in_run)
		return;	/* shell_drive returns it */
	d->waiting = false;
	d->out->done(d->ctx, status);
}

static const struct shell_out_ops drv_ops = { drv_write, drv_done };

void shell_driver_init(struct shell_driver *d, struct engine *eng, const struct shell_out_ops *out,
		       void *ctx)
{
	*d = (struct shell_driver){ .eng = eng, .out = out, .ctx = ctx };
}

int shell_drive(struct shell_driver *d, const char *line)
{
	d->in_run = true;
	d->finished = false;
	shell_run(d->eng, line, &drv_ops, d);
	d->in_run = false;
	if (d->finished)
		return d->status;
	d->waiting = true;
	return SHELL_PENDING;
}
