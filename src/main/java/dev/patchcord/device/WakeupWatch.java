package dev.patchcord.device;

import dev.patchcord.sys.Linux;
import dev.patchcord.sys.Poller;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;

import java.lang.foreign.Arena;

/**
 * Blocks a thread until the process's {@link Wakeup} fires. Loops that wait in the kernel on
 * something other than a file descriptor patchcord polls (a blocking {@code accept} or
 * {@code read} on a JDK socket channel) cannot see the wake-up themselves; a watcher thread sees it
 * for them and closes their channels, which ends those calls at once.
 */
final class WakeupWatch {
    private WakeupWatch() {}

    static void await(Wakeup wakeup) throws SysException {
        try (Arena arena = Arena.ofConfined()) {
            // The wake-up's own descriptor stands in for "a file descriptor": await returns false
            // as soon as it is readable, i.e. signalled.
            Poller poller = new Poller(wakeup.fd(), wakeup, arena);
            while (poller.await(Linux.POLLIN, -1)) {
                // Only a spurious return gets here; wait again.
            }
        }
    }
}
