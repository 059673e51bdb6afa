package dev.patchcord.control;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.SysException;

/**
 * Gives up root once the interface and socket exist (tap2tap's {@code -u}/{@code -g}). The C
 * library applies setuid and setgid to every thread of the process, the JVM's included.
 */
public final class Privileges {
    private Privileges() {}

    public static void drop(int uid, int gid) throws SysException {
        SysException.check(Libc.clearGroups(), "cannot drop supplementary groups");
        SysException.check(Libc.setgid(gid), "cannot change group to " + gid);
        SysException.check(Libc.setuid(uid), "cannot change user to " + uid);
    }
}
