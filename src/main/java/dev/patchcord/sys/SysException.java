package dev.patchcord.sys;

import java.io.IOException;

/** A failed system call: what patchcord was doing, and the kernel's errno. */
public final class SysException extends IOException {
    private final int errno;

    public SysException(String what, int errno) {
        super(what + ": " + Libc.strerror(errno));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    /** Throws for a negative (-errno) result; returns the result otherwise. */
    public static long check(long result, String what) throws SysException {
        if (result < 0) {
            throw new SysException(what, (int) -result);
        }
        return result;
    }
}
