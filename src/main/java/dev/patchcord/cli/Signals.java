package dev.patchcord.cli;

import sun.misc.Signal;

/**
 * Process signals. A shutdown hook cannot change the exit status (SIGTERM would end the JVM with
 * 143), and patchcord must exit 0 after a clean stop, so the handlers are installed with
 * {@code sun.misc.Signal} from the {@code jdk.unsupported} module, the JDK's only API for it. This
 * class is the only user, so replacing it later touches one file.
 */
final class Signals {
    private Signals() {}

    /** Runs {@code action} on a JVM thread whenever the named signal ("TERM", "USR1", …) arrives. */
    static void on(String name, Runnable action) {
        Signal.handle(new Signal(name), s -> action.run());
    }

    /** Sends the named signal to this process, as {@code kill -NAME} from outside would. */
    static void raise(String name) {
        Signal.raise(new Signal(name));
    }
}
