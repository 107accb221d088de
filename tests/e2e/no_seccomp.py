#!/usr/bin/env python3
"""no_seccomp.py MODE CMD [ARG...]: runs CMD where seccomp cannot be had.

MODE absent: as on a kernel built without seccomp, prctl(PR_GET_SECCOMP)
and prctl(PR_SET_SECCOMP) answer EINVAL and seccomp(2) ENOSYS.
MODE denied: as in a container whose policy forbids it, PR_GET_SECCOMP
works but installing a filter answers EPERM.

Itself a seccomp filter (libseccomp through ctypes; every other system
call is allowed), inherited by CMD across exec.
"""
import ctypes
import errno
import os
import sys

PR_GET_SECCOMP, PR_SET_SECCOMP = 21, 22
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_EQ = 4


def act_errno(e):
    return 0x00050000 | (e & 0xFFFF)


class ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("absent", "denied"):
        sys.exit("usage: no_seccomp.py absent|denied CMD [ARG...]")
    mode = sys.argv[1]
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(ArgCmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        sys.exit("no_seccomp.py: seccomp_init failed")
    prctl = lib.seccomp_syscall_resolve_name(b"prctl")
    seccomp = lib.seccomp_syscall_resolve_name(b"seccomp")

    def rule(action, nr, option=None):
        if option is None:
            rc = lib.seccomp_rule_add_array(ctx, action, nr, 0, None)
        else:
            cmp = ArgCmp(0, SCMP_CMP_EQ, option, 0)
            rc = lib.seccomp_rule_add_array(ctx, action, nr, 1, ctypes.byref(cmp))
        if rc < 0:
            sys.exit("no_seccomp.py: seccomp_rule_add: %s" % os.strerror(-rc))

    if mode == "absent":
        rule(act_errno(errno.EINVAL), prctl, PR_GET_SECCOMP)
        rule(act_errno(errno.EINVAL), prctl, PR_SET_SECCOMP)
        rule(act_errno(errno.ENOSYS), seccomp)
    else:
        rule(act_errno(errno.EPERM), prctl, PR_SET_SECCOMP)
        rule(act_errno(errno.EPERM), seccomp)
    rc = lib.seccomp_load(ctx)
    if rc < 0:
        sys.exit("no_seccomp.py: seccomp_load: %s" % os.strerror(-rc))
    os.execvp(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
